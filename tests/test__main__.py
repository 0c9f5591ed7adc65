"""``python -m ecs_exec_roles``: the command, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_python_m_runs_the_audit(tmp_path: Path) -> None:
    template = tmp_path / "empty.json"
    template.write_text(json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}))
    done = subprocess.run(
        [sys.executable, "-m", "ecs_exec_roles", "audit", str(template), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["roles"] == 0


def test_python_m_without_a_command_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ecs_exec_roles"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "the following arguments are required: COMMAND" in done.stderr
