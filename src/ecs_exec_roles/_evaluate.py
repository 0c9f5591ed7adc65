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
    "Evaluator",
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


class _Patterns:
    """IAM patterns (of actions, or of resources) matched fast: those without a wildcard by
    lookup, the others among those whose text before the first wildcard begins the value."""

    def __init__(self, patterns: Iterable[str], *, arn: bool) -> None:
        self._arn = arn
        self.written = set(patterns)
        self._every = "*" in self.written
        self._literals: set[str] = set()
        self._wild: dict[int, dict[str, list[str]]] = {}
        for pattern in self.written:
            cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=-1)
            if cut < 0:
                self._literals.add(self._key(pattern))
            else:
                by_prefix = self._wild.setdefault(cut, {})
                by_prefix.setdefault(self._key(pattern[:cut]), []).append(pattern)

    def _key(self, text: str) -> str:
        return text if self._arn else text.lower()

    def match(self, value: str) -> bool:
        """Whether a pattern matches ``value`` (an ARN, or an action)."""
        if self._every:
            return True
        key = self._key(value)
        if key in self._literals:
            return True
        for length, by_prefix in self._wild.items():
            for pattern in by_prefix.get(key[:length], ()):
                if arn_matches(pattern, value) if self._arn else action_matches(pattern, value):
                    return True
        return False

    def covers(self, inner: str) -> bool:
        """Whether every value the pattern ``inner`` matches, a pattern matches too.

        Decided exactly where ``inner`` holds no wildcard, and where a pattern is ``inner``
        itself or ``*``; any other pair counts as not covered (a pattern no wider than another
        but written differently is reported, never let through).
        """
        if inner in self.written or self._every:
            return True
        return "*" not in inner and "?" not in inner and self.match(inner)


@dataclass(frozen=True)
class _Statement:
    """A statement read once: its effect, actions, resources and condition."""

    effect: str
    actions: _Patterns
    not_action: bool
    resources: _Patterns
    not_resource: bool
    condition: Mapping[str, Any]

    @classmethod
    def read(cls, statement: Mapping[str, Any]) -> _Statement:
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicyError(f"Effect must be Allow or Deny, not {effect!r}")
        if "Principal" in statement or "NotPrincipal" in statement:
            raise UnsupportedPolicyError("identity policies have no Principal")
        if ("Action" in statement) == ("NotAction" in statement):
            raise UnsupportedPolicyError(f"a statement needs Action or NotAction: {statement!r}")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise UnsupportedPolicyError(
                f"a statement needs Resource or NotResource: {statement!r}"
            )
        actions = statement.get("Action", statement.get("NotAction"))
        resources = statement.get("Resource", statement.get("NotResource"))
        return cls(
            str(effect),
            _Patterns(map(_check_resolved, _as_list(actions)), arn=False),
            "NotAction" in statement,
            _Patterns(map(_check_resolved, _as_list(resources)), arn=True),
            "NotResource" in statement,
            statement.get("Condition") or {},
        )

    def applies(self, request: Request) -> bool:
        if self.actions.match(request.action) == self.not_action:
            return False
        if self.resources.match(request.resource) == self.not_resource:
            return False
        context = {key.lower(): value for key, value in request.context.items()}
        return _conditions_hold(self.condition, context)


def _read(policies: Sequence[Mapping[str, Any]]) -> list[_Statement]:
    return [_Statement.read(s) for policy in policies for s in statements_of(policy)]


class Evaluator:
    """IAM's decisions for one role: its identity ``policies`` (resolved) and, when it has
    one, the policies of its permissions ``boundary``, each read once for every request."""

    def __init__(
        self,
        policies: Sequence[Mapping[str, Any]],
        boundary: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._statements = _read(policies)
        self._boundary_policies = boundary
        self._boundary: list[_Statement] | None = None

    def evaluate(self, request: Request) -> Decision:
        decision = _decide(self._statements, request)
        if decision is Decision.ALLOW and self._boundary_policies is not None:
            if self._boundary is None:
                # Read when first needed: a boundary matters only for what the role allows.
                self._boundary = _read(self._boundary_policies)
            return _decide(self._boundary, request)
        return decision


def evaluate(
    policies: Sequence[Mapping[str, Any]],
    request: Request,
    boundary: Sequence[Mapping[str, Any]] | None = None,
) -> Decision:
    """The decision of IAM for ``request`` given the resolved identity ``policies`` and, when
    the role has one, the policies of its permissions ``boundary``."""
    return Evaluator(policies, boundary).evaluate(request)


def _decide(statements: Sequence[_Statement], request: Request) -> Decision:
    allowed = False
    for statement in statements:
        if statement.applies(request):
            if statement.effect == "Deny":
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
    read = [
        (
            _Patterns(map(str, _as_list(other["Action"])), arn=False),
            _Patterns(map(str, _as_list(other["Resource"])), arn=True),
        )
        for other in candidates
    ]
    missing = []
    for action in map(str, _as_list(statement.get("Action"))):
        for resource in map(str, _as_list(statement.get("Resource"))):
            if not any(a.covers(action) and r.covers(resource) for a, r in read):
                missing.append((action, resource))
    return missing
