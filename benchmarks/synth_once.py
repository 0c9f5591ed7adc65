"""Build one benchmark app and synthesize it; the process that synth-time benchmarks time.

Usage: python -m benchmarks.synth_once SCENARIO FAMILIES [MAX_MANAGED_POLICIES]
"""

from __future__ import annotations

import sys
import tempfile

from benchmarks.apps import build_app


def main(argv: list[str]) -> None:
    scenario, families = argv[0], int(argv[1])
    max_managed_policies = int(argv[2]) if len(argv) > 2 else None
    with tempfile.TemporaryDirectory(prefix="bench-cdk-out-") as outdir:
        build_app(
            scenario, families, max_managed_policies=max_managed_policies, outdir=outdir
        ).synth()


if __name__ == "__main__":
    main(sys.argv[1:])
