"""The audit: every execution role of any app's templates, against what its tasks need.

For the templates of a cloud assembly or plain CloudFormation (``_sources``), each task
definition that names an execution role (and each other consumer the verification reads:
AWS Batch job definitions, Express Mode services, RunTask overrides; ``_role_view``) is read
by the one reader of what a task needs (``_reader``, ``_requests``), and its role by the IAM
evaluator (``_evaluate``) over every policy that reaches it: inline, attached from their side,
customer managed anywhere in the templates, and the AWS managed policies the library knows
(``_aws_managed``). The findings, by category:

- ``missing``: a request ECS makes at launch that the role does not allow, a trust policy
  that does not let ECS assume the role for the task's account and region, or a task
  definition whose containers need an execution role and that names none: the task would not
  start.
- ``excess``: what the role allows beyond what its tasks need (``_evaluate.not_contained``):
  an action ECS never calls for a task, or an ECS action on resources the tasks do not name;
  and a role that is also a task role.
- ``trust``: a trust policy that lets ECS assume the role without ``aws:SourceAccount`` and
  ``aws:SourceArn`` (the confused-deputy conditions).
- ``inline``: a policy embedded in the role (``Policies``, ``AWS::IAM::Policy``,
  ``AWS::IAM::RolePolicy``) rather than a customer managed one.
- ``unverified``: what the audit cannot decide and says so: a role outside the templates, a
  policy or boundary it cannot read, an AWS managed policy it does not know, a value the
  templates do not tell.

Each role also gets the policy and trust policy it should have (``_recommend``). The audit
reads templates only: no aws-cdk-lib, no Node process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._assembly import Assembly
from ._audit_checks import (
    AuditFinding,
    RoleFacts,
    excess_findings,
    inline_findings,
    missing_findings,
    roleless_findings,
    task_role_findings,
    trust_findings,
    unverified_findings,
)
from ._aws_managed import AWS_MANAGED_POLICIES, aws_managed_name
from ._evaluate import UnsupportedPolicyError
from ._reader import read_containers
from ._recommend import recommended_policy, recommended_trust
from ._requests import task_requests
from ._role_view import (
    AwsManagedDocument,
    RoleRecord,
    RoleView,
    TaskDefinition,
    describe_task_definition,
    resource_name,
    task_definitions,
)
from ._template import Template

__all__ = ["RoleAudit", "audit"]


@dataclass
class RoleAudit:
    """An execution role, the task definitions that use it, what is wrong with it, and the
    policies it should have.

    :param role: the role as messages name it (its construct path, else its logical ID).
    :param arn: its ARN as the templates give it (unknown parts as ``<...>``).
    :param template: its template (``""`` for a role outside the templates audited).
    """

    role: str
    arn: str
    template: str
    logical_id: str
    tasks: list[str]
    policy: dict[str, Any]
    trust: dict[str, Any]
    findings: list[AuditFinding] = field(default_factory=list)


def audit(assembly: Assembly) -> list[RoleAudit]:
    """Every execution role the assembly's task definitions name, audited, in the order the
    templates first name them."""
    roles = _Roles(assembly)
    groups: dict[object, tuple[RoleView | None, str, list[TaskDefinition]]] = {}
    for task in task_definitions(assembly, without_role=True):
        view = roles.find(task.role_arn) if task.role_arn else None
        # A task definition without an execution role: one entry each.
        key: object = id(view) if view is not None else task.role_arn or id(task)
        groups.setdefault(key, (view, task.role_arn, []))[2].append(task)
    audited = [_audit_role(assembly, view, text, tasks) for view, text, tasks in groups.values()]
    return [role for role in audited if role is not None]


class _Roles:
    """The ``AWS::IAM::Role`` resources of the assembly, found by the ARN or name a task
    definition gives."""

    def __init__(self, assembly: Assembly) -> None:
        self.views: list[RoleView] = []
        self._by_text: dict[str, RoleView] = {}
        for template in assembly.templates:
            for logical_id in template.resources:
                if template.resource_type(logical_id) == "AWS::IAM::Role":
                    view = _role_view(assembly, template, logical_id)
                    self.views.append(view)
                    for text in (view.arn, view.name):
                        self._by_text.setdefault(text, view)

    def find(self, text: str) -> RoleView | None:
        found = self._by_text.get(text)
        if found is not None:
            return found
        return next((view for view in self.views if view.names_role(text)), None)


def _role_view(assembly: Assembly, template: Template, logical_id: str) -> RoleView:
    """A role of any app as the verification reads the library's: its trust policy as
    written, and the AWS managed policies it attaches that the library knows."""
    where = resource_name(assembly, template, logical_id)
    properties = template.properties(logical_id)
    trust = properties.get("AssumeRolePolicyDocument")
    record = RoleRecord(where, assembly.path_of(template, logical_id), trust, derive=False)
    view = RoleView(assembly, record, template, logical_id)
    known = []
    for arn in view.managed_policy_arns:
        name = aws_managed_name(arn)
        if name in AWS_MANAGED_POLICIES:
            known.append(AwsManagedDocument(name, AWS_MANAGED_POLICIES[name]))
    view.record = replace(record, aws_managed_policies=tuple(known))
    return view


def _audit_role(
    assembly: Assembly, view: RoleView | None, text: str, tasks: Sequence[TaskDefinition]
) -> RoleAudit | None:
    """The audit of one role (``view``, or ``text`` for one outside the templates, or none
    for a task definition without an execution role: ``None`` when that task needs none)."""
    facts = RoleFacts(assembly, view, text)
    for task in tasks:
        read = read_containers(assembly, task.template, task.containers)
        facts.add_task(
            describe_task_definition(task, assembly),
            task.kind,
            task.template,
            task.logical_id,
            read,
            list(task_requests(assembly, task.template, read)),
        )
    if not text:
        findings = list(roleless_findings(facts))
        if not findings:
            return None
    else:
        findings = list(unverified_findings(facts))
    if view is not None:
        try:
            # All or nothing: a policy the evaluator cannot read decides no finding.
            findings.extend([*missing_findings(facts), *excess_findings(facts)])
        except UnsupportedPolicyError as error:
            findings.append(facts.policy_not_evaluated(str(error)))
        findings.extend(task_role_findings(facts))
        findings.extend(trust_findings(facts))
        findings.extend(inline_findings(facts))
    template = view.template if view is not None else tasks[0].template
    return RoleAudit(
        role=facts.role,
        arn=assembly.symbols.display(view.arn if view is not None else text),
        template=view.template.path if view is not None else "",
        logical_id=view.logical_id if view is not None else "",
        tasks=[task.described for task in facts.tasks],
        policy=recommended_policy(
            (need for task in facts.tasks for need in task.needs),
            assembly.symbols,
            url_suffix=assembly.pseudo(template, "AWS::URLSuffix"),
            account=assembly.pseudo(template, "AWS::AccountId"),
        ),
        trust=recommended_trust(
            assembly.pseudo(template, "AWS::Partition"),
            [task.region for task in facts.tasks],
            assembly.pseudo(template, "AWS::AccountId"),
            assembly.symbols,
            conditions=not facts.used_by_batch,
        ),
        findings=findings,
    )
