"""Calls from Python into aws-cdk-lib's JavaScript process (and back), ours vs aws-cdk-lib's.

Every call through jsii is a round trip between the Python process and the Node process
that runs aws-cdk-lib; for the apps the synth-time benchmarks build, those round trips are
where our constructs spend most of their time. Unlike time, the count is exact and does not
depend on the machine's load, so it shows what a change to the constructs costs.

Usage: PATH=.venv/bin:$PATH python benchmarks/calls.py [FAMILIES]
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    _ROOT = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_ROOT / "src"), str(_ROOT)]

# The one place every request from Python to the Node process goes through (jsii internals:
# read only here, by this diagnostic).
from jsii._kernel.providers import process as _jsii_process

from benchmarks.apps import synth_scenario

__all__ = ["CallCount", "count_calls", "counting_calls"]

# Ours, and the aws-cdk-lib scenario it is compared with, as in the synth-time benchmarks.
PAIRS = (("ours-minimal", "cdk-auto"), ("ours-shared", "cdk-shared"))


@contextmanager
def counting_calls() -> Iterator[collections.Counter[str]]:
    """Count the requests sent to the Node process, by kind, while the block runs."""
    counter: collections.Counter[str] = collections.Counter()
    original = _jsii_process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        counter[type(request).__name__] += 1
        return original(self, request, response_type)

    _jsii_process._NodeProcess.send = send  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        _jsii_process._NodeProcess.send = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class CallCount:
    families: int
    ours_scenario: str
    cdk_scenario: str
    ours: int
    cdk: int

    @property
    def extra_per_family(self) -> float:
        return (self.ours - self.cdk) / self.families


def count_calls(ours_scenario: str, cdk_scenario: str, families: int) -> CallCount:
    """Calls to build and synthesize each scenario, after one untimed run of each (which
    loads aws-cdk-lib's modules into the Node process once for both)."""
    for scenario in (ours_scenario, cdk_scenario):
        synth_scenario(scenario, 1)
    totals = {}
    for scenario in (ours_scenario, cdk_scenario):
        with counting_calls() as counter:
            synth_scenario(scenario, families)
        totals[scenario] = sum(counter.values())
    return CallCount(
        families, ours_scenario, cdk_scenario, totals[ours_scenario], totals[cdk_scenario]
    )


def main(argv: list[str]) -> None:
    families = int(argv[0]) if argv else 50
    for ours, cdk in PAIRS:
        count = count_calls(ours, cdk, families)
        print(
            f"{families} families, {ours}: {count.ours} calls; {cdk}: {count.cdk} calls; "
            f"{count.extra_per_family:.1f} more per family"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
