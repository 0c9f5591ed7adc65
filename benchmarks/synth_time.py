"""Benchmarks 2 and 3: wall time of a whole synth process, ours against aws-cdk-lib's.

Each run is a fresh ``python -m benchmarks.synth_once`` process (interpreter start, imports,
the jsii Node process, building the app, ``app.synth()``), as a user's ``cdk synth`` would pay
it. Runs of the two sides alternate, and which side goes first alternates too, so drift in the
machine's speed falls on both; the figure is the median.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcessRun",
    "SynthTimeResult",
    "compile_sources",
    "measure_synth_time",
    "run_module",
    "time_synth_process",
]

# The repository root: the synth processes import the ``benchmarks`` package from there.
_ROOT = Path(__file__).resolve().parent.parent


def compile_sources() -> None:
    """Compile the library and the benchmark apps to bytecode, once, before timing.

    An installed package is imported from the bytecode pip compiled at installation, as
    aws-cdk-lib is; a checkout (``pip install -e .``) gets it on first import, unless
    ``PYTHONDONTWRITEBYTECODE`` is set, when every timed process would compile the sources
    again. Written into each package's ``__pycache__``, which git ignores.
    """
    import ecs_exec_roles

    for package in (Path(ecs_exec_roles.__file__).parent, _ROOT / "benchmarks", _ROOT / "testkit"):
        compileall.compile_dir(package, quiet=1)


def _python() -> str:
    # Absolute, as a process may run in another directory (``sys.executable`` is relative
    # when the interpreter was found through a relative entry of PATH).
    return os.path.abspath(sys.executable)


def _environment() -> dict[str, str]:
    # The interpreter's own bin/ first: jsii then runs on the virtualenv's Node.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(_python()).parent), env.get("PATH", "")])
    return env


@dataclass(frozen=True)
class ProcessRun:
    """One fresh benchmark process: its wall and CPU seconds (the process and its Node
    child), and what it printed."""

    wall_seconds: float
    cpu_seconds: float
    stdout: str


def run_module(module: str, *arguments: str, root: Path | None = None) -> ProcessRun:
    """Run ``python -m module arguments`` from the repository root (or from ``root``, another
    tree of the repository, whose library and benchmarks it then imports), on the
    interpreter's own Node; raise ``RuntimeError`` with the end of its stderr if it fails."""
    command = [_python(), "-m", module, *arguments]
    env = _environment()
    if root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        began = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=root or _ROOT, env=env, stdout=stdout, stderr=stderr
        )
        # wait4 reports the CPU time of the process and of the children it waited for.
        _, status, usage = os.wait4(process.pid, 0)
        wall_seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"python {' '.join(command[1:])} failed:\n{message}")
        stdout.seek(0)
        printed = stdout.read().decode(errors="replace")
    return ProcessRun(wall_seconds, usage.ru_utime + usage.ru_stime, printed)


def time_synth_process(
    scenario: str,
    families: int,
    *,
    max_managed_policies: int | None = None,
    minimize_policies: bool = False,
) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its Node child) of one synth process."""
    arguments = [scenario, str(families)]
    if max_managed_policies is not None:
        arguments.append(str(max_managed_policies))
    if minimize_policies:
        arguments.append("--minimize-policies")
    run = run_module("benchmarks.synth_once", *arguments)
    return run.wall_seconds, run.cpu_seconds


@dataclass(frozen=True)
class SynthTimeResult:
    families: int
    ours_scenario: str
    cdk_scenario: str
    ours_seconds: tuple[float, ...]
    cdk_seconds: tuple[float, ...]
    ours_cpu_seconds: tuple[float, ...]
    cdk_cpu_seconds: tuple[float, ...]
    max_managed_policies: int | None = None
    minimize_policies: bool = False

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours_seconds)

    @property
    def cdk_median(self) -> float:
        return statistics.median(self.cdk_seconds)

    @property
    def ratio(self) -> float:
        return self.ours_median / self.cdk_median

    @property
    def ours_cpu_median(self) -> float:
        return statistics.median(self.ours_cpu_seconds)

    @property
    def cdk_cpu_median(self) -> float:
        return statistics.median(self.cdk_cpu_seconds)

    @property
    def cpu_ratio(self) -> float:
        return self.ours_cpu_median / self.cdk_cpu_median

    @property
    def pair_cpu_ratios(self) -> tuple[float, ...]:
        """The CPU ratio of each alternated pair of processes, in run order: their spread
        shows how far the machine's noise moves one ratio."""
        return tuple(
            ours / cdk
            for ours, cdk in zip(self.ours_cpu_seconds, self.cdk_cpu_seconds, strict=True)
        )

    @property
    def pair_cpu_quartiles(self) -> tuple[float, float]:
        """The first and third quartiles of the pairs' CPU ratios (both the one ratio with a
        single pair)."""
        ratios = self.pair_cpu_ratios
        if len(ratios) < 2:
            return ratios[0], ratios[0]
        first, _, third = statistics.quantiles(ratios, n=4, method="inclusive")
        return first, third


def measure_synth_time(
    ours_scenario: str,
    cdk_scenario: str,
    families: int,
    *,
    runs: int = 5,
    warmup_runs: int = 1,
    max_managed_policies: int | None = None,
    minimize_policies: bool = False,
    timer: Callable[..., tuple[float, float]] = time_synth_process,
) -> SynthTimeResult:
    """Time ``runs`` synth processes per side, after ``warmup_runs`` untimed ones per side.

    The warm-up fills the file system cache (site-packages, the jsii bundle) for both sides.

    :param minimize_policies: both apps with aws-cdk-lib's
        ``@aws-cdk/aws-iam:minimizePolicies`` on (off, its default when unset, otherwise).

    :param timer: times one process (``time_synth_process``; a test passes its own).
    """
    timings: dict[str, list[tuple[float, float]]] = {"ours": [], "cdk": []}
    for run in range(warmup_runs + runs):
        sides = [("ours", ours_scenario), ("cdk", cdk_scenario)]
        if run % 2:
            sides.reverse()
        for side, scenario in sides:
            measured = timer(
                scenario,
                families,
                max_managed_policies=max_managed_policies if side == "ours" else None,
                minimize_policies=minimize_policies,
            )
            if run >= warmup_runs:
                timings[side].append(measured)
    return SynthTimeResult(
        families,
        ours_scenario,
        cdk_scenario,
        tuple(wall for wall, _ in timings["ours"]),
        tuple(wall for wall, _ in timings["cdk"]),
        tuple(cpu for _, cpu in timings["ours"]),
        tuple(cpu for _, cpu in timings["cdk"]),
        max_managed_policies,
        minimize_policies,
    )
