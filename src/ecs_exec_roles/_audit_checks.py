"""The checks of the audit (``_audit``): one role of any app, the needs of the task
definitions that use it, and what its policies and trust policy allow.

Every finding is decided by the IAM evaluator (``_evaluate``) over the role's policies as the
templates have them: a need not allowed is ``missing``, a grant no need asks for is
``excess`` (``not_contained`` against exactly the requests ECS makes), and the trust policy
is read for ``ecs-tasks.amazonaws.com``, its confused-deputy conditions, and whether they let
ECS assume the role for each task's account and region.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._assembly import Assembly
from ._aws_managed import AWS_MANAGED_POLICIES, aws_managed_name
from ._evaluate import (
    Decision,
    action_matches,
    glob_match,
    not_contained,
    statements_of,
)
from ._kinds import ECS_EXECUTION_ACTIONS
from ._reader import TaskRead
from ._recommend import granted_requests
from ._requests import LaunchNeed
from ._role_view import RoleView
from ._symbols import PLACEHOLDER
from ._template import Template
from ._trust import ASSUME_ROLE_ACTION, ECS_TASKS_SERVICE

__all__ = [
    "CATEGORIES",
    "JOB_DEFINITION",
    "AuditFinding",
    "RoleFacts",
    "TaskFacts",
    "excess_findings",
    "inline_findings",
    "missing_findings",
    "roleless_findings",
    "task_role_findings",
    "trust_findings",
    "unverified_findings",
]

#: The categories of findings, in the order reports list them.
CATEGORIES = ("missing", "excess", "trust", "inline", "unverified")

_REPLACE = "Give the role the recommended policy (below), which allows exactly what its tasks need."
_CONFUSED_DEPUTY_KEYS = ("aws:SourceAccount", "aws:SourceArn")
_INLINE_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy")
_TASK_DEFINITION_TYPE = "AWS::ECS::TaskDefinition"
# How a task definition without an execution role is named where a role would be.
_NO_ROLE = "(no execution role)"
# How ``_role_view`` names the task definition of an AWS Batch job definition.
JOB_DEFINITION = "job definition"


@dataclass(frozen=True)
class AuditFinding:
    """One thing the audit found about an execution role.

    :param category: one of :data:`CATEGORIES`.
    :param rule: the rule, with the exact finding in brackets.
    :param template: the template of the resource it is about (``""``: none audited).
    :param logical_id: that resource.
    """

    category: str
    rule: str
    message: str
    fix: str
    template: str
    logical_id: str


@dataclass(frozen=True)
class TaskFacts:
    """A task definition that uses the role: as messages name it, where it runs, what its
    containers need."""

    described: str
    kind: str
    template: Template
    logical_id: str
    partition: str
    region: str
    account: str
    read: TaskRead
    needs: list[LaunchNeed]


class RoleFacts:
    """A role (``view``; ``None`` for one outside the templates, named by ``text``) and the
    task definitions that use it."""

    def __init__(self, assembly: Assembly, view: RoleView | None, text: str) -> None:
        self.assembly = assembly
        self.view = view
        self.text = text
        self.role = (
            view.record.where
            if view is not None
            else assembly.symbols.display(text)
            if text
            else _NO_ROLE
        )
        self.tasks: list[TaskFacts] = []

    def add_task(
        self,
        described: str,
        kind: str,
        template: Template,
        logical_id: str,
        read: TaskRead,
        needs: list[LaunchNeed],
    ) -> None:
        pseudo = self.assembly.pseudo
        self.tasks.append(
            TaskFacts(
                described,
                kind,
                template,
                logical_id,
                pseudo(template, "AWS::Partition"),
                pseudo(template, "AWS::Region"),
                pseudo(template, "AWS::AccountId"),
                read,
                needs,
            )
        )

    def show(self, value: Any) -> str:
        return self.assembly.symbols.display(value)

    def finding(
        self,
        category: str,
        rule: str,
        message: str,
        fix: str,
        where: tuple[str, str] | None = None,
    ) -> AuditFinding:
        if where is None:
            where = (
                (self.view.template.path, self.view.logical_id)
                if self.view is not None
                else (self.tasks[0].template.path, self.tasks[0].logical_id)
            )
        return AuditFinding(category, rule, f"{self.role}: {message}", fix, *where)

    def policy_not_evaluated(self, reason: str) -> AuditFinding:
        return self.finding(
            "unverified",
            f"PolicyNotEvaluated[{reason}]",
            f"a policy of the role cannot be evaluated ({reason}), so neither what it misses "
            "nor what it allows beyond its tasks' needs is decided.",
            _REPLACE,
        )

    @property
    def used_by_batch(self) -> bool:
        """Whether an AWS Batch job definition uses the role: Batch does not document that
        its tasks carry the confused-deputy keys (``_batch``), so they are not asked for."""
        return any(task.kind == JOB_DEFINITION for task in self.tasks)

    @property
    def unreadable(self) -> bool:
        return any(task.read.unreadable for task in self.tasks)

    @property
    def unknown_managed(self) -> list[str]:
        """The role's AWS managed policies the library does not know, by name."""
        if self.view is None:
            return []
        names = (aws_managed_name(arn) for arn in self.view.managed_policy_arns)
        return [name for name in names if name is not None and name not in AWS_MANAGED_POLICIES]


def unverified_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """What the audit cannot decide: a role outside the templates, values the templates do
    not tell, policies and boundaries it cannot read."""
    view = facts.view
    if view is None:
        tasks = ", ".join(task.described for task in facts.tasks)
        verb = "uses" if len(facts.tasks) == 1 else "use"
        yield facts.finding(
            "unverified",
            f"RoleOutsideTemplates[{facts.role}]",
            f"{tasks} {verb} this execution role, {_made_by(facts)}, so what it allows is not "
            "known.",
            "Audit the templates that define the role as well (or give its ARN with "
            "--parameter, for a parameter), or compare its policy with the recommended one.",
        )
    for task in facts.tasks:
        for item in task.read.unreadable:
            yield facts.finding(
                "unverified",
                f"UnreadableValue[{item.container}::{item.what}]",
                f"container {item.container!r} of {task.described} has the {item.what} "
                f"{item.text}, whose resource the templates do not tell: what it needs is not "
                "checked, and what the role allows for it may show as excess.",
                "Give the value the template is deployed with (--parameter NAME=VALUE for a "
                "parameter), or name the resource in the template.",
            )
    if view is None:
        return
    for name in facts.unknown_managed:
        yield facts.finding(
            "unverified",
            f"ManagedPolicyNotEvaluated[{name}]",
            f"the role has the AWS managed policy {name}, whose content the audit does not "
            "know: what it allows is not evaluated (a missing permission may be allowed by "
            "it; what it allows beyond the tasks' needs is not shown).",
            _REPLACE,
        )
    for arn in view.managed_policy_arns:
        if aws_managed_name(arn) is None and (
            view.assembly.resource_of(arn, "AWS::IAM::ManagedPolicy") is None
        ):
            shown = facts.show(arn)
            yield facts.finding(
                "unverified",
                f"PolicyNotEvaluated[{shown}]",
                f"the role has the managed policy {shown}, which none of the templates "
                "audited defines: what it allows is not evaluated.",
                "Audit the templates that define the policy as well. " + _REPLACE,
            )
    if view.boundary_arn is not None and view.boundary is None:
        shown = facts.show(view.boundary_arn)
        yield facts.finding(
            "unverified",
            f"BoundaryNotEvaluated[{shown}]",
            f"the role's permissions boundary {shown} is not a managed policy of the "
            "templates audited: whether it lets ECS do what the tasks need is not checked.",
            "Audit the templates that define the boundary as well.",
        )


def roleless_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """A task definition without an execution role whose containers need one: ECS makes its
    calls with the execution role, so without one the task does not start."""
    for task in facts.tasks:
        needs = sorted({need.what for need in task.needs})
        if needs:
            yield facts.finding(
                "missing",
                f"ExecutionRoleMissing[{task.described}]",
                f"{task.described} has no execution role, but ECS needs one for its "
                f"containers ({', '.join(needs)}): it would fail to start the task.",
                "Give the task definition an execution role (ExecutionRoleArn) with the "
                "recommended policy and trust policy.",
                (task.template.path, task.logical_id),
            )


def _made_by(facts: RoleFacts) -> str:
    """Why the templates do not show a role: what its ARN comes from."""
    unknowns = list(facts.assembly.symbols.unknowns(facts.text))
    made = sorted({u.resource_type for u in unknowns if u.resource_type})
    if made:
        return f"whose ARN comes from a resource of type {', '.join(made)}"
    if any(u.key[0] == "parameter" for u in unknowns):
        return "whose ARN is a parameter of the template"
    return "which none of the templates audited defines"


def missing_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """Each request ECS makes at launch that the role does not allow."""
    assert facts.view is not None
    evaluator = facts.view.evaluator
    unknown = facts.unknown_managed
    for task in facts.tasks:
        grouped: dict[tuple[str, str, str], tuple[LaunchNeed, list[str]]] = {}
        for need in task.needs:
            for request in need.requests:
                if evaluator.evaluate(request) is Decision.ALLOW:
                    continue
                entry = grouped.setdefault((need.container, need.resource, need.what), (need, []))
                if request.action not in entry[1]:
                    entry[1].append(request.action)
        for need, actions in grouped.values():
            resource, shown = facts.show(need.resource), ", ".join(actions)
            unless = f" (unless {', '.join(unknown)}, not evaluated, allows it)" if unknown else ""
            yield facts.finding(
                "missing",
                f"MissingPermission[{shown}::{resource}]",
                f"container {need.container!r} of {task.described} needs {shown} on "
                f"{resource} for {need.what}, which the role does not allow{unless}: ECS "
                "would fail to start the task.",
                _REPLACE,
            )


def _policy_sources(view: RoleView) -> Iterator[tuple[str, tuple[str, str], bool, Any]]:
    """Each policy of the role: how messages name it, where it is, whether it is inline,
    and its document (resolved)."""
    assembly, own = view.assembly, (view.template.path, view.logical_id)
    for policy in view.properties.get("Policies") or []:
        if isinstance(policy, dict):
            name = assembly.text(view.template, policy.get("PolicyName")) or "?"
            document = assembly.resolve(view.template, policy.get("PolicyDocument"))
            yield f"the inline policy {name!r}", own, True, document
    for template, logical_id, document in view.attached:
        inline = template.resource_type(logical_id) in _INLINE_TYPES
        label = assembly.label(template, logical_id)
        what = "the inline policy" if inline else "the managed policy"
        resolved = assembly.resolve(template, document)
        yield f"{what} {label}", (template.path, logical_id), inline, resolved
    for template, logical_id, document in view.managed_of_assembly:
        label = assembly.label(template, logical_id)
        resolved = assembly.resolve(template, document)
        yield f"the managed policy {label}", (template.path, logical_id), False, resolved
    for managed in view.record.aws_managed_policies:
        document = {
            "Statement": [{"Effect": "Allow", "Action": list(managed.actions), "Resource": "*"}]
        }
        yield f"the AWS managed policy {managed.name}", own, False, document


def excess_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """What each policy of the role allows beyond exactly the requests of its tasks."""
    assert facts.view is not None
    allowed = list(
        {
            (request.action, request.resource): {
                "Effect": "Allow",
                "Action": request.action,
                "Resource": request.resource,
            }
            for task in facts.tasks
            for need in task.needs
            for request in granted_requests(need)
        }.values()
    )
    maybe = (
        " (a value the templates do not tell may need part of it: see UnreadableValue)"
        if facts.unreadable
        else ""
    )
    for source, where, _, document in _policy_sources(facts.view):
        by_action: dict[str, list[str]] = {}
        for statement in statements_of(document if isinstance(document, Mapping) else {}):
            for action, resource in not_contained(statement, allowed):
                resources = by_action.setdefault(action, [])
                if resource not in resources:
                    resources.append(resource)
        for action, resources in by_action.items():
            shown = ", ".join(facts.show(resource) for resource in resources)
            if action.lower() in ECS_EXECUTION_ACTIONS:
                rule = f"ExcessResource[{action}::{shown}]"
                why = "beyond the resources the role's task definitions need it for"
            else:
                rule = f"ExcessAction[{action}]"
                why = "which ECS never calls to start a task"
            yield facts.finding(
                "excess",
                rule,
                f"{source} allows {action} on {shown}, {why}{maybe}.",
                _REPLACE,
                where,
            )


def task_role_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """The role is also a task role: the containers get what ECS needs (every secret, every
    pull), and ECS what the containers need."""
    view = facts.view
    assert view is not None
    for template in view.assembly.templates:
        for logical_id in template.resources:
            if template.resource_type(logical_id) != _TASK_DEFINITION_TYPE:
                continue
            role = template.properties(logical_id).get("TaskRoleArn")
            if role is not None and view.names_role(view.assembly.text(template, role)):
                label = view.assembly.label(template, logical_id)
                yield facts.finding(
                    "excess",
                    f"AlsoTaskRole[{label}]",
                    f"the role is also the task role of {label}: its containers can call "
                    "AWS with everything the execution role allows, and ECS with everything "
                    "they need.",
                    "Give the task definition a task role of its own, with only what its "
                    "containers call.",
                )


def inline_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """Each policy embedded in the role: it cannot be reviewed, versioned or reused apart
    from the role."""
    assert facts.view is not None
    for source, where, inline, _ in _policy_sources(facts.view):
        if inline:
            yield facts.finding(
                "inline",
                f"InlinePolicy[{source.removeprefix('the inline policy ')}]",
                f"{source} is embedded in the role; a customer managed policy can be "
                "reviewed, versioned and attached on its own.",
                "Put the recommended policy in an AWS::IAM::ManagedPolicy and attach it with "
                "ManagedPolicyArns.",
                where,
            )


def trust_findings(facts: RoleFacts) -> Iterator[AuditFinding]:
    """The trust policy lets ECS assume the role, with the confused-deputy conditions, for
    each task's account and region."""
    view = facts.view
    assert view is not None
    document = view.assembly.resolve(view.template, view.record.trust)
    statements = [
        statement
        for statement in statements_of(document if isinstance(document, Mapping) else {})
        if _trusts_ecs_tasks(statement)
    ]
    fix = f"Let {ECS_TASKS_SERVICE} assume the role with the recommended trust policy (below)."
    if not statements:
        tasks = ", ".join(task.described for task in facts.tasks)
        yield facts.finding(
            "missing",
            f"TrustMissing[{ECS_TASKS_SERVICE}]",
            f"the role's trust policy does not let {ECS_TASKS_SERVICE} assume it: ECS would "
            f"fail to start {tasks}.",
            fix,
        )
        return
    for statement in statements if not facts.used_by_batch else ():
        keys = _condition_keys(statement)
        absent = [key for key in _CONFUSED_DEPUTY_KEYS if key.lower() not in keys]
        if absent:
            yield facts.finding(
                "trust",
                f"TrustWithoutConditions[{', '.join(absent)}]",
                f"the role's trust policy lets {ECS_TASKS_SERVICE} assume it without "
                f"{' and '.join(absent)}: ECS acting for another account could be made to "
                "use it (the confused deputy).",
                fix,
            )
    for task in facts.tasks:
        if not any(_lets_task(statement, task) for statement in statements):
            yield facts.finding(
                "missing",
                f"TrustDeniesTask[{task.described}]",
                f"the role's trust policy does not let ECS assume it for {task.described}, in "
                f"account {facts.show(task.account)} and region {facts.show(task.region)}: "
                "ECS would fail to start the task.",
                fix,
            )


def _trusts_ecs_tasks(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    services = services if isinstance(services, list) else [services]
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    return (
        statement.get("Effect") == "Allow"
        and ECS_TASKS_SERVICE in services
        and any(isinstance(a, str) and action_matches(a, ASSUME_ROLE_ACTION) for a in actions)
    )


def _condition_keys(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """The statement's condition keys (lower case), each with its values."""
    keys: dict[str, list[str]] = {}
    condition = statement.get("Condition")
    for entries in (condition or {}).values() if isinstance(condition, Mapping) else ():
        for key, values in (entries or {}).items() if isinstance(entries, Mapping) else ():
            values = values if isinstance(values, list) else [values]
            keys.setdefault(key.lower(), []).extend(str(value) for value in values)
    return keys


def _lets_task(statement: Mapping[str, Any], task: TaskFacts) -> bool:
    """Whether the statement's ``aws:SourceAccount`` and ``aws:SourceArn`` hold for a task
    of its account and region (a value the templates do not tell holds)."""
    keys = _condition_keys(statement)

    def fits(pattern: str, value: str) -> bool:
        return bool(PLACEHOLDER.search(value) or PLACEHOLDER.search(pattern)) or glob_match(
            pattern, value
        )

    accounts = keys.get("aws:sourceaccount")
    if accounts and not any(fits(account, task.account) for account in accounts):
        return False
    arns = keys.get("aws:sourcearn")
    parts = (task.partition, "ecs", task.region, task.account)
    return not arns or any(
        len(arn.split(":")) >= 6
        and all(fits(p, v) for p, v in zip(arn.split(":")[1:5], parts, strict=True))
        for arn in arns
    )
