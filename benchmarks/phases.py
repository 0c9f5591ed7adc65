"""Where the library's share of a synth's CPU time goes: its phases, in Python and in Node.

The synth-time benchmarks time whole processes; this shows what makes up the difference. A
process builds and synthesizes one scenario and measures, for each phase of the library's work,
the CPU time of the Python process and of its Node child (the jsii kernel running aws-cdk-lib)
while the phase runs:

- ``import``: ``import ecs_exec_roles``, after aws-cdk-lib's modules the app uses;
- ``constructors``: the constructs' ``__init__`` (checking props, reading the resources they
  name, creating the role);
- ``grant callbacks``: aws-cdk-lib calling into Python for each grant to a recording role
  (Python only: the Node side of a callback runs before and after it);
- ``finalizer``: the aspect that derives needs and builds the managed policies;
- ``check``: the synth-time validation;
- ``verification``: the validation plugin that reads the synthesized templates.

Each scenario runs in fresh processes (medians of ``--runs``), its whole CPU time measured as
in the synth-time benchmarks, beside aws-cdk-lib's peer scenario. Node's CPU time is read from
``/proc`` (Linux; in clock ticks, so each phase is a sum of 10 ms samples).

Usage: PATH=.venv/bin:$PATH python -m benchmarks.phases [SCENARIO ...] [--families N]
[--runs R]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.synth_time import compile_sources, run_module

__all__ = ["PHASES", "measure_phases", "node_cpu_seconds"]

PHASES = ("import", "constructors", "grant callbacks", "finalizer", "check", "verification")
_PEERS = {
    "ours-service": "cdk-service",
    "ours-service-derived": "cdk-service",
    "ours-service-hardened": "cdk-service",
    "ours-minimal": "cdk-auto",
    "ours-minimal-derived": "cdk-auto",
    "ours-shared": "cdk-shared",
    "ours-shared-derived": "cdk-shared",
}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = []
    for child in map(int, children):
        found.append(child)
        found.extend(_descendants(child))
    return found


def node_cpu_seconds() -> float:
    """CPU seconds (user and system) of this process's children: the jsii Node process."""
    total = 0
    for pid in _descendants(os.getpid()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


class _Meter:
    """Python and Node CPU seconds per phase; a phase entered within another is its part."""

    def __init__(self) -> None:
        self.python = dict.fromkeys(PHASES, 0.0)
        self.node = dict.fromkeys(PHASES, 0.0)
        self._depth = 0

    def wrap(self, owner: Any, name: str, phase: str, *, node: bool = True) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def measured(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return original(*args, **kwargs)
            self._depth += 1
            # Node's time is read outside the Python time, so reading it counts in neither.
            node_before = node_cpu_seconds() if node else 0.0
            python = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.python[phase] += time.process_time() - python
                if node:
                    self.node[phase] += node_cpu_seconds() - node_before
                self._depth -= 1

        setattr(owner, name, measured)


def _measure_in_process(scenario: str, families: int) -> dict[str, Any]:
    """Build and synthesize ``scenario`` here; the Python and Node CPU seconds of each phase."""
    from benchmarks.apps import build_app

    meter = _Meter()
    if scenario.startswith("ours-"):
        began = time.process_time()
        import ecs_exec_roles  # noqa: F401
        from ecs_exec_roles import _base, _lifecycle, _plugin, _recorder

        meter.python["import"] = time.process_time() - began
        meter.wrap(_base.ExecutionRoleBase, "__init__", "constructors")
        meter.wrap(
            _recorder.RecordingRole, "add_to_principal_policy", "grant callbacks", node=False
        )
        meter.wrap(_lifecycle.StackRoles, "finalize", "finalizer")
        meter.wrap(_lifecycle.StackRoles, "errors", "check")
        meter.wrap(_plugin.VerificationPlugin, "validate", "verification")
    with tempfile.TemporaryDirectory(prefix="bench-cdk-out-") as outdir:
        build_app(scenario, families, outdir=outdir).synth()
    return {"python": meter.python, "node": meter.node}


def _run_process(scenario: str, families: int) -> tuple[float, dict[str, Any]]:
    """One fresh process: its whole CPU seconds (with its Node child) and its phases."""
    run = run_module("benchmarks.phases", "--in-process", scenario, "--families", str(families))
    return run.cpu_seconds, json.loads(run.stdout.strip().splitlines()[-1])


def measure_phases(
    scenario: str,
    families: int,
    runs: int,
    run_process: Callable[[str, int], tuple[float, dict[str, Any]]] = _run_process,
) -> dict[str, Any]:
    """Medians over ``runs`` processes of each side, alternated: the whole CPU seconds of
    ``scenario`` and of its aws-cdk-lib peer, and the library's phases."""
    peer = _PEERS[scenario]
    ours: list[tuple[float, dict[str, Any]]] = []
    theirs: list[float] = []
    for run in range(runs):
        sides = [scenario, peer] if run % 2 == 0 else [peer, scenario]
        for side in sides:
            total, phases = run_process(side, families)
            if side == scenario:
                ours.append((total, phases))
            else:
                theirs.append(total)
    return {
        "scenario": scenario,
        "peer": peer,
        "families": families,
        "runs": runs,
        "total": statistics.median(total for total, _ in ours),
        "peer_total": statistics.median(theirs),
        "python": {p: statistics.median(ph["python"][p] for _, ph in ours) for p in PHASES},
        "node": {p: statistics.median(ph["node"][p] for _, ph in ours) for p in PHASES},
    }


def format_phases(result: dict[str, Any]) -> list[str]:
    python, node = result["python"], result["node"]
    lines = [
        f"{result['scenario']} vs {result['peer']}, {result['families']} families "
        f"(medians of {result['runs']} processes each, CPU seconds)",
        f"  {'phase':<18}{'Python':>8}{'Node':>8}{'both':>8}",
    ]
    for phase in PHASES:
        node_text = "-" if phase in ("import", "grant callbacks") else f"{node[phase]:.2f}"
        both = python[phase] + node[phase]
        lines.append(f"  {phase:<18}{python[phase]:>8.2f}{node_text:>8}{both:>8.2f}")
    library = sum(python.values()) + sum(node.values())
    difference = result["total"] - result["peer_total"]
    lines += [
        f"  {'the library':<34}{library:>8.2f} ({library / result['peer_total']:.1%} of the "
        "peer's process)",
        f"  whole process {result['total']:.2f} vs {result['peer_total']:.2f}: "
        f"{difference:+.2f} ({result['total'] / result['peer_total']:.3f})",
    ]
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=["ours-service", "ours-service-derived"])
    parser.add_argument("--families", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.in_process:
        (scenario,) = arguments.scenarios
        print(json.dumps(_measure_in_process(scenario, arguments.families)))
        return 0
    unknown = [s for s in arguments.scenarios if s not in _PEERS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {sorted(_PEERS)}")
    compile_sources()
    for scenario in arguments.scenarios:
        result = measure_phases(scenario, arguments.families, arguments.runs)
        print("\n".join(format_phases(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
