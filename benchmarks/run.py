"""Run the benchmarks of ecs-exec-roles against aws-cdk-lib, measured in the same run.

    PATH=.venv/bin:$PATH python -m benchmarks.run              # everything (about 20 minutes)
    PATH=.venv/bin:$PATH python -m benchmarks.run --only capacity --only policy-chars
    PATH=.venv/bin:$PATH python -m benchmarks.run --quick      # fewer runs, coarser search
    PATH=.venv/bin:$PATH python -m benchmarks.run --markdown   # and the docs/benchmarks.md table

Benchmarks (each prints ours, the aws-cdk-lib peer, the ratio, the target and PASS/MISS; the
synth-time ones judge the ratio of CPU time, the process and its Node child, and print the
wall-time ratio beside it):

- ``capacity``: task families one shared execution role serves within 10 managed policies.
- ``synth-50``: synth process time, 50 task families each on its own MinimalExecutionRole vs
  the same families on aws-cdk-lib's automatic execution roles.
- ``synth-200``: synth process time, 200 families on one SharedExecutionRole vs one shared
  ``iam.Role`` handed to the same task definitions, with aws-cdk-lib's
  ``@aws-cdk/aws-iam:minimizePolicies`` off (its default when unset);
  ``synth-200-minimize`` with it on, in both apps.
- ``service-10``, ``service-20``: the realistic app (one VPC, one cluster, N
  ``ApplicationLoadBalancedFargateService``, each with its own repository, log group, secret
  and parameter) with a MinimalExecutionRole per service vs aws-cdk-lib's automatic roles.
- ``*-derived``: the same, with roles given no props and derived from the task definitions
  (``derive=True``); the others name every resource in props (``derive=False``).
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
from benchmarks.synth_time import SynthTimeResult, compile_sources, measure_synth_time

BENCHMARKS = (
    "capacity",
    "synth-50",
    "synth-50-derived",
    "synth-200",
    "synth-200-minimize",
    "synth-200-derived",
    "synth-200-derived-minimize",
    "service-10",
    "service-10-derived",
    "service-20",
    "service-20-derived",
    "service-20-hardened",
    "policy-chars",
)

CAPACITY_TARGET_FAMILIES = 260
SYNTH_50_TARGET_RATIO = 1.10
SYNTH_200_TARGET_RATIO = 1.0
SERVICE_TARGET_RATIO = 1.05
# The realistic app's target is set at 20 services; 10 is reported beside it.
SERVICE_TARGET_SIZE = 20
POLICY_CHARS_TARGET_RATIO = 1.10
# SharedExecutionRole's message when its statements need more managed policies than allowed.
_PACKING_ERROR_MARK = "max_managed_policies is"
_RAISED_MAX_MANAGED_POLICIES = 25


@dataclass
class Row:
    """One benchmark's outcome, printed as text and as a row of the table in docs/benchmarks.md."""

    key: str
    title: str
    ours: str
    peer: str
    ratio: float
    ratio_label: str
    target: str
    #: ``None`` for a figure reported without a target.
    passed: bool | None
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "-"
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


def _time_details(result: SynthTimeResult, runs: int) -> list[str]:
    def seconds(values: Sequence[float]) -> str:
        return " ".join(f"{value:.2f}" for value in values)

    return [
        f"median of {runs} processes per side, alternating; the ratio is of CPU time (the "
        "process and its Node child), which other load disturbs less than wall time",
        f"wall-time ratio: {result.ratio:.2f}",
        f"ours wall s: {seconds(result.ours_seconds)}",
        f"cdk  wall s: {seconds(result.cdk_seconds)}",
        f"ours CPU s : {seconds(result.ours_cpu_seconds)}",
        f"cdk  CPU s : {seconds(result.cdk_cpu_seconds)}",
        f"CPU ratio of each pair: {seconds(result.pair_cpu_ratios)}",
    ]


def _synth_row(
    key: str,
    title: str,
    result: SynthTimeResult,
    target: float | None,
    notes: Sequence[str],
    runs: int,
) -> Row:
    return Row(
        key,
        title,
        f"{result.ours_cpu_median:.2f} s CPU, {result.ours_median:.2f} s wall",
        f"{result.cdk_cpu_median:.2f} s CPU, {result.cdk_median:.2f} s wall",
        result.cpu_ratio,
        "CPU, pairs {:.2f}-{:.2f}; wall {:.2f}".format(*result.pair_cpu_quartiles, result.ratio),
        f"<= {target:.2f}" if target is not None else "-",
        result.cpu_ratio <= target if target is not None else None,
        [*notes, *_time_details(result, runs)],
    )


def _how(derived: bool) -> str:
    return "derived, no props" if derived else "named in props"


def run_synth_50(settings: Settings, derived: bool = False) -> Row:
    result = measure_synth_time(
        "ours-minimal-derived" if derived else "ours-minimal",
        "cdk-auto",
        50,
        runs=settings.runs,
        warmup_runs=settings.warmup_runs,
    )
    return _synth_row(
        "synth-50-derived" if derived else "synth-50",
        f"Synth, 50 families: a MinimalExecutionRole each ({_how(derived)}) vs CDK's "
        "automatic roles",
        result,
        SYNTH_50_TARGET_RATIO,
        [],
        settings.runs,
    )


def run_synth_200(settings: Settings, derived: bool = False, minimize: bool = False) -> Row:
    notes = []
    ours = "ours-shared-derived" if derived else "ours-shared"
    timing = {
        "runs": settings.runs,
        "warmup_runs": settings.warmup_runs,
        "minimize_policies": minimize,
    }
    try:
        result = measure_synth_time(ours, "cdk-shared", 200, **timing)
    except RuntimeError as error:
        if _PACKING_ERROR_MARK not in str(error):
            raise
        notes.append(
            "ours needs more than 10 managed policies for 200 families; timed with "
            f"max_managed_policies={_RAISED_MAX_MANAGED_POLICIES}"
        )
        result = measure_synth_time(
            ours, "cdk-shared", 200, max_managed_policies=_RAISED_MAX_MANAGED_POLICIES, **timing
        )
    flag = "on" if minimize else "off (its default when the flag is unset)"
    notes.append(f"both apps with aws-cdk-lib's minimizePolicies {flag}")
    key = "synth-200" + ("-derived" if derived else "") + ("-minimize" if minimize else "")
    return _synth_row(
        key,
        f"Synth, 200 families on one role: SharedExecutionRole ({_how(derived)}) vs one "
        f"iam.Role, minimizePolicies {'on' if minimize else 'off'}",
        result,
        SYNTH_200_TARGET_RATIO,
        notes,
        settings.runs,
    )


def run_service(
    settings: Settings, services: int, derived: bool = False, hardened: bool = False
) -> Row:
    ours = "ours-service-hardened" if hardened else "ours-service"
    result = measure_synth_time(
        "ours-service-derived" if derived else ours,
        "cdk-service",
        services,
        runs=settings.runs,
        warmup_runs=settings.warmup_runs,
    )
    how = (
        "CDK's automatic roles hardened by HardenExecutionRoles on the app"
        if hardened
        else f"a MinimalExecutionRole each ({_how(derived)})"
    )
    return _synth_row(
        f"service-{services}" + ("-derived" if derived else "") + ("-hardened" if hardened else ""),
        f"Synth, realistic app of {services} load-balanced services: {how} vs CDK's automatic "
        "roles",
        result,
        SERVICE_TARGET_RATIO if services == SERVICE_TARGET_SIZE else None,
        [
            "one VPC, one cluster, N ApplicationLoadBalancedFargateService, each with its own "
            "ECR repository, log group, secret and SSM parameter"
        ],
        settings.runs,
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
    "synth-200-minimize": functools.partial(run_synth_200, minimize=True),
    "synth-200-derived-minimize": functools.partial(run_synth_200, derived=True, minimize=True),
    "service-10": functools.partial(run_service, services=10),
    "service-10-derived": functools.partial(run_service, services=10, derived=True),
    "service-20": functools.partial(run_service, services=20),
    "service-20-derived": functools.partial(run_service, services=20, derived=True),
    "service-20-hardened": functools.partial(run_service, services=20, hardened=True),
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


def print_markdown(rows: Sequence[Row], facts: Sequence[tuple[str, str]] = ()) -> None:
    if facts:
        print("Measured on: " + "; ".join(f"{name} {value}" for name, value in facts) + ".")
        print()
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
    facts = machine_facts()
    for name, value in facts:
        print(f"  {name}: {value}")
    if arguments.quick:
        print("  QUICK MODE: fewer runs and a coarser capacity search; do not publish.")
    print(flush=True)
    compile_sources()
    rows = []
    for number, key in enumerate(BENCHMARKS, start=1):
        if arguments.only and key not in arguments.only:
            continue
        started = time.perf_counter()
        row = RUNNERS[key](settings)
        row.seconds = time.perf_counter() - started
        rows.append(row)
        print_row(number, row)
    judged = [row for row in rows if row.passed is not None]
    print(
        f"Total: {time.perf_counter() - began:.0f} s; "
        f"{sum(bool(row.passed) for row in judged)} of {len(judged)} targets met."
    )
    if arguments.markdown:
        print()
        print_markdown(rows, facts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
