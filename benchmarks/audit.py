"""How long ``ecs-exec-roles audit`` takes on a cloud assembly of N task definitions.

Usage: python -m benchmarks.audit [FAMILIES] (default 200)

Synthesizes two apps of FAMILIES task families each (``benchmarks.apps``): aws-cdk-lib's own
role per task definition (``cdk-auto``) and a derived MinimalExecutionRole per family
(``ours-minimal-derived``). For each, it prints the synthesis time, the audit's time in this
process (best of five: reading the assembly, every check, the recommended policies), the
ratio of the two, and the whole command's time in a fresh interpreter on one core
(``taskset -c 0`` where there is one), which is what a pipeline step pays. The target is
under 2 s for 200 task definitions, without a Node process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.apps import build_app
from ecs_exec_roles._audit import audit
from ecs_exec_roles._sources import load_paths

SCENARIOS = ("cdk-auto", "ours-minimal-derived")


def measure(scenario: str, families: int) -> dict[str, float]:
    """Synthesis, in-process audit and whole-command times (seconds) for one scenario."""
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as outdir:
        started = time.perf_counter()
        build_app(scenario, families, outdir=outdir).synth()
        synth = time.perf_counter() - started
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            roles = audit(load_paths([outdir]))
            timings.append(time.perf_counter() - started)
        tasks = sum(len(role.tasks) for role in roles)
        command = [sys.executable, "-m", "ecs_exec_roles", "audit", outdir, "--format", "json"]
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        whole = time.perf_counter() - started
    return {"synth": synth, "audit": min(timings), "command": whole, "tasks": tasks}


def main(argv: list[str]) -> None:
    families = int(argv[0]) if argv else 200
    for scenario in SCENARIOS:
        result = measure(scenario, families)
        print(
            f"{scenario:<22} {int(result['tasks'])} task definitions: "
            f"synth {result['synth']:.2f} s, "
            f"audit {result['audit']:.3f} s ({result['audit'] / result['synth']:.1%} of synth), "
            f"command on one core {result['command']:.2f} s"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
