"""What the role allows, matched against what the app grants it and its tasks need.

Pure functions over resolved CloudFormation values: the role's statements become covers
(action, resource pattern) in the canonical form of ``_cfn.canonical``; grants and the needs
read from task definitions are matched against them, and what is not covered is a gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._cfn import canonical, display, flatten
from ._kinds import ECS_EXECUTION_ACTIONS, LOGS_WRITE_ACTIONS, ecs_subset, glob, kind_of_action

if TYPE_CHECKING:
    from ._needs import Need
    from ._statements import Statement

__all__ = [
    "Cover",
    "CoverIndex",
    "FixHint",
    "Gap",
    "StreamPattern",
    "covers_of",
    "find_gaps",
]

# How to fix a gap on (lower-case action, canonical resource), where the kind's prop is not
# the answer; ``None`` when the hint does not apply.
FixHint = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class Cover:
    """One (action, resource pattern) the role allows.

    :param action: lower-case action name.
    :param pattern: the resource in canonical form (see ``_cfn.canonical``); ``*`` and ``?``
        are IAM wildcards.
    :param grants_only: covers a coarse grant that aws-cdk-lib makes (for example a whole log
        group) whose precise use is checked through the task definitions instead.
    """

    action: str
    pattern: str
    grants_only: bool = False


@dataclass(frozen=True)
class Gap:
    action: str
    resource: str
    fix: str
    # The resource in canonical form, to tell whether two gaps are about the same thing.
    pattern: str = ""
    # What needs it: a task family, a container.
    origin: str = ""
    # The task definition family that needs it, when known.
    family: str = ""

    def describe(self) -> str:
        needed_by = f" (needed by {self.origin})" if self.origin else ""
        return f"{self.action} on {self.resource}: {self.fix}{needed_by}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class CoverIndex:
    """Covers arranged for fast lookup, per action: exact resources in sets, ``prefix*``
    patterns as prefixes, ``name??????`` patterns (a secret's random suffix) by their fixed
    part and length, any other wildcard pattern as a regular expression.

    A shared role checks every grant against every resource it names; a linear scan grows
    with the square of the number of task families.
    """

    def __init__(self, covers: Iterable[Cover]) -> None:
        self._exact: dict[str, set[str]] = {}
        self._prefixes: dict[str, list[str]] = {}
        self._suffixed: dict[str, set[tuple[str, int]]] = {}
        self._globs: dict[str, list[re.Pattern[str]]] = {}
        for cover in covers:
            pattern = cover.pattern
            fixed = pattern.rstrip("?")
            if pattern == "*":
                self._prefixes.setdefault(cover.action, []).append("")
            elif "?" not in pattern and pattern.find("*") == len(pattern) - 1:
                self._prefixes.setdefault(cover.action, []).append(pattern[:-1])
            elif fixed != pattern and "?" not in fixed and "*" not in fixed:
                unknown = len(pattern) - len(fixed)
                self._suffixed.setdefault(cover.action, set()).add((fixed, unknown))
            elif "*" in pattern or "?" in pattern:
                self._globs.setdefault(cover.action, []).append(glob(pattern))
            else:
                self._exact.setdefault(cover.action, set()).add(pattern)
        self._prefix_tuples = {action: tuple(p) for action, p in self._prefixes.items()}
        self._suffix_lengths = {
            action: sorted({unknown for _, unknown in entries})
            for action, entries in self._suffixed.items()
        }

    def allows(self, action: str, resource: str) -> bool:
        if resource in self._exact.get(action, ()):
            return True
        prefixes = self._prefix_tuples.get(action)
        if prefixes and resource.startswith(prefixes):
            return True
        suffixed = self._suffixed.get(action)
        if suffixed and any(
            len(resource) >= unknown and (resource[: len(resource) - unknown], unknown) in suffixed
            for unknown in self._suffix_lengths[action]
        ):
            return True
        return any(glob.fullmatch(resource) for glob in self._globs.get(action, ()))


# A log group's ARN as the template has it, flattened: Fn::GetAtt of a log group of the stack
# (<LogicalId.Arn>), or the parameter a nested stack receives it by (<referenceto...Arn>, whose
# name twin <referenceto...Ref> carries the log group's name).
_GET_ATT_ARN = re.compile(r"^<([A-Za-z0-9]+)\.Arn>$")
_NESTED_ARN_PARAMETER = re.compile(r"^<(referenceto[A-Za-z0-9]+)Arn>$")


def _flat_log_group_name_form(flat_arn: str) -> str | None:
    """How awslogs options name the log group whose flattened ARN is ``flat_arn``."""
    match = _GET_ATT_ARN.match(flat_arn)
    if match:
        return f"<{match[1]}>"
    match = _NESTED_ARN_PARAMETER.match(flat_arn)
    if match:
        return f"<{match[1]}Ref>"
    return None


def _log_group_name_form(resolved: Any) -> str | None:
    if isinstance(resolved, dict) and ("Fn::GetAtt" in resolved or "Ref" in resolved):
        return _flat_log_group_name_form(flatten(resolved))
    return None


# The streams of the stack's log group named ``name``, as task definitions' needs spell it.
StreamPattern = Callable[[str], str]


def covers_of(
    statements: Sequence[Statement],
    needs: Sequence[Need],
    extra: Sequence[Cover],
    resolve: Callable[[Any], Any],
    stream_pattern: StreamPattern,
) -> list[Cover]:
    """What the role allows, in the form grants and task definitions have at synth.

    :param extra: what the role allows besides its statements (an AWS managed policy).
    :param resolve: resolves at check time, after aws-cdk-lib has prepared the app: a
        resource of a parent stack is then a parameter of a nested stack, for example.
    :param stream_pattern: the stream pattern of a log group of the stack, by its name form.
    """
    covers = list(extra)
    for statement in statements:
        actions = [action.lower() for action in statement.actions]
        writes_logs = statement.actions == LOGS_WRITE_ACTIONS
        for resource in statement.resources:
            resolved = resolve(resource.value)
            patterns = [canonical(resolved)]
            name = _log_group_name_form(resolved) if writes_logs else None
            if name is not None:
                # awslogs options name the log group by name: cover that spelling too.
                patterns.append(stream_pattern(name))
            covers.extend(Cover(action, pattern) for action in actions for pattern in patterns)
    for need in needs:
        for alias in need.grant_aliases:
            pattern = canonical(resolve(alias))
            covers.extend(
                Cover(action.lower(), pattern, grants_only=True) for action in need.kind.actions
            )
    return covers


class _Gaps:
    def __init__(self) -> None:
        self.gaps: list[Gap] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, gap: Gap) -> None:
        key = (gap.action, gap.resource, gap.origin)
        if key not in self._seen:
            self._seen.add(key)
            self.gaps.append(gap)


def find_gaps(
    grants: Sequence[dict[str, Any]],
    covers: Sequence[Cover],
    origins: Sequence[tuple[str, str]] = (),
    hints: Sequence[FixHint] = (),
) -> list[Gap]:
    """The (action, resource) pairs of resolved grant statements that ``covers`` do not allow.

    Only the actions ECS uses with an execution role count: ``secretsmanager:DescribeSecret``
    from ``grant_read`` is never called by ECS, so a grant is covered by its ECS subset. A grant
    with no ECS action at all belongs to the task role and is reported as a gap.
    """
    index_of_covers = CoverIndex(covers)
    gaps = _Gaps()
    for index, grant in enumerate(grants):
        origin, family = origins[index] if index < len(origins) else ("", "")
        if grant.get("Effect", "Allow") != "Allow":
            continue
        resources = _as_list(grant.get("Resource"))
        if "NotAction" in grant or "NotResource" in grant:
            gaps.add(
                Gap(
                    "NotAction/NotResource",
                    display(grant),
                    "grant explicit actions on explicit resources",
                )
            )
            continue
        actions = [str(action) for action in _as_list(grant.get("Action"))]
        subset = ecs_subset(actions)
        if not subset:
            for resource in resources:
                gaps.add(
                    Gap(
                        ", ".join(actions),
                        flatten(resource),
                        "ECS never uses these actions with the execution role; grant them to "
                        "the task definition's task_role, which the application uses",
                        origin=origin,
                        family=family,
                    )
                )
            continue
        for action in subset:
            for resource in resources:
                text = canonical(resource)
                if not index_of_covers.allows(action, text):
                    name = ECS_EXECUTION_ACTIONS[action]
                    fix = _fix(action, text, hints)
                    gaps.add(Gap(name, flatten(resource), fix, text, origin, family))
    return gaps.gaps


def _fix(action: str, resource: str, hints: Sequence[FixHint]) -> str:
    for hint in hints:
        fix = hint(action, resource)
        if fix is not None:
            return fix
    kind = kind_of_action(action)
    return f"add the resource to `{kind.prop if kind else 'a prop of the construct'}`"
