"""IAM's evaluation of identity policies: what a role allows, as IAM decides it.

It follows the identity-policy part of IAM's evaluation logic: an explicit ``Deny`` wins, then
an ``Allow``, and everything else is denied by default. Actions match case-insensitively and
resources case-sensitively, both with the ``*`` and ``?`` wildcards; ``NotAction`` and
``NotResource`` are honoured. A permissions boundary is one more set of policies that must
allow the request too. Only the condition operators execution roles and their boundaries use
are implemented; anything else raises :class:`UnsupportedPolicyError`, so a policy this module
does not understand is never reported as allowing or denying by mistake.

Values are resolved text. A part that CloudFormation fills in at deployment (a resource's
name, the account of an environment-agnostic stack) is an opaque placeholder (``_template``):
it equals only itself, and a ``*`` covers it, so a request is allowed only where the policy
allows every value the unknown part can take.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANY_VALUE",
    "Decision",
    "Request",
    "UnsupportedPolicyError",
    "action_matches",
    "arn_matches",
    "evaluate",
    "glob_match",
    "is_allowed",
    "not_contained",
    "statements_of",
]

#: A request context value the request is known to carry but whose value cannot be known
#: (the tags of a resource imported into the app): every condition on it holds. A context
#: key ending in ``/*`` gives it to every key of that family (``aws:ResourceTag/*``).
ANY_VALUE = "\x00any"


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


# -- matching -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's ``*`` and ``?`` wildcards, over the whole value."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


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


def statements_of(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy document's statements (IAM accepts one statement without a list)."""
    return [s for s in _as_list(policy.get("Statement", [])) if s is not None]


# -- conditions ---------------------------------------------------------------------------------


def _string_equals(policy_value: str, value: str) -> bool:
    return policy_value == value


def _string_like(policy_value: str, value: str) -> bool:
    return glob_match(policy_value, value)


def _string_equals_ignore_case(policy_value: str, value: str) -> bool:
    return policy_value.lower() == value.lower()


_OPERATORS = {
    "StringEquals": _string_equals,
    "StringLike": _string_like,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
}
# Negated operators: they hold when no value of the key matches.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, Any]
) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    if base == "Null" and qualifier == "":
        wanted_null = [str(v).lower() for v in _as_list(policy_values)]
        present = _context_value(key.lower(), context) is not None
        return any((v == "true") != present for v in wanted_null)
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicyError(f"condition operator {operator!r} is not supported")
    compare = _OPERATORS[base]
    wanted = [_check_resolved(v) for v in _as_list(policy_values)]
    value = _context_value(key.lower(), context)
    if value is None:
        # A missing key fails every operator except ...IfExists and ForAllValues (vacuous truth).
        return if_exists or qualifier == "ForAllValues"
    if value == ANY_VALUE:
        return True
    if qualifier == "":
        if not isinstance(value, str):
            raise UnsupportedPolicyError(
                f"{key} is multi-valued in the request; use ForAnyValue or ForAllValues"
            )
        matched = any(compare(w, value) for w in wanted)
        return not matched if negated else matched
    values = [value] if isinstance(value, str) else list(value)
    matches = [any(compare(w, v) for w in wanted) != negated for v in values]
    return any(matches) if qualifier == "ForAnyValue" else all(matches)


def _context_value(key: str, context: Mapping[str, Any]) -> Any:
    if key in context:
        return context[key]
    family, slash, _ = key.partition("/")
    return context.get(f"{family}/*") if slash else None


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


def evaluate(
    policies: Sequence[Mapping[str, Any]],
    request: Request,
    boundary: Sequence[Mapping[str, Any]] | None = None,
) -> Decision:
    """The decision of IAM for ``request`` given the resolved identity ``policies`` and, when
    the role has one, the policies of its permissions ``boundary``."""
    decision = _decide(policies, request)
    if decision is Decision.ALLOW and boundary is not None:
        return _decide(boundary, request)
    return decision


def _decide(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    allowed = False
    for policy in policies:
        for statement in statements_of(policy):
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
    boundary: Sequence[Mapping[str, Any]] | None = None,
) -> bool:
    return evaluate(policies, Request(action, resource, context or {}), boundary) is (
        Decision.ALLOW
    )


# -- containment --------------------------------------------------------------------------------


def _pattern_within(outer: str, inner: str, *, arn: bool) -> bool:
    """Whether every value ``inner`` matches, ``outer`` matches too.

    Decided exactly where ``inner`` holds no wildcard, and where the two are the same
    pattern; any other pair counts as not contained (a pattern no wider than another but
    written differently is reported, never let through).
    """
    if outer == inner or outer == "*":
        return True
    if "*" in inner or "?" in inner:
        return False
    if arn:
        return arn_matches(outer, inner)
    return glob_match(outer, inner, ignore_case=True)


def _normalized_condition(condition: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if not condition:
        return {}
    return {
        operator: {key.lower(): tuple(sorted(map(str, _as_list(v)))) for key, v in keys.items()}
        for operator, keys in condition.items()
    }


def _condition_within(outer: Any, inner: Any) -> bool:
    """Whether ``inner`` constrains a request at least as much as ``outer``: it holds every
    operator and key of ``outer``, with no value ``outer`` lacks."""
    outer_form, inner_form = _normalized_condition(outer), _normalized_condition(inner)
    for operator, keys in outer_form.items():
        inner_keys = inner_form.get(operator)
        if inner_keys is None:
            return False
        for key, values in keys.items():
            if key not in inner_keys or not set(inner_keys[key]) <= set(values):
                return False
    return True


def not_contained(
    statement: Mapping[str, Any], allowed: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """The (action, resource) pairs of an Allow ``statement`` that no statement of ``allowed``
    allows with a condition at most as strict: what the statement adds to ``allowed``.

    A ``NotAction`` or ``NotResource`` statement adds what it does not name, which is never
    contained: it is reported as a whole. A Deny adds nothing.
    """
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement or "NotResource" in statement:
        actions = _as_list(statement.get("Action", statement.get("NotAction")))
        resources = _as_list(statement.get("Resource", statement.get("NotResource")))
        return [(f"NotAction/NotResource {actions!r}", str(resources))]
    candidates = [
        other
        for other in allowed
        if other.get("Effect") == "Allow"
        and "Action" in other
        and "Resource" in other
        and _condition_within(other.get("Condition"), statement.get("Condition"))
    ]
    missing = []
    for action in map(str, _as_list(statement.get("Action"))):
        for resource in map(str, _as_list(statement.get("Resource"))):
            if not any(
                any(_pattern_within(str(a), action, arn=False) for a in _as_list(other["Action"]))
                and any(
                    _pattern_within(str(r), resource, arn=True) for r in _as_list(other["Resource"])
                )
                for other in candidates
            ):
                missing.append((action, resource))
    return missing
