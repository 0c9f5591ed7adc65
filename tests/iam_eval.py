"""The IAM evaluator of the package, and a test helper that gathers a role's policies.

:func:`role_policies` gathers and resolves, with :func:`testkit.cfn.resolve` and concrete
values a test supplies, every policy attached to one role of a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_exec_roles._evaluate import (
    Decision,
    Request,
    UnsupportedPolicyError,
    arn_matches,
    evaluate,
    is_allowed,
)
from testkit.cfn import Environment, resolve

__all__ = [
    "Decision",
    "Environment",
    "Request",
    "UnsupportedPolicyError",
    "arn_matches",
    "evaluate",
    "is_allowed",
    "resolve",
    "role_policies",
]


def role_policies(
    template: Mapping[str, Any],
    role_logical_id: str,
    env: Environment,
    *,
    managed_policy_documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every identity policy of a role in a template, resolved.

    Gathers the role's inline ``Policies``, ``AWS::IAM::ManagedPolicy`` and ``AWS::IAM::Policy``
    resources that name the role in ``Roles``, and ``ManagedPolicyArns`` (whose documents a
    template does not hold: pass them in ``managed_policy_documents`` keyed by resolved ARN).
    """
    resources = template.get("Resources", {})
    role = resources.get(role_logical_id)
    if role is None or role.get("Type") != "AWS::IAM::Role":
        raise UnsupportedPolicyError(f"{role_logical_id!r} is not an AWS::IAM::Role")
    properties = role.get("Properties", {})
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for arn in resolve(properties.get("ManagedPolicyArns", []), env):
        if managed_policy_documents is None or arn not in managed_policy_documents:
            raise UnsupportedPolicyError(
                f"the role attaches {arn}, whose document is not in the template; pass it in "
                "managed_policy_documents"
            )
        documents.append(managed_policy_documents[arn])
    for resource in resources.values():
        if resource.get("Type") not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        if {"Ref": role_logical_id} in resource.get("Properties", {}).get("Roles", []):
            documents.append(resource["Properties"]["PolicyDocument"])
    return [resolve(document, env) for document in documents]
