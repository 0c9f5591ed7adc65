"""Benchmark 4: policy characters a shared execution role spends per task family.

The floor is the ARNs themselves: every family's role must name its repository, its log
group's streams and its secret. Everything above that (JSON quoting, statement frames, actions
repeated per policy, actions ECS never calls) is overhead. Characters are counted as IAM
counts them: the role's permissions policies, pseudo parameters substituted by the stack's
concrete values, without whitespace. The trust policy is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .apps import family, family_arns, synth_scenario
from .policy import RolePolicies, find_role, role_policies, substitute

__all__ = ["PolicyCharsResult", "arn_chars_per_family", "measure_policy_chars"]

ROLE_LOGICAL_ID_PREFIX = "ExecutionRole"


@dataclass(frozen=True)
class PolicyCharsResult:
    families: int
    arn_chars_per_family: float
    ours: RolePolicies
    cdk_minimize_on: RolePolicies
    cdk_minimize_off: RolePolicies

    def per_family(self, policies: RolePolicies) -> float:
        return policies.total_chars / self.families


def arn_chars_per_family(families: int) -> float:
    return sum(len(arn) for i in range(families) for arn in family_arns(family(i))) / families


def _resources(template: dict[str, Any]) -> set[str]:
    """Every literal resource string in the template's IAM policies, substituted."""
    found: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        for statement in substitute(resource["Properties"]["PolicyDocument"])["Statement"]:
            value = statement.get("Resource", [])
            found.update([value] if isinstance(value, str) else value)
    return found


def measure_policy_chars(families: int = 100) -> PolicyCharsResult:
    ours_template = synth_scenario("ours-shared", families)
    ours = role_policies(ours_template, find_role(ours_template, ROLE_LOGICAL_ID_PREFIX))
    missing = {arn for i in range(families) for arn in family_arns(family(i))} - _resources(
        ours_template
    )
    if missing:
        # The floor assumes the role names exactly these ARNs; a different form would make
        # the comparison meaningless.
        raise AssertionError(f"ours does not name these ARNs verbatim: {sorted(missing)[:3]}")
    measured = {}
    for minimize in (True, False):
        template = synth_scenario("cdk-shared", families, minimize_policies=minimize)
        measured[minimize] = role_policies(template, find_role(template, ROLE_LOGICAL_ID_PREFIX))
    return PolicyCharsResult(
        families, arn_chars_per_family(families), ours, measured[True], measured[False]
    )
