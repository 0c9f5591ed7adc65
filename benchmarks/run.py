"""Run the benchmarks of ecs-exec-roles against aws-cdk-lib, measured in the same run.

    PATH=.venv/bin:$PATH python -m benchmarks.run              # everything (about 5 minutes)
    PATH=.venv/bin:$PATH python -m benchmarks.run --only capacity --only policy-chars
    PATH=.venv/bin:$PATH python -m benchmarks.run --quick      # fewer runs, coarser search
    PATH=.venv/bin:$PATH python -m benchmarks.run --markdown   # also print a README table

Benchmarks (each prints ours, the aws-cdk-lib peer, the ratio, the target and PASS/MISS):

- ``capacity``: task families one shared execution role serves within 10 managed policies.
- ``synth-50``: synth process time, 50 task families each on its own MinimalExecutionRole vs
  the same families on aws-cdk-lib's automatic execution roles.
- ``synth-200``: synth process time, 200 families on one SharedExecutionRole vs one shared
  ``iam.Role`` handed to the same task definitions.
- ``synth-50-derived``, ``synth-200-derived``: the same, with roles given no props and
  derived from the task definitions (``derive=True``); the two above name every resource in
  props (``derive=False``).
- ``policy-chars``: policy characters per family of a shared role vs the characters of the
  ARNs each family must name.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.capacity import Search, measure_capacity
from benchmarks.machine import machine_facts
from benchmarks.policy_chars import measure_policy_chars
from benchmarks.synth_time import SynthTimeResult, measure_synth_time

BENCHMARKS = (
    "capacity",
    "synth-50",
    "synth-50-derived",
    "synth-200",
    "synth-200-derived",
    "policy-chars",
)

CAPACITY_TARGET_FAMILIES = 260
SYNTH_50_TARGET_RATIO = 1.10
SYNTH_200_TARGET_RATIO = 1.0
POLICY_CHARS_TARGET_RATIO = 1.10
# SharedExecutionRole's message when its statements need more managed policies than allowed.
_PACKING_ERROR_MARK = "max_managed_policies is"
_RAISED_MAX_MANAGED_POLICIES = 25


@dataclass
class Row:
    """One benchmark's outcome, printed as text and as a README table row."""

    key: str
    title: str
    ours: str
    peer: str
    ratio: float
    ratio_label: str
    target: str
    passed: bool
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"


@dataclass(frozen=True)
class Settings:
    runs: int
    warmup_runs: int
    capacity_resolution: int
    policy_families: int


def _probes(search: Search) -> str:
    shown = ", ".join(f"{n}{'+' if fits else '-'}" for n, fits in search.probes)
    capped = " (stopped at the search's upper limit)" if search.capped else ""
    text = f"probes (+ fits, - does not) {shown} in {search.seconds:.0f} s{capped}"
    if search.failures:
        smallest = min(search.failures)
        text += f"; at {smallest}: {'; '.join(search.failures[smallest])}"
    return text


def run_capacity(settings: Settings) -> Row:
    result = measure_capacity(resolution=settings.capacity_resolution)
    ours = result.ours.largest
    on = result.cdk_minimize_on.largest
    off = result.cdk_minimize_off.largest
    approximate = (
        f" (lower bounds, within {settings.capacity_resolution - 1})"
        if settings.capacity_resolution > 1
        else ""
    )
    return Row(
        "capacity",
        "Task families one shared execution role serves within 10 managed policies",
        f"{ours}",
        f"{on} (minimizePolicies on), {off} (off)",
        ours / on,
        "ours / cdk (on)",
        f"ours >= {CAPACITY_TARGET_FAMILIES}",
        ours >= CAPACITY_TARGET_FAMILIES,
        [
            "families: one ECR repository, one log group, one secret each, imported by name"
            f"{approximate}",
            f"ours / cdk (off): {ours / off:.2f}",
            f"ours, SharedExecutionRole: largest N that synthesizes; {_probes(result.ours)}",
            "aws-cdk-lib, one iam.Role, minimizePolicies on: largest N with <= 10 managed "
            "policies, inline <= 10,240 and managed <= 6,144 chars; "
            f"{_probes(result.cdk_minimize_on)}",
            f"aws-cdk-lib, minimizePolicies off: same rule; {_probes(result.cdk_minimize_off)}",
        ],
    )


def _time_details(result: SynthTimeResult) -> list[str]:
    def seconds(values: Sequence[float]) -> str:
        return " ".join(f"{value:.2f}" for value in values)

    return [
        f"ours wall s: {seconds(result.ours_seconds)}",
        f"cdk  wall s: {seconds(result.cdk_seconds)}",
        f"CPU-time ratio (process + Node child, median, less sensitive to other load): "
        f"{result.cpu_ratio:.2f}",
    ]


def _synth_row(
    key: str, title: str, result: SynthTimeResult, target: float, notes: Sequence[str]
) -> Row:
    return Row(
        key,
        title,
        f"{result.ours_median:.2f} s",
        f"{result.cdk_median:.2f} s",
        result.ratio,
        "ours / cdk",
        f"<= {target:.2f}",
        result.ratio <= target,
        [*notes, *_time_details(result)],
    )


def run_synth_50(settings: Settings, derived: bool = False) -> Row:
    result = measure_synth_time(
        "ours-minimal-derived" if derived else "ours-minimal",
        "cdk-auto",
        50,
        runs=settings.runs,
        warmup_runs=settings.warmup_runs,
    )
    how = "derived, no props" if derived else "named in props"
    return _synth_row(
        "synth-50-derived" if derived else "synth-50",
        f"Synth process time, 50 families: a MinimalExecutionRole each ({how}) vs CDK's "
        "automatic roles",
        result,
        SYNTH_50_TARGET_RATIO,
        [f"median wall time of {settings.runs} processes per side, alternating"],
    )


def run_synth_200(settings: Settings, derived: bool = False) -> Row:
    notes = [f"median wall time of {settings.runs} processes per side, alternating"]
    ours = "ours-shared-derived" if derived else "ours-shared"
    try:
        result = measure_synth_time(
            ours, "cdk-shared", 200, runs=settings.runs, warmup_runs=settings.warmup_runs
        )
    except RuntimeError as error:
        if _PACKING_ERROR_MARK not in str(error):
            raise
        notes.append(
            "ours needs more than 10 managed policies for 200 families; timed with "
            f"max_managed_policies={_RAISED_MAX_MANAGED_POLICIES}"
        )
        result = measure_synth_time(
            ours,
            "cdk-shared",
            200,
            runs=settings.runs,
            warmup_runs=settings.warmup_runs,
            max_managed_policies=_RAISED_MAX_MANAGED_POLICIES,
        )
    notes.append("aws-cdk-lib with minimizePolicies off, its default when the flag is unset")
    how = "derived, no props" if derived else "named in props"
    return _synth_row(
        "synth-200-derived" if derived else "synth-200",
        f"Synth process time, 200 families on one role: SharedExecutionRole ({how}) vs one "
        "iam.Role",
        result,
        SYNTH_200_TARGET_RATIO,
        notes,
    )


def run_policy_chars(settings: Settings) -> Row:
    result = measure_policy_chars(settings.policy_families)
    floor = result.arn_chars_per_family
    ours = result.per_family(result.ours)
    on = result.per_family(result.cdk_minimize_on)
    off = result.per_family(result.cdk_minimize_off)
    return Row(
        "policy-chars",
        f"Policy characters per family ({result.families} families on one shared role) "
        "vs the family's ARNs",
        f"{ours:.1f} ({ours / floor:.3f} x ARNs)",
        f"{on:.1f} ({on / floor:.3f} x ARNs, minimizePolicies on)",
        ours / floor,
        "ours / ARN chars",
        f"<= {POLICY_CHARS_TARGET_RATIO:.2f}",
        ours / floor <= POLICY_CHARS_TARGET_RATIO,
        [
            f"ARN characters each family must name: {floor:.1f} (repository, log-group:...:*, "
            "secret-??????)",
            f"aws-cdk-lib with minimizePolicies off: {off:.1f} per family "
            f"({off / floor:.3f} x ARNs)",
            "counted: the role's permissions policies, pseudo parameters substituted, no "
            "whitespace; the trust policy is not counted",
            f"ours: {len(result.ours.managed_chars)} managed policies of "
            f"{', '.join(str(c) for c in result.ours.managed_chars)} chars",
        ],
    )


RUNNERS: dict[str, Callable[[Settings], Row]] = {
    "capacity": run_capacity,
    "synth-50": run_synth_50,
    "synth-200": run_synth_200,
    "policy-chars": run_policy_chars,
    "synth-50-derived": functools.partial(run_synth_50, derived=True),
    "synth-200-derived": functools.partial(run_synth_200, derived=True),
}


def print_row(number: int, row: Row) -> None:
    print(f"[{number}] {row.key}: {row.title}")
    print(f"    ours         : {row.ours}")
    print(f"    aws-cdk-lib  : {row.peer}")
    print(f"    ratio        : {row.ratio:.2f} ({row.ratio_label})")
    print(f"    target       : {row.target}")
    print(f"    result       : {row.verdict}")
    for detail in row.details:
        print(f"      - {detail}")
    print(f"    took {row.seconds:.0f} s")
    print(flush=True)


def print_markdown(rows: Sequence[Row]) -> None:
    print("| Benchmark | ecs-exec-roles | aws-cdk-lib | Ratio | Target | Result |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.title} | {row.ours} | {row.peer} | {row.ratio:.2f} ({row.ratio_label}) "
            f"| {row.target} | {row.verdict} |"
        )


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmarks of ecs-exec-roles against aws-cdk-lib, measured in one run."
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        help="run only this benchmark (repeatable). Default: all of them.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 timed runs and no warm-up, capacity to within 8 families; not for publishing.",
    )
    parser.add_argument(
        "--runs", type=int, help="timed synth processes per side (default 7; 3 with --quick)."
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the results as a Markdown table."
    )
    arguments = parser.parse_args(argv)
    if arguments.runs is not None and arguments.runs < 1:
        parser.error("--runs must be at least 1")
    return arguments


def main(argv: Sequence[str]) -> int:
    arguments = parse_arguments(argv)
    settings = Settings(
        runs=arguments.runs or (3 if arguments.quick else 7),
        warmup_runs=0 if arguments.quick else 1,
        capacity_resolution=8 if arguments.quick else 1,
        policy_families=100,
    )
    began = time.perf_counter()
    print("ecs-exec-roles benchmarks (peer: aws-cdk-lib, measured in the same run)")
    for name, value in machine_facts():
        print(f"  {name}: {value}")
    if arguments.quick:
        print("  QUICK MODE: fewer runs and a coarser capacity search; do not publish.")
    print(flush=True)
    rows = []
    for number, key in enumerate(BENCHMARKS, start=1):
        if arguments.only and key not in arguments.only:
            continue
        started = time.perf_counter()
        row = RUNNERS[key](settings)
        row.seconds = time.perf_counter() - started
        rows.append(row)
        print_row(number, row)
    print(
        f"Total: {time.perf_counter() - began:.0f} s; "
        f"{sum(row.passed for row in rows)} of {len(rows)} targets met."
    )
    if arguments.markdown:
        print()
        print_markdown(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
