"""The audit's findings written out: a table for people, JSON, and SARIF 2.1.0 for code
scanning (GitHub's among them).

The three carry the same findings in the same order (``_audit``): roles in the order the
templates name them, each role's findings by category. SARIF results point at the role's
resource in its template file (the line that names its logical ID), with the role as their
logical location, so that a code-scanning alert lands on the template that defines the role.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TextIO

from ._audit import RoleAudit
from ._audit_checks import CATEGORIES, AuditFinding

__all__ = ["FORMATS", "RULES", "counts", "write_report"]

FORMATS = ("table", "json", "sarif")

#: Each rule the audit reports, with its category and what it means.
RULES: dict[str, tuple[str, str]] = {
    "MissingPermission": ("missing", "ECS needs an action the execution role does not allow."),
    "TrustMissing": ("missing", "The trust policy does not let ECS tasks assume the role."),
    "TrustDeniesTask": ("missing", "The trust conditions exclude a task's account or region."),
    "ExecutionRoleMissing": ("missing", "A task definition needs an execution role, has none."),
    "ExcessAction": ("excess", "The role allows an action ECS never calls to start a task."),
    "ExcessResource": ("excess", "The role allows an ECS action on resources no task needs."),
    "AlsoTaskRole": ("excess", "The execution role is also a task role."),
    "TrustWithoutConditions": (
        "trust",
        "The trust policy lacks aws:SourceAccount or aws:SourceArn (confused deputy).",
    ),
    "InlinePolicy": ("inline", "A policy is embedded in the role instead of managed."),
    "RoleOutsideTemplates": ("unverified", "The role is not defined in the templates audited."),
    "UnreadableValue": ("unverified", "A value a task needs is not told by the templates."),
    "ManagedPolicyNotEvaluated": ("unverified", "An AWS managed policy the audit does not know."),
    "PolicyNotEvaluated": ("unverified", "A policy of the role could not be evaluated."),
    "BoundaryNotEvaluated": ("unverified", "The permissions boundary is not in the templates."),
}
_LEVELS = {
    "missing": "error",
    "excess": "warning",
    "trust": "warning",
    "inline": "note",
    "unverified": "note",
}
_COLOURS = {"missing": "31", "excess": "33", "trust": "33", "inline": "36", "unverified": "35"}
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_WIDTH = 100
_MESSAGE_INDENT = " " * 13


def counts(roles: Sequence[RoleAudit]) -> dict[str, int]:
    """The number of findings of each category."""
    found = dict.fromkeys(CATEGORIES, 0)
    for role in roles:
        for finding in role.findings:
            found[finding.category] += 1
    return found


def write_report(roles: Sequence[RoleAudit], output_format: str, stream: TextIO) -> None:
    """Write the audit of ``roles`` to ``stream`` in ``output_format`` (one of
    :data:`FORMATS`); the table is coloured only when ``stream`` is a terminal."""
    if output_format == "json":
        json.dump(_json(roles), stream, indent=2)
        stream.write("\n")
    elif output_format == "sarif":
        json.dump(_sarif(roles), stream, indent=2)
        stream.write("\n")
    else:
        colour = stream.isatty() and not os.environ.get("NO_COLOR")
        stream.write(_table(roles, colour))


def _rule_id(finding: AuditFinding) -> str:
    return finding.rule.split("[", 1)[0]


def _json(roles: Sequence[RoleAudit]) -> dict[str, Any]:
    return {
        "summary": {"roles": len(roles), "findings": counts(roles)},
        "roles": [
            {
                "role": role.role,
                "arn": role.arn,
                "template": role.template,
                "logicalId": role.logical_id,
                "usedBy": role.tasks,
                "findings": [
                    {
                        "category": finding.category,
                        "rule": finding.rule,
                        "message": finding.message,
                        "fix": finding.fix,
                        "template": finding.template,
                        "logicalId": finding.logical_id,
                    }
                    for finding in role.findings
                ],
                "recommendedPolicy": role.policy,
                "recommendedTrustPolicy": role.trust,
            }
            for role in roles
        ],
    }


def _table(roles: Sequence[RoleAudit], colour: bool) -> str:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if colour else text

    total = counts(roles)
    tasks = sum(len(role.tasks) for role in roles)
    summary = ", ".join(f"{count} {category}" for category, count in total.items())
    lines = [
        f"{_count(len(roles), 'execution role')}, used by {_count(tasks, 'task definition')}: "
        f"{summary}",
        "",
    ]
    for role in roles:
        where = (
            f"{role.template}, {role.logical_id}"
            if role.template
            else "not in the templates"
            if role.arn
            else "none named"
        )
        state = paint("32", "clean") if not role.findings else _count(len(role.findings), "finding")
        lines.append(f"{paint('1', role.role)}  ({where}): {state}")
        lines.extend(f"  used by {task}" for task in role.tasks)
        fix = ""
        for finding in role.findings:
            label = paint(_COLOURS[finding.category], f"{finding.category:<10}")
            lines.append(f"  {label} {finding.rule}")
            message = finding.message.removeprefix(f"{role.role}: ")
            lines.extend(_wrapped(message))
            if finding.fix != fix:  # a fix is said once for the findings it fixes in a row
                lines.extend(_wrapped(f"Fix: {finding.fix}"))
                fix = finding.fix
        if role.findings:
            lines.append("  Recommended policy:")
            lines.extend("    " + line for line in json.dumps(role.policy, indent=2).splitlines())
            lines.append("  Recommended trust policy:")
            lines.extend("    " + line for line in json.dumps(role.trust, indent=2).splitlines())
        lines.append("")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _wrapped(text: str) -> list[str]:
    """A message under its finding, in lines of at most 100 characters (a long ARN alone on
    its line, unbroken)."""
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=_MESSAGE_INDENT,
        subsequent_indent=_MESSAGE_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _version() -> str:
    from importlib import metadata  # only SARIF names the version

    try:
        return metadata.version("ecs-exec-roles")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0.0.0"


def _sarif(roles: Sequence[RoleAudit]) -> dict[str, Any]:
    rule_ids = list(RULES)
    results = [
        _sarif_result(finding, role, rule_ids) for role in roles for finding in role.findings
    ]
    return {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ecs-exec-roles",
                        "version": _version(),
                        "rules": [
                            {
                                "id": rule,
                                "shortDescription": {"text": text},
                                "defaultConfiguration": {"level": _LEVELS[category]},
                                "properties": {"category": category},
                            }
                            for rule, (category, text) in RULES.items()
                        ],
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif_result(finding: AuditFinding, role: RoleAudit, rule_ids: list[str]) -> dict[str, Any]:
    rule = _rule_id(finding)
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": role.role, "kind": "resource"}]
    }
    if finding.template:
        region = {"startLine": _line_of(finding.template, finding.logical_id)}
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(finding.template)},
            "region": region,
        }
    return {
        "ruleId": rule,
        "ruleIndex": rule_ids.index(rule),
        "level": _LEVELS[finding.category],
        "message": {"text": f"{finding.message} Fix: {finding.fix}"},
        "locations": [location],
        "partialFingerprints": {"finding": f"{role.role}/{finding.rule}"},
    }


def _uri(path: str) -> str:
    """A template's path for SARIF: relative to the working directory when under it."""
    relative = os.path.relpath(path)
    chosen = path if relative.startswith("..") else relative
    return chosen.replace(os.sep, "/")


@lru_cache(maxsize=256)
def _lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8") as handle:
            return tuple(handle.read().splitlines())
    except OSError:
        return ()


def _line_of(path: str, logical_id: str) -> int:
    """The line of a template that names a resource's logical ID as a key (1 if none)."""
    if logical_id:
        key = re.compile(rf"^\s*(\"{re.escape(logical_id)}\"|{re.escape(logical_id)})\s*:")
        for number, line in enumerate(_lines(path), start=1):
            if key.match(line):
                return number
    return 1
