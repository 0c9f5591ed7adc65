"""Calls from Python into aws-cdk-lib's JavaScript process (and back), ours vs aws-cdk-lib's.

Every call through jsii is a round trip between the Python process and the Node process
that runs aws-cdk-lib; for the apps the synth-time benchmarks build, those round trips are
where our constructs spend most of their time. Unlike time, the count is exact and does not
depend on the machine's load, so it shows what a change to the constructs costs.

With ``--by-cause`` each call is also put down to what made it (see ``CAUSES``), which is
where the per-family floor of the design shows.

Usage: PATH=.venv/bin:$PATH python -m benchmarks.calls [FAMILIES] [--by-cause]
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

# The one place every request from Python to the Node process goes through (jsii internals:
# read only here, by this diagnostic).
from jsii._kernel.providers import process as _jsii_process

from benchmarks.apps import synth_scenario

__all__ = ["CAUSES", "CallCount", "cause_of", "count_calls", "count_causes", "counting_calls"]

# Ours, and the aws-cdk-lib scenario it is compared with, as in the synth-time benchmarks.
PAIRS = (
    ("ours-minimal", "cdk-auto"),
    ("ours-minimal-derived", "cdk-auto"),
    ("ours-shared", "cdk-shared"),
    ("ours-shared-derived", "cdk-shared"),
    ("ours-service", "cdk-service"),
    ("ours-service-derived", "cdk-service"),
    ("ours-service-hardened", "cdk-service"),
)

# What makes a call: the phase of the library's work it belongs to, read from the Python stack
# when it is sent (the library's frames, and the aspect or validation entry it runs under).
CAUSES = {
    "app": "the app's own code (the same on both sides)",
    "callback": "answers to aws-cdk-lib calling into Python: each grant it makes to the role "
    "(the finalizer and the check, once per stack)",
    "construct": "the constructs, while the app is built (reading the resources given as "
    "props, creating the role)",
    "finalize": "the finalizer at synth: deriving needs, building the managed policies (and "
    "their cdk-nag acknowledgments)",
    "check": "the synth-time check (each task definition's role and containers)",
    "verify": "the verification of the synthesized templates (what the library wrote for its "
    "roles, resolved once per stack)",
}
_LIBRARY = "ecs_exec_roles"
# The library's synth-time entry points: an aspect's visit, a validation's validate, the
# validation plugin's validate.
_CAUSE_OF_ENTRY = {"visit": "finalize", "validate": "check"}
_PLUGIN = f"{_LIBRARY}._plugin"


def cause_of(request: Any, frame: FrameType | None) -> str:
    """The cause (a key of ``CAUSES``) of a request sent from ``frame``."""
    in_library = False
    cause = "construct"
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(_LIBRARY):
            in_library = True
            cause = _CAUSE_OF_ENTRY.get(frame.f_code.co_name, cause)
            if frame.f_globals["__name__"] == _PLUGIN and frame.f_code.co_name == "validate":
                cause = "verify"
        frame = frame.f_back
    if not in_library:
        # A callback's answer is sent after the library's code has returned.
        return "callback" if type(request).__name__ == "_CompleteRequest" else "app"
    return cause


@contextmanager
def counting_calls() -> Iterator[collections.Counter[str]]:
    """Count the requests sent to the Node process while the block runs, by cause (see
    ``CAUSES``)."""
    counter: collections.Counter[str] = collections.Counter()
    original = _jsii_process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        counter[cause_of(request, sys._getframe(1))] += 1
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
    ours_causes: collections.Counter[str]
    cdk_causes: collections.Counter[str]

    @property
    def ours(self) -> int:
        return sum(self.ours_causes.values())

    @property
    def cdk(self) -> int:
        return sum(self.cdk_causes.values())

    @property
    def extra_per_family(self) -> float:
        return (self.ours - self.cdk) / self.families


def count_causes(scenario: str, families: int) -> collections.Counter[str]:
    """Calls to build and synthesize ``scenario``, by cause, after one untimed run (which
    loads the aws-cdk-lib modules it uses into the Node process)."""
    synth_scenario(scenario, 1)
    with counting_calls() as counter:
        synth_scenario(scenario, families)
    return counter


def count_calls(ours_scenario: str, cdk_scenario: str, families: int) -> CallCount:
    """Calls to build and synthesize each scenario, and their causes."""
    ours, cdk = (count_causes(scenario, families) for scenario in (ours_scenario, cdk_scenario))
    return CallCount(families, ours_scenario, cdk_scenario, ours, cdk)


def main(argv: list[str]) -> None:
    by_cause = "--by-cause" in argv
    numbers = [arg for arg in argv if arg != "--by-cause"]
    families = int(numbers[0]) if numbers else 50
    for ours, cdk in PAIRS:
        count = count_calls(ours, cdk, families)
        print(
            f"{families} families, {ours}: {count.ours} calls; {cdk}: {count.cdk} calls; "
            f"{count.extra_per_family:.1f} more per family"
        )
        if by_cause:
            for cause, text in CAUSES.items():
                ours_calls, cdk_calls = count.ours_causes[cause], count.cdk_causes[cause]
                print(
                    f"  {ours_calls:6d} vs {cdk_calls:6d}  "
                    f"{(ours_calls - cdk_calls) / families:5.1f} per family  {text}"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
