"""A small evaluator of IAM identity policies, for proving what a synthesized role allows.

It follows the identity-policy part of IAM's evaluation logic: an explicit ``Deny`` wins, then
an ``Allow``, and everything else is denied by default. Actions match case-insensitively and
resources case-sensitively, both with the ``*`` and ``?`` wildcards; ``NotAction`` and
``NotResource`` are honoured. Only the condition operators the execution roles use (and a few
neighbours) are implemented; anything else raises, so a policy this module does not understand
can never be reported as allowed or denied by mistake.

Templates hold CloudFormation intrinsics: :func:`testkit.cfn.resolve` substitutes pseudo
parameters and the resource attributes a test supplies, and :func:`role_policies` gathers and
resolves every policy attached to one role of a template.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from testkit.cfn import Environment, resolve

__all__ = [
    "Decision",
    "Environment",
    "Request",
    "UnsupportedPolicyError",
    "evaluate",
    "is_allowed",
    "resolve",
    "role_policies",
]


class UnsupportedPolicyError(ValueError):
    """The policy uses something this evaluator does not model."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: action, resource ARN and request context keys."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


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


# -- matching -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: the five leading segments one by one, the resource part as a whole.

    A wildcard in a leading segment stays inside it; in the resource part it may span colons
    (``log-group:name:*`` matches ``log-group:name:log-stream:x``). Case-sensitive.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _check_resolved(value: Any) -> str:
    if not isinstance(value, str):
        raise UnsupportedPolicyError(f"unresolved value {value!r}; resolve the template first")
    if "${" in value:
        raise UnsupportedPolicyError(f"policy variables are not supported: {value!r}")
    return value


# -- conditions ---------------------------------------------------------------------------------


def _string_equals(policy_value: str, value: str) -> bool:
    return policy_value == value


def _string_like(policy_value: str, value: str) -> bool:
    return glob_match(policy_value, value)


_OPERATORS = {
    "StringEquals": _string_equals,
    "StringLike": _string_like,
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
}


def _condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, Any]
) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicyError(f"condition operator {operator!r} is not supported")
    compare = _OPERATORS[base]
    wanted = [_check_resolved(v) for v in _as_list(policy_values)]
    present = key.lower() in context
    if not present:
        # A missing key fails every operator except ...IfExists and ForAllValues (vacuous truth).
        return if_exists or qualifier == "ForAllValues"
    value = context[key.lower()]
    if qualifier == "":
        if not isinstance(value, str):
            raise UnsupportedPolicyError(
                f"{key} is multi-valued in the request; use ForAnyValue or ForAllValues"
            )
        return any(compare(w, value) for w in wanted)
    values = [value] if isinstance(value, str) else list(value)
    matches = [any(compare(w, v) for w in wanted) for v in values]
    return any(matches) if qualifier == "ForAnyValue" else all(matches)


def _conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    # Operators, and keys inside an operator, are ANDed; values of one key are ORed.
    return all(
        _condition_holds(operator, key, values, context)
        for operator, keys in condition.items()
        for key, values in keys.items()
    )


# -- evaluation ---------------------------------------------------------------------------------


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" in statement or "NotPrincipal" in statement:
        raise UnsupportedPolicyError("identity policies have no Principal")
    if ("Action" in statement) == ("NotAction" in statement):
        raise UnsupportedPolicyError(f"a statement needs Action or NotAction: {statement!r}")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise UnsupportedPolicyError(f"a statement needs Resource or NotResource: {statement!r}")
    if "Action" in statement:
        actions = [_check_resolved(a) for a in _as_list(statement["Action"])]
        if not any(action_matches(a, request.action) for a in actions):
            return False
    else:
        actions = [_check_resolved(a) for a in _as_list(statement["NotAction"])]
        if any(action_matches(a, request.action) for a in actions):
            return False
    if "Resource" in statement:
        resources = [_check_resolved(r) for r in _as_list(statement["Resource"])]
        if not any(arn_matches(r, request.resource) for r in resources):
            return False
    else:
        resources = [_check_resolved(r) for r in _as_list(statement["NotResource"])]
        if any(arn_matches(r, request.resource) for r in resources):
            return False
    context = {key.lower(): value for key, value in request.context.items()}
    return _conditions_hold(statement.get("Condition", {}), context)


def evaluate(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of IAM for ``request`` given the resolved identity ``policies``."""
    allowed = False
    for policy in policies:
        for statement in _as_list(policy.get("Statement", [])):
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise UnsupportedPolicyError(f"Effect must be Allow or Deny, not {effect!r}")
            if _statement_applies(statement, request):
                if effect == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def is_allowed(
    policies: Sequence[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> bool:
    return evaluate(policies, Request(action, resource, context or {})) is Decision.ALLOW
