"""The checks of a role's own resource and policies in the synthesized templates: its trust
policy as the library wrote it, no policy attached to it or naming it but its own, and its
own policies holding only what the library wrote. One small function per check."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._evaluate import not_contained, statements_of
from ._role_view import Finding, RoleView, TaskDefinition

__all__ = ["check_attachments", "check_foreign_policies", "check_own_policies", "check_trust"]


def check_trust(view: RoleView, tasks: Sequence[TaskDefinition]) -> list[Finding]:
    """The trust policy is the one the library wrote for the role's options."""
    deployed = _normal_statements(
        view.assembly.resolve(view.template, view.properties.get("AssumeRolePolicyDocument"))
    )
    expected = _normal_statements(view.assembly.resolve(view.template, view.record.trust))
    findings = []
    for key, statement in deployed.items():
        if key not in expected:
            shown = view.display(statement)
            findings.append(
                view.finding(
                    "TrustChanged",
                    shown,
                    f"the trust policy of the role holds {shown}, which the library did not "
                    "write: it lets more than ecs-tasks.amazonaws.com (with the trust "
                    "conditions) assume the role.",
                    "Remove what changes the role's trust policy (an escape hatch on its "
                    "CfnRole, assume_role_policy.add_statements, an aspect); a principal that "
                    "needs these permissions gets a role of its own.",
                )
            )
    for key, statement in expected.items():
        if key not in deployed:
            shown = view.display(statement)
            findings.append(
                view.finding(
                    "TrustChanged",
                    f"missing {shown}",
                    f"the trust policy of the role lacks {shown}, which the library wrote: "
                    "an override replaced or loosened it.",
                    "Remove what changes the role's trust policy; pass trust_conditions or "
                    "trust_all_regions to the construct instead.",
                )
            )
    return findings


def check_attachments(view: RoleView, tasks: Sequence[TaskDefinition]) -> list[Finding]:
    """The role's own resource holds no inline policy, and no managed policy but the AWS
    managed ones the library attaches."""
    findings = []
    for policy in view.properties.get("Policies") or []:
        name = view.display(policy.get("PolicyName") if isinstance(policy, dict) else policy)
        findings.append(
            view.finding(
                "PolicyAttached",
                f"Policies::{name}",
                f"the role's resource holds the inline policy {name}, so the role allows "
                "more than ECS needs.",
                _ATTACHED_FIX,
            )
        )
    expected = {view.managed_policy_arn(m.name) for m in view.record.aws_managed_policies}
    arns = view.assembly.resolve(view.template, view.properties.get("ManagedPolicyArns") or [])
    for arn in arns if isinstance(arns, list) else [arns]:
        if arn in expected:
            continue
        shown = view.display(arn)
        findings.append(
            view.finding(
                "PolicyAttached",
                f"ManagedPolicyArns::{shown}",
                f"the role's resource attaches the managed policy {shown}, so the role "
                "allows more than ECS needs.",
                _ATTACHED_FIX,
            )
        )
    return findings


_ATTACHED_FIX = (
    "Remove the attachment (an escape hatch on the role's CfnRole, or an aspect); grant what "
    "the application needs to the task definition's task_role, and what ECS needs through "
    "the construct's props."
)


def check_foreign_policies(view: RoleView, tasks: Sequence[TaskDefinition]) -> list[Finding]:
    """No policy of any template attaches to the role from its own side, but its own."""
    findings = []
    for template, logical_id, _ in view.attached:
        if (id(template), logical_id) in view.own_policies:
            continue
        kind = template.resource_type(logical_id).removeprefix("AWS::IAM::")
        name = view.resource_name(template, logical_id)
        findings.append(
            view.finding(
                "PolicyAttached",
                name,
                f"the {kind} {name} names the execution role in its roles, so the role allows "
                "more than ECS needs.",
                _ATTACHED_FIX,
                (template.path, logical_id),
            )
        )
    return findings


def check_own_policies(view: RoleView, tasks: Sequence[TaskDefinition]) -> list[Finding]:
    """The library's policies hold only what the library wrote in them."""
    findings = []
    for template, logical_id, record in view.own_policies.values():
        document = template.properties(logical_id).get("PolicyDocument")
        deployed = statements_of(view.assembly.resolve(template, document) or {})
        intended = [view.assembly.resolve(template, s) for s in record.statements]
        for statement in deployed:
            for action, resource in not_contained(statement, intended):
                shown = f"{action} on {view.display(resource)}"
                findings.append(
                    view.finding(
                        "PolicyChanged",
                        f"{action}::{view.display(resource)}",
                        f"its policy {view.resource_name(template, logical_id)} allows {shown}, "
                        "which the library "
                        "did not write there: an aspect or escape hatch widened it after the "
                        "library built it.",
                        "Remove what adds to the library's policies (an aspect that adds "
                        "statements to every managed policy, add_statements, an override); "
                        "the library's policies hold what ECS needs only.",
                        (template.path, logical_id),
                    )
                )
    return findings


# Keys whose value is one string; IAM reads any other string value as a list of one.
_SCALARS = ("Effect", "Version")


def _normal_statements(document: Any) -> dict[str, Any]:
    """A policy's statements in one comparable form each (lists sorted, single values as
    lists, keys sorted), by that form as text."""
    normal = [
        _normal(statement)
        for statement in statements_of(document if isinstance(document, Mapping) else {})
    ]
    return {json.dumps(statement, sort_keys=True): statement for statement in normal}


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _normal([item] if isinstance(item, str) and key not in _SCALARS else item)
            for key, item in value.items()
            if key != "Sid"
        }
    if isinstance(value, list):
        items = [_normal(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value
