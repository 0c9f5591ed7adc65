"""Benchmark 1: how many task families one shared execution role serves within IAM's quotas.

Ours: a SharedExecutionRole given every family's resources; a size of N fits when synth
succeeds (the construct fails synth when its statements need more than 10 managed policies).

aws-cdk-lib: one ``iam.Role`` handed to every task definition; CDK adds the grants to its
inline DefaultPolicy and moves what does not fit into ``OverflowPolicy`` managed policies. A
size of N fits when the synthesized role has at most 10 managed policies, its inline policies
hold at most 10,240 characters and each managed policy at most 6,144. CDK only warns beyond
that; the failure would come at deploy time.

Both fit-or-not predicates grow monotonically with N, so the largest size that fits is found by
galloping up (doubling) from a start size to bracket it, then bisecting the bracket.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .apps import synth_scenario
from .policy import find_role, role_policies

__all__ = [
    "CapacityResult",
    "Search",
    "cdk_fits",
    "cdk_problems",
    "largest_fitting",
    "measure_capacity",
    "ours_fits",
    "ours_problems",
]

ROLE_LOGICAL_ID_PREFIX = "ExecutionRole"
# The message SharedExecutionRole fails synth with when the statements need more policies.
_PACKING_ERROR_MARK = "max_managed_policies is"
_PACKING_NEEDS = re.compile(r"need (\d+) characters.*?which is (\d+) managed policies", re.DOTALL)


@dataclass
class Search:
    """The outcome of one search: the largest fitting size and every size probed."""

    largest: int
    probes: list[tuple[int, bool]] = field(default_factory=list)
    # Why each failing size failed.
    failures: dict[int, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    # True when the search stopped at its upper limit without finding a size that fails.
    capped: bool = False


def largest_fitting(
    problems: Callable[[int], Sequence[str]],
    *,
    start: int,
    upper_limit: int,
    resolution: int = 1,
) -> Search:
    """The largest n in [0, upper_limit] where ``problems(n)`` is empty (n fits).

    Fitting must be monotonic: if n fits, every smaller size fits.

    Gallops from ``start`` in steps that double (``start // 8`` first) until the answer is
    bracketed, then bisects the bracket.

    :param start: the first size probed; a guess near the answer saves probes.
    :param upper_limit: the largest size probed; the result says when it was reached.
    :param resolution: stop bisecting once the bracket is this narrow; the answer is then a
        lower bound at most ``resolution - 1`` below the exact figure.
    """
    began = time.perf_counter()
    search = Search(largest=0)

    def probe(n: int) -> bool:
        found = list(problems(n))
        search.probes.append((n, not found))
        if found:
            search.failures[n] = found
        return not found

    start = max(1, min(start, upper_limit))
    step = max(1, start // 8)
    if probe(start):
        low = start
        high = upper_limit + 1
        while low < upper_limit:
            n = min(low + step, upper_limit)
            if not probe(n):
                high = n
                break
            low, step = n, step * 2
        search.capped = low == upper_limit
    else:
        high = start
        low = 0
        while high > 1:
            n = max(high - step, 1)
            if probe(n):
                low = n
                break
            high, step = n, step * 2
    while high - low > resolution:
        middle = (low + high) // 2
        if probe(middle):
            low = middle
        else:
            high = middle
    search.largest = low
    search.seconds = time.perf_counter() - began
    return search


def ours_problems(families: int) -> list[str]:
    """Why a SharedExecutionRole for ``families`` fails synth; empty when it synthesizes."""
    try:
        template = synth_scenario("ours-shared", families)
    except RuntimeError as error:
        message = str(error)
        if _PACKING_ERROR_MARK not in message:
            raise
        needed = _PACKING_NEEDS.search(message)
        if needed is None:
            return ["synth fails: the statements need more than 10 managed policies"]
        return [
            f"synth fails: {needed.group(2)} managed policies needed "
            f"({needed.group(1)} chars, unresolved parts at their longest)"
        ]
    policies = role_policies(template, find_role(template, ROLE_LOGICAL_ID_PREFIX))
    problems = policies.quota_problems()
    if problems:
        # The construct promised a deployable role and synthesized one that is not.
        raise AssertionError(f"ours at {families} families synthesized but breaks {problems}")
    return []


def cdk_problems(families: int, *, minimize_policies: bool) -> list[str]:
    """The IAM quotas CDK's shared role for ``families`` breaks; empty when it fits."""
    template = synth_scenario("cdk-shared", families, minimize_policies=minimize_policies)
    policies = role_policies(template, find_role(template, ROLE_LOGICAL_ID_PREFIX))
    return policies.quota_problems()


def ours_fits(families: int) -> bool:
    return not ours_problems(families)


def cdk_fits(families: int, *, minimize_policies: bool) -> bool:
    return not cdk_problems(families, minimize_policies=minimize_policies)


@dataclass(frozen=True)
class CapacityResult:
    ours: Search
    cdk_minimize_off: Search
    cdk_minimize_on: Search
    resolution: int


def measure_capacity(
    *, upper_limit: int = 1024, resolution: int = 1, starts: tuple[int, int, int] = (256, 64, 128)
) -> CapacityResult:
    """Search the three capacities. ``starts`` are the first sizes probed (ours, off, on)."""
    ours = largest_fitting(
        ours_problems, start=starts[0], upper_limit=upper_limit, resolution=resolution
    )
    off = largest_fitting(
        lambda n: cdk_problems(n, minimize_policies=False),
        start=starts[1],
        upper_limit=upper_limit,
        resolution=resolution,
    )
    on = largest_fitting(
        lambda n: cdk_problems(n, minimize_policies=True),
        start=starts[2],
        upper_limit=upper_limit,
        resolution=resolution,
    )
    return CapacityResult(ours, off, on, resolution)
