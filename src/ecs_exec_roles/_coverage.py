"""The synth-time check that the role covers every grant made to it.

aws-cdk-lib grants the execution role what a task definition needs (image pulls, log writes,
secrets, parameters) through ``add_to_principal_policy``. The role records those statements
instead of adding them, so CDK never widens it, and at synth each recorded grant is compared
with what the role allows: CDK's own knowledge of the task definition is the oracle.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from ._cfn import canonical, display
from ._statements import ACTION_PROPS, ECR_PULL_ACTIONS, ECS_EXECUTION_ACTIONS
from ._task_definitions import TaskNeed

__all__ = [
    "Cover",
    "CoverIndex",
    "Gap",
    "RecordedGrant",
    "RecordingRole",
    "find_gaps",
    "find_task_gaps",
]


def _granting_task_definition() -> ecs.TaskDefinition | None:
    """The task definition whose container aws-cdk-lib is building while it grants.

    CDK grants while ``add_container`` (or a ``ContainerDefinition`` constructor) runs; the
    Python frames of that call hold the task definition, so a gap can name the task family
    that needs it.
    """
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        # Reading a frame's locals copies them; only frames of aws-cdk-lib's ECS wrappers
        # can hold the task definition.
        if frame.f_code.co_filename.endswith(_ECS_MODULE_FILE):
            local_values = frame.f_locals
            for name in ("self", "task_definition", "task"):
                value = local_values.get(name)
                if isinstance(value, ecs.TaskDefinition):
                    return value
        frame = frame.f_back
    return None


_ECS_MODULE_FILE = str(Path("aws_cdk") / "aws_ecs" / "__init__.py")


# Frames between the grant and the user's add_container call: jsii's callback machinery
# and aws-cdk-lib's Python wrappers, a dozen or so.
_MAX_FRAMES = 40


@dataclass(frozen=True)
class RecordedGrant:
    """A statement aws-cdk-lib or user code granted to the role, and where it came from."""

    statement: iam.PolicyStatement
    task_definition: ecs.TaskDefinition | None

    @property
    def family(self) -> str:
        task = self.task_definition
        if task is None or cdk.Token.is_unresolved(task.family):
            return ""
        return str(task.family)

    @property
    def origin(self) -> str:
        task = self.task_definition
        if task is None:
            return ""
        family = task.family
        if cdk.Token.is_unresolved(family):
            return f"task definition {task.node.path}"
        return f"task family {family!r} ({task.node.path})"


class RecordingRole(iam.Role):
    """An ``iam.Role`` that records grants instead of adding them to a default policy."""

    def __init__(
        self, scope: Construct, id: str, *, grant_dependable: IDependable, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        # The owning construct is the dependable: depending on it waits for the role and for
        # every policy built for it at synth. One result serves every grant.
        self._grant_result = iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=grant_dependable
        )
        self.recorded_grants: list[RecordedGrant] = []
        self.attached_inline_policies: list[iam.Policy] = []

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self.recorded_grants.append(RecordedGrant(statement, _granting_task_definition()))
        return self._grant_result

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return bool(self.add_to_principal_policy(statement).statement_added)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        # An inline policy would widen the role behind the construct's back; it is reported
        # at synth rather than attached.
        self.attached_inline_policies.append(policy)


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


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


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
                self._globs.setdefault(cover.action, []).append(_glob(pattern))
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


def _ecs_subset(actions: Iterable[str]) -> list[str]:
    subset: list[str] = []
    for action in actions:
        lower = action.lower()
        if "*" not in lower and "?" not in lower:
            if lower in ECS_EXECUTION_ACTIONS and lower not in subset:
                subset.append(lower)
            continue
        pattern = _glob(lower)
        subset.extend(
            sorted(a for a in ECS_EXECUTION_ACTIONS if pattern.fullmatch(a) and a not in subset)
        )
    return subset


_ECR_PULL = frozenset(a.lower() for a in ECR_PULL_ACTIONS)


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
        subset = _ecs_subset(actions)
        if not subset:
            for resource in resources:
                gaps.add(
                    Gap(
                        ", ".join(actions),
                        display(resource),
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
                    prop = ACTION_PROPS.get(action, "a prop of the construct")
                    name = ECS_EXECUTION_ACTIONS[action]
                    fix = f"add the resource to `{prop}`"
                    if text == "*" and action in _ECR_PULL:
                        fix = (
                            "this role names repositories, never '*'; aws-cdk-lib grants ECR "
                            "on '*' for its default FireLens log router: pass "
                            "firelens_default_router=True (pulls from the aws-for-fluent-bit "
                            "repository of the region only), or add the router with "
                            "task.add_firelens_log_router(...) and an image from a repository "
                            "in `repositories` (or from public.ecr.aws)"
                        )
                    gaps.add(Gap(name, display(resource), fix, text, origin, family))
    return gaps.gaps


def find_task_gaps(
    needs: Sequence[TaskNeed], covers: Sequence[Cover], grant_gaps: Sequence[Gap] = ()
) -> list[Gap]:
    """The needs read from task definitions that ``covers`` do not allow.

    A need inside a resource already reported from a grant (a log stream of a log group that
    CDK granted) is not reported twice.
    """
    precise = CoverIndex(cover for cover in covers if not cover.grants_only)
    reported = CoverIndex(
        Cover(gap.action.lower(), gap.pattern) for gap in grant_gaps if gap.pattern
    )
    gaps = _Gaps()
    for need in needs:
        text = canonical(need.resource)
        action = need.action.lower()
        if reported.allows(action, text):
            continue
        if not precise.allows(action, text):
            gaps.add(
                Gap(
                    need.action,
                    display(need.resource),
                    f"add the resource to `{need.prop}`",
                    text,
                    str(need.origin),
                    need.family,
                )
            )
    return gaps.gaps
