"""The synth-time checks of one execution role: small functions over its facts.

Each check takes the :class:`Facts` of a role (its plan and synthesis, what the app grants it,
what the task definitions that use it need) and returns findings; :data:`CHECKS` lists them in
the order their messages are printed. A role whose plan was never sealed (created after its
stack's policies were built) gets one finding and no other check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._cfn import flatten, sort_key
from ._coverage import Cover, FixHint, Gap, StreamPattern, covers_of, find_gaps
from ._features import container_assets_fix
from ._firelens import router_image_fix
from ._guardduty import agent_pull_fix
from ._kinds import Kind, kind_of_action, log_group_elsewhere
from ._names import name_problem, suffixed_secret_name
from ._packing import MANAGED_POLICY_MAX_CHARS

if TYPE_CHECKING:
    from ._plan import Plan
    from ._synthesis import Synthesis

__all__ = [
    "CHECKS",
    "Check",
    "Facts",
    "Finding",
    "Grant",
    "check_containers_kept",
    "check_exact_resources",
    "check_grants_covered",
    "check_no_denies",
    "check_nothing_attached",
    "check_observations",
    "check_policy_count",
    "check_statement_sizes",
    "check_tasks_reach_the_role",
    "errors_of",
]


def _takes(plan: Plan, kind: Kind) -> bool:
    """Whether the role's owner takes the prop of ``kind`` (the aspect takes none): its
    messages name no other."""
    return kind.prop.split("`")[0] in plan.takes


def _owner_fix(plan: Plan) -> FixHint:
    """A gap whose kind's prop the role's owner does not take (the aspect takes no resources):
    the grant goes, or the task definition gets a role that names the resource."""

    def fix(action: str, resource: str) -> str | None:
        kind = kind_of_action(action)
        if kind is None or _takes(plan, kind):
            return None
        prop = kind.prop.split("`")[0]
        return (
            f"{plan.owner} allows what the task definitions need, as their containers show it, "
            "and what its options name; remove the grant, or give the task definition a "
            f"MinimalExecutionRole that names the resource (`{prop}`)"
        )

    return fix


def _suffixed_secret_fix(action: str, resource: str) -> str | None:
    """A grant on a secret named by a partial ARN whose name ends like the random suffix of a
    complete one: no prop can cover it, the import is what must change."""
    if action.lower() not in Kind.SECRET.lowered_actions:
        return None
    problem = suffixed_secret_name(resource)
    return f"it {problem}" if problem is not None else None


def _other_account_log_fix(account: str) -> FixHint:
    """A grant on a log group of another account than the role's (``account``, when written
    out): the awslogs driver writes to the task's own account, so no prop covers it."""

    def fix(action: str, resource: str) -> str | None:
        elsewhere = log_group_elsewhere(resource, account)
        if not action.startswith("logs:") or elsewhere is None:
            return None
        return (
            f"the log group is in account {elsewhere[1]}, and the awslogs driver writes to the "
            f"task's own account ({account}): use a log group of that account, or a log router"
        )

    return fix


def _registry_credentials_fix(credentials: Callable[[], Sequence[tuple[str, str]]]) -> FixHint:
    """A gap on a secret that a container's registry credentials are in.

    :param credentials: each credentials secret (canonical ARN) and the container using it,
        read when a gap on a secret needs it.
    """
    found: list[tuple[str, str]] = []
    read = False

    def fix(action: str, resource: str) -> str | None:
        nonlocal read
        if action not in Kind.SECRET.lowered_actions:
            return None
        if not read:
            found.extend(credentials())
            read = True
        for arn, container in found:
            if resource == arn or resource.startswith(f"{arn}-"):
                return f"add the secret to `registry_credentials` (for {container})"
        return None

    return fix


@dataclass(frozen=True)
class Grant:
    """A statement granted to the role, resolved, and where it came from."""

    statement: dict[str, Any]
    origin: str = ""
    family: str = ""


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a role: a message, or a permission it does not cover."""

    message: str = ""
    gap: Gap | None = None


class Facts:
    """What the checks of one role look at.

    :param synthesis: the plan's synthesis (``None`` while the plan is not sealed).
    :param distinct_grants: the distinct statements granted to the role, resolved.
    :param each_grant: every grant on its own, with its origin (resolved only when a check
        needs to name what made a grant).
    :param registry_credentials: the secrets the containers of the role's task definitions
        name as registry credentials (canonical ARN), each with the container (read only when
        a grant on a secret is not covered).
    :param tasks_via_other_role: the task definitions that name the role through another
        role object, described.
    :param tasks_grown: the task definitions that got a container after the library rendered
        theirs, described.
    :param inline_policies: the paths of inline policies attached to the role.
    :param managed_policies: the ARNs of managed policies attached with ``add_managed_policy``.
    :param resolve: resolves the role's own values at check time.
    :param stream_pattern: the stream pattern of a log group of the stack, by name form.
    """

    def __init__(
        self,
        plan: Plan,
        synthesis: Synthesis | None,
        *,
        distinct_grants: Sequence[dict[str, Any]] = (),
        each_grant: Callable[[], Sequence[Grant]] = tuple,
        registry_credentials: Callable[[], Sequence[tuple[str, str]]] = tuple,
        tasks_via_other_role: Sequence[str] = (),
        tasks_grown: Sequence[str] = (),
        inline_policies: Sequence[str] = (),
        managed_policies: Sequence[str] = (),
        resolve: Callable[[Any], Any] = lambda value: value,
        stream_pattern: StreamPattern = lambda name: name,
    ) -> None:
        self.plan = plan
        self.synthesis = synthesis
        self.distinct_grants = distinct_grants
        self.each_grant = each_grant
        self.registry_credentials = registry_credentials
        self.tasks_via_other_role = tasks_via_other_role
        self.tasks_grown = tasks_grown
        self.inline_policies = inline_policies
        self.managed_policies = managed_policies
        self.resolve = resolve
        self.stream_pattern = stream_pattern

    @cached_property
    def covers(self) -> list[Cover]:
        statements = self.synthesis.statements if self.synthesis else ()
        return covers_of(
            statements, self.plan.needs, self.plan.role_covers, self.resolve, self.stream_pattern
        )

    @cached_property
    def hints(self) -> tuple[FixHint, ...]:
        hints = [hint(self) for prop, hint in _FIX_HINTS if prop in self.plan.takes]
        return (
            _suffixed_secret_fix,
            _other_account_log_fix(self.plan.account),
            *hints,
            _owner_fix(self.plan),
        )

    @cached_property
    def grant_gaps(self) -> list[Gap]:
        """Grants the role does not cover, less those an observation accounts for."""
        gaps = find_gaps(self.distinct_grants, self.covers, hints=self.hints)
        if not gaps:
            return gaps
        # Naming what needs each gap, and excusing what an observation accounts for, takes
        # each grant on its own: only when there are gaps.
        each = self.each_grant()
        statements = [grant.statement for grant in each]
        explained = set().union(*(o.accounted_for(statements) for o in self.plan.observations))
        kept = [grant for index, grant in enumerate(each) if index not in explained]
        return find_gaps(
            [grant.statement for grant in kept],
            self.covers,
            [(grant.origin, grant.family) for grant in kept],
            hints=self.hints,
        )


# Hints for gaps whose fix is not a prop of the resource's kind, by the prop they name, in the
# order they are tried: a role whose owner does not take the prop gets no such hint.
_FIX_HINTS: tuple[tuple[str, Callable[[Facts], FixHint]], ...] = (
    ("firelens_default_router", lambda facts: router_image_fix),
    ("container_assets", lambda facts: container_assets_fix),
    ("registry_credentials", lambda facts: _registry_credentials_fix(facts.registry_credentials)),
    ("guardduty_runtime_monitoring", lambda facts: agent_pull_fix(facts.plan.owner)),
)

Check = Callable[[Facts], list[Finding]]


def check_observations(facts: Facts) -> list[Finding]:
    """What was observed in the app at synth that the role cannot allow."""
    return [Finding(message) for o in facts.plan.observations for message in o.errors]


def check_exact_resources(facts: Facts) -> list[Finding]:
    """Each resource the role names is one resource once resolved: values known only at
    synth (``Lazy``, context, a resource's attribute) pass no check at construction."""
    if facts.synthesis is None:
        return []
    findings = []
    for need in facts.plan.needs:
        resolved = facts.resolve(need.arn)
        text = flatten(resolved, imports=True)
        problem = name_problem(need.kind, text, need.wildcard)
        if problem is None and _holds_policy_variable(resolved):
            problem = "holds '${', which IAM reads as the start of a policy variable"
        if problem is not None:
            findings.append(
                Finding(
                    f"{facts.plan.where}: {need.origin} resolves to the ARN {text}, which "
                    f"{problem}. Name each resource exactly"
                    + (f" (`{need.kind.prop}`)" if _takes(facts.plan, need.kind) else "")
                    + ", for example by importing it by its exact name or ARN."
                )
            )
    return findings


def _holds_policy_variable(resolved: Any) -> bool:
    """Whether literal text of a resolved value holds ``${`` (``flatten`` shows it as ``<``)."""
    if isinstance(resolved, str):
        return "${" in resolved
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        return any(_holds_policy_variable(part) for part in resolved["Fn::Join"][1])
    return False


def check_statement_sizes(facts: Facts) -> list[Finding]:
    """Each statement fits in a managed policy with at least one of its resources."""
    synthesis, plan = facts.synthesis, facts.plan
    if synthesis is None:
        return []
    needs = {need.arn: need for need in plan.needs}
    findings = []
    for statement, resource, chars in synthesis.oversized:
        need = needs.get(resource.value)
        origin = f" for {_shortened(str(need.origin))}" if need is not None else ""
        through = " through the props"
        if need is not None:
            through = f" through `{need.kind.prop}`" if _takes(plan, need.kind) else ""
        findings.append(
            Finding(
                f"{plan.where}: the statement {statement.sid}{origin} takes {chars} characters "
                f"with the one resource {flatten(resource.resolved)} (counted as IAM does, "
                "unresolved parts at their longest), more than a managed policy holds "
                f"({MANAGED_POLICY_MAX_CHARS}). Make it smaller{through}"
                + (
                    ": fewer or shorter tags."
                    if statement.condition and "Tag" in statement.sid
                    else "."
                )
            )
        )
    return findings


def _shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def check_policy_count(facts: Facts) -> list[Finding]:
    """The statements fit in the managed policies the role may have."""
    synthesis, plan = facts.synthesis, facts.plan
    if synthesis is None or synthesis.oversized or synthesis.fits(plan):
        return []
    return [
        Finding(
            f"{plan.where}: the role's statements need {synthesis.total_chars} characters "
            f"(counted as IAM does, unresolved ARNs at their longest), which is "
            f"{synthesis.policy_count} managed policies of {MANAGED_POLICY_MAX_CHARS} "
            f"characters; max_managed_policies is {plan.options.max_managed_policies}. Ways "
            "out: raise the IAM quota of managed policies per role and max_managed_policies "
            "with it, or split the task families over several roles."
        )
    ]


def check_grants_covered(facts: Facts) -> list[Finding]:
    """Every grant aws-cdk-lib or the app makes to the role is covered."""
    return [Finding(gap=gap) for gap in facts.grant_gaps]


def check_tasks_reach_the_role(facts: Facts) -> list[Finding]:
    """Each task definition that uses the role names it as itself: the grants aws-cdk-lib
    makes for it reach the role."""
    where = facts.plan.where
    return [
        Finding(
            f"{where}: {task} uses the execution role through another role object "
            "(without_policy_updates(), or iam.Role.from_role_arn(...) of its ARN), to which "
            "aws-cdk-lib makes the grants the task needs: they never reach this role and "
            "cannot be checked. Pass the construct (or its `role`) as its execution_role."
        )
        for task in facts.tasks_via_other_role
    ]


def check_containers_kept(facts: Facts) -> list[Finding]:
    """No task definition that uses the role got a container after the library rendered its
    containers: aws-cdk-lib renders them once, so the new one would be left out of the
    template without a word."""
    return [
        Finding(
            f"{facts.plan.where}: {task} got a container after the library read its containers "
            "to build the role (an aspect added it once the library's finalizer had run); "
            "aws-cdk-lib renders a task definition's containers once, so the new container "
            "would be missing from the template. Add the container while building the app, or "
            "give the task definition a role that does not derive (derive=False, naming the "
            "container's resources in the props), which leaves the rendering to synthesis."
        )
        for task in facts.tasks_grown
    ]


def check_nothing_attached(facts: Facts) -> list[Finding]:
    """No policy reaches the role through the role object but its own: the role takes its
    permissions from its props and derivation only, and its managed policies count toward the
    quota. (A policy that names the role from its own side is found in the templates:
    ``_verify``.)"""
    ways = (
        *(f"the inline policy {path} is attached to" for path in facts.inline_policies),
        *(
            f"the managed policy {arn} is attached with add_managed_policy() to"
            for arn in facts.managed_policies
        ),
    )
    return [
        Finding(
            f"{facts.plan.where}: {what} the execution role, which takes its permissions only "
            "from its props and what the task definitions that use it need. Pass the resources "
            "through the props, or attach the policy to the task role."
        )
        for what in ways
    ]


def check_no_denies(facts: Facts) -> list[Finding]:
    """A Deny granted to the role is not kept silently: the role's policies hold only
    Allow statements, so a Deny belongs in its permissions boundary."""
    return [
        Finding(
            f"{facts.plan.where}: a Deny statement was added to the execution role "
            f"({_shortened(sort_key(grant))}); its policies hold only what ECS needs, so it "
            "would be dropped. Put it in a managed policy of the app passed as "
            "permissions_boundary, which limits the role whatever its policies allow, and let "
            "that policy allow what ECS needs too (a boundary of Deny statements only allows "
            "nothing; the verification of the templates evaluates the role's needs through it)."
        )
        for grant in facts.distinct_grants
        if grant.get("Effect") == "Deny"
    ]


CHECKS: tuple[Check, ...] = (
    check_observations,
    check_exact_resources,
    check_statement_sizes,
    check_policy_count,
    check_grants_covered,
    check_tasks_reach_the_role,
    check_containers_kept,
    check_nothing_attached,
    check_no_denies,
)


def errors_of(facts: Facts) -> list[str]:
    """The messages of every check of one role; a role's gaps form one message."""
    plan = facts.plan
    if not plan.sealed:
        return [
            f"{plan.where}: the role was created after its policies were built (by an "
            "aspect?); create it while building the app, before synthesis."
        ]
    errors: list[str] = []
    gaps: list[Gap] = []
    gaps_at = 0
    for check in CHECKS:
        for finding in check(facts):
            if finding.gap is None:
                errors.append(finding.message)
                continue
            if not gaps:
                gaps_at = len(errors)
            gaps.append(finding.gap)
    if gaps:
        errors.insert(gaps_at, _gaps_message(plan, gaps))
    return errors


def _gaps_message(plan: Plan, gaps: Sequence[Gap]) -> str:
    lines = [
        f"{plan.where}: the execution role does not cover {len(gaps)} permission(s) "
        "that the app grants to it (it grants nothing by itself, so ECS would be denied):"
    ]
    # One line per resource, fix and origin, with every action missing on it.
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for gap in gaps:
        actions = grouped.setdefault((gap.resource, gap.fix, gap.origin, gap.family), [])
        if gap.action not in actions:
            actions.append(gap.action)
    for (resource, fix, origin, family), actions in grouped.items():
        line = f"  - {Gap(', '.join(actions), resource, fix, origin=origin).describe()}"
        if family in plan.families:
            line += f"; the family is registered: add it with add_family({family!r}, ...)"
        lines.append(line)
    return "\n".join(lines)
