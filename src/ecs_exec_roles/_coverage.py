"""The synth-time check that the role covers every grant made to it.

aws-cdk-lib grants the execution role what a task definition needs (image pulls, log writes,
secrets, parameters) through ``add_to_principal_policy``. The role records those statements
instead of adding them, so CDK never widens it, and at synth each recorded grant is compared
with what the role allows: CDK's own knowledge of the task definition is the oracle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable, IValidation

from ._cfn import display, sort_key
from ._statements import ACTION_PROPS, ECS_EXECUTION_ACTIONS

__all__ = ["Cover", "Gap", "RecordingRole", "find_gaps"]


class RecordingRole(iam.Role):
    """An ``iam.Role`` that records grants instead of adding them to a default policy."""

    def __init__(
        self, scope: Construct, id: str, *, grant_dependable: IDependable, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self._grant_dependable = grant_dependable
        self.recorded_statements: list[iam.PolicyStatement] = []
        self.attached_inline_policies: list[iam.Policy] = []

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self.recorded_statements.append(statement)
        # The owning construct is the dependable: depending on it waits for the role and for
        # every policy built for it at synth.
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self._grant_dependable
        )

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return bool(self.add_to_principal_policy(statement).statement_added)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        # An inline policy would widen the role behind the construct's back; it is reported
        # at synth rather than attached.
        self.attached_inline_policies.append(policy)


@dataclass(frozen=True)
class Cover:
    """One (action, resource) the role allows; ``resource`` is resolved, ``*``/``?`` allowed."""

    action: str
    resource: Any


@dataclass(frozen=True)
class Gap:
    action: str
    resource: str
    fix: str


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _covers(cover: Cover, action: str, resource: Any) -> bool:
    if cover.action != action:
        return False
    if cover.resource == "*":
        return True
    if isinstance(cover.resource, str) and isinstance(resource, str):
        if "*" in cover.resource or "?" in cover.resource:
            return _glob(cover.resource).fullmatch(resource) is not None
        return cover.resource == resource
    return sort_key(cover.resource) == sort_key(resource)


def _ecs_subset(actions: Iterable[str]) -> list[str]:
    subset: list[str] = []
    for action in actions:
        pattern = _glob(action.lower())
        subset.extend(
            sorted(a for a in ECS_EXECUTION_ACTIONS if pattern.fullmatch(a) and a not in subset)
        )
    return subset


def find_gaps(grants: Sequence[dict[str, Any]], covers: Sequence[Cover]) -> list[Gap]:
    """The (action, resource) pairs of resolved grant statements that ``covers`` do not allow.

    Only the actions ECS uses with an execution role count: ``secretsmanager:DescribeSecret``
    from ``grant_read`` is never called by ECS, so a grant is covered by its ECS subset. A grant
    with no ECS action at all belongs to the task role and is reported as a gap.
    """
    gaps: list[Gap] = []
    seen: set[tuple[str, str]] = set()

    def add(gap: Gap) -> None:
        if (gap.action, gap.resource) not in seen:
            seen.add((gap.action, gap.resource))
            gaps.append(gap)

    for grant in grants:
        if grant.get("Effect", "Allow") != "Allow":
            continue
        resources = _as_list(grant.get("Resource"))
        if "NotAction" in grant or "NotResource" in grant:
            add(
                Gap(
                    "NotAction/NotResource",
                    display(grant),
                    "grant explicit actions on explicit resources",
                )
            )
            continue
        actions = [str(action) for action in _as_list(grant.get("Action"))]
        subset = _ecs_subset(actions)
        if not subset:
            for resource in resources:
                add(
                    Gap(
                        ", ".join(actions),
                        display(resource),
                        "ECS never uses these actions with the execution role; grant them to "
                        "the task definition's task_role, which the application uses",
                    )
                )
            continue
        for action in subset:
            for resource in resources:
                if not any(_covers(cover, action, resource) for cover in covers):
                    prop = ACTION_PROPS.get(action, "a prop of the construct")
                    name = ECS_EXECUTION_ACTIONS[action]
                    add(Gap(name, display(resource), f"add the resource to `{prop}`"))
    return gaps


@jsii.implements(IValidation)
class CoverageValidation:
    """Runs at synth: every grant made to the role must be covered by what it allows."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def validate(self) -> list[str]:
        return list(self._owner._synth_errors())
