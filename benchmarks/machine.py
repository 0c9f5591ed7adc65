"""Facts about the machine and the versions a benchmark run measured."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

__all__ = ["machine_facts"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _command_output(command: list[str]) -> str:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> list[tuple[str, str]]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    repository = Path(__file__).resolve().parent.parent
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        ("CPU", _cpu_model()),
        ("cores", str(os.cpu_count())),
        ("load average at start (1/5/15 min)", " ".join(f"{value:.2f}" for value in load)),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Node", _command_output(["node", "--version"])),
        ("aws-cdk-lib", _version("aws-cdk-lib")),
        ("constructs", _version("constructs")),
        ("jsii", _version("jsii")),
        ("ecs-exec-roles commit", _commit(repository)),
    ]


def _commit(repository: Path) -> str:
    def git(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(repository), *arguments], capture_output=True, text=True
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
        status = git("status", "--porcelain", "--", "src")
    except OSError:
        return "unknown (git not found)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    if status.stdout.strip():
        return f"{head.stdout.strip()}, with uncommitted changes in src/ (measured as they are)"
    return head.stdout.strip()
