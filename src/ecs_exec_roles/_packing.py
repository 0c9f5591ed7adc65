"""Pack statements into customer-managed policies within IAM's size quota.

IAM counts a managed policy's size as its JSON without whitespace, after CloudFormation has
substituted every intrinsic. Resources that are still intrinsics at synth are counted at a
safe upper bound (see ``_cfn.max_chars``), so a packing that fits here fits when deployed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ._cfn import json_max_chars
from ._statements import Resource, Statement

__all__ = ["MANAGED_POLICY_MAX_CHARS", "PackingResult", "pack", "policy_chars"]

# IAM quota: a customer managed policy holds at most 6,144 characters, whitespace not counted.
MANAGED_POLICY_MAX_CHARS = 6144
_DOCUMENT_CHARS = len('{"Version":"2012-10-17","Statement":[]}')
# The only intrinsics the role's conditions hold, besides pseudo parameters, are regions (a
# key's region, read from its ARN): none is longer than this.
_CONDITION_INTRINSIC_MAX_CHARS = 16


def _compact(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def _statement_frame_chars(statement: Statement) -> int:
    """Characters of a statement without its resources (the ``Resource`` list left empty)."""
    frame: dict[str, object] = {
        "Sid": statement.sid,
        "Effect": "Allow",
        "Action": list(statement.actions),
        "Resource": [],
    }
    chars = _compact(frame)
    if statement.condition_resolved is not None:
        # Every key and value of the condition counts; intrinsics (a region, the URL suffix)
        # at their longest.
        chars += len(',"Condition":') + json_max_chars(
            statement.condition_resolved, _CONDITION_INTRINSIC_MAX_CHARS
        )
    return chars


def _statement_chars(statement: Statement) -> int:
    resources = statement.resources
    return (
        _statement_frame_chars(statement)
        + sum(resource.max_chars for resource in resources)
        + max(len(resources) - 1, 0)
    )


def policy_chars(statements: Sequence[Statement]) -> int:
    return (
        _DOCUMENT_CHARS + sum(_statement_chars(s) for s in statements) + max(len(statements) - 1, 0)
    )


@dataclass(frozen=True)
class PackingResult:
    """Statements packed into policies, in order, and their size as IAM counts it.

    :param oversized: each resource that does not fit in a policy even alone with its
        statement: the statement, the resource, and the characters of a policy holding just
        them (left out of ``policies``).
    """

    policies: tuple[tuple[Statement, ...], ...]
    total_chars: int
    oversized: tuple[tuple[Statement, Resource, int], ...] = ()


def pack(
    statements: Sequence[Statement], policy_max_chars: int = MANAGED_POLICY_MAX_CHARS
) -> PackingResult:
    """Fill policies in order, splitting a statement's resources where a policy runs full.

    The order is the statements' order, so adding a resource only changes the policies from
    the one it lands in onwards.
    """
    policies: list[list[Statement]] = [[]]
    oversized: list[tuple[Statement, Resource, int]] = []
    used = _DOCUMENT_CHARS
    for statement in statements:
        frame = _statement_frame_chars(statement)
        pending = list(statement.resources)
        while pending:
            separator = 1 if policies[-1] else 0
            taken: list[Resource] = []
            chars = used + separator + frame
            for resource in pending:
                extra = resource.max_chars + (1 if taken else 0)
                if chars + extra > policy_max_chars:
                    break
                taken.append(resource)
                chars += extra
            if not taken:
                if not policies[-1]:
                    # Too large even alone: reported, never packed.
                    alone = pending.pop(0)
                    oversized.append((statement, alone, chars + alone.max_chars))
                    continue
                policies.append([])
                used = _DOCUMENT_CHARS
                continue
            policies[-1].append(statement.with_resources(taken))
            used = chars
            pending = pending[len(taken) :]
    packed = tuple(tuple(policy) for policy in policies if policy)
    return PackingResult(packed, sum(policy_chars(p) for p in packed), tuple(oversized))
