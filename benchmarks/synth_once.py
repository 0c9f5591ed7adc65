"""Build one benchmark app and synthesize it; the process that synth-time benchmarks time.

Usage: python -m benchmarks.synth_once SCENARIO FAMILIES [MAX_MANAGED_POLICIES]
[--minimize-policies]
"""

from __future__ import annotations

import sys
import tempfile

from benchmarks.apps import build_app

MINIMIZE_POLICIES_OPTION = "--minimize-policies"


def main(argv: list[str]) -> None:
    minimize_policies = MINIMIZE_POLICIES_OPTION in argv
    arguments = [arg for arg in argv if arg != MINIMIZE_POLICIES_OPTION]
    scenario, families = arguments[0], int(arguments[1])
    max_managed_policies = int(arguments[2]) if len(arguments) > 2 else None
    with tempfile.TemporaryDirectory(prefix="bench-cdk-out-") as outdir:
        build_app(
            scenario,
            families,
            minimize_policies=minimize_policies,
            max_managed_policies=max_managed_policies,
            outdir=outdir,
        ).synth()


if __name__ == "__main__":
    main(sys.argv[1:])
