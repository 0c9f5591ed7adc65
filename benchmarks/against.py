"""The library at this checkout against itself at an earlier commit: is a change slower?

The synth-time benchmarks compare the library with aws-cdk-lib's own roles; this compares two
versions of the library, both sides the same app of one scenario. The earlier commit's
``src/``, ``benchmarks/`` and ``testkit/`` are exported with ``git archive`` into a temporary
directory and compiled to bytecode, as this checkout's are; then fresh synth processes of the
two sides alternate (which side goes first alternates too), each importing its own tree, and
the CPU time of each process and its Node child is read as in the synth-time benchmarks.

Printed: each side's median CPU seconds, the median of the pairs' ratios (this checkout over
the earlier commit) and their quartiles.

Usage: PATH=.venv/bin:$PATH python -m benchmarks.against REV SCENARIO FAMILIES [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import io
import statistics
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.apps import SCENARIOS, SERVICE_SCENARIOS
from benchmarks.synth_time import compile_sources, run_module

_ROOT = Path(__file__).resolve().parent.parent
_TREES = ("src", "benchmarks", "testkit")


def export_commit(revision: str, directory: Path) -> None:
    """Write the library, benchmarks and test kit of ``revision`` into ``directory``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, *_TREES],
        cwd=_ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision}: {archive.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(directory, filter="data")
    for tree in _TREES:
        compileall.compile_dir(directory / tree, quiet=1)


def _synth_cpu_seconds(scenario: str, families: int, root: Path | None) -> float:
    return run_module("benchmarks.synth_once", scenario, str(families), root=root).cpu_seconds


def compare(
    earlier: Path,
    scenario: str,
    families: int,
    runs: int,
    *,
    timer: Callable[[str, int, Path | None], float] = _synth_cpu_seconds,
) -> tuple[list[float], list[float]]:
    """CPU seconds of ``runs`` alternated synth processes per side: (this checkout, earlier).
    ``timer`` times one process of a tree (``None``: this checkout)."""
    ours: list[float] = []
    theirs: list[float] = []
    sides: tuple[tuple[list[float], Path | None], ...] = ((ours, None), (theirs, earlier))
    for index in range(runs):
        for samples, root in sides if index % 2 == 0 else sides[::-1]:
            samples.append(timer(scenario, families, root))
    return ours, theirs


def report(
    revision: str, scenario: str, families: int, ours: list[float], theirs: list[float]
) -> str:
    ratios = [mine / other for mine, other in zip(ours, theirs, strict=True)]
    first, _, third = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios * 3)
    return (
        f"{scenario}, {families} families, {len(ratios)} pairs: "
        f"this checkout {statistics.median(ours):.2f} s CPU, {revision} "
        f"{statistics.median(theirs):.2f} s CPU; ratio {statistics.median(ratios):.3f} "
        f"(pairs {first:.3f}-{third:.3f})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.against", description=__doc__)
    parser.add_argument("revision", help="the earlier commit (any git revision)")
    parser.add_argument("scenario", choices=SCENARIOS + SERVICE_SCENARIOS)
    parser.add_argument("families", type=int)
    parser.add_argument("--runs", type=int, default=9, help="processes per side (default 9)")
    options = parser.parse_args(argv)
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="bench-against-") as directory:
        earlier = Path(directory)
        export_commit(options.revision, earlier)
        ours, theirs = compare(earlier, options.scenario, options.families, options.runs)
    print(report(options.revision, options.scenario, options.families, ours, theirs))


if __name__ == "__main__":
    main()
