"""What the verification reads of one role of the library in the synthesized templates.

The library's records of its roles (:class:`RoleRecord`, made by ``_records``), the task
definitions of the assembly, and :class:`RoleView`: one role as the templates have it (its
resource, its ARN and name as text, every policy that reaches it, its permissions boundary).
The checks (``_verify_roles``, ``_verify_tasks``) read views and return :class:`Finding` s.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ._assembly import Assembly
from ._batch import JOB_DEFINITION_TYPE, job_tasks
from ._evaluate import Evaluator
from ._express import EXPRESS_SERVICE_TYPE, express_containers
from ._run_task import template_overrides
from ._service_connect import template_proxies
from ._symbols import PLACEHOLDER
from ._template import Template

__all__ = [
    "AwsManagedDocument",
    "Check",
    "Finding",
    "PolicyRecord",
    "RoleRecord",
    "RoleView",
    "TaskDefinition",
    "describe_task_definition",
    "resource_name",
    "task_definitions",
]

_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")


@dataclass(frozen=True)
class AwsManagedDocument:
    """An AWS managed policy the library attaches, by name, and what it allows on ``*``."""

    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class PolicyRecord:
    """A policy the library wrote for a role: the construct path of its resource, and its
    statements as the library wrote them (template form, resolved in its stack)."""

    path: str
    statements: tuple[Any, ...]


@dataclass(frozen=True)
class RoleRecord:
    """A role of the library, as the verification reads it.

    :param where: the construct path messages name.
    :param path: the construct path of the role's resource.
    :param trust: the trust policy the library wrote (template form).
    :param derive: whether the role derives its needs (for the fix a finding names).
    :param owner: what made the role (a construct's class name, or the aspect).
    :param takes: the props the owner takes (None: all): a fix names no other.
    """

    where: str
    path: str
    trust: Any
    derive: bool
    policies: tuple[PolicyRecord, ...] = ()
    aws_managed_policies: tuple[AwsManagedDocument, ...] = ()
    owner: str = "the construct"
    takes: frozenset[str] | None = None


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a deployed role.

    :param rule: the rule, with the exact finding in brackets (what an acknowledgment names).
    :param template: the template of the resource the finding is about.
    :param logical_id: that resource.
    """

    rule: str
    description: str
    fix: str
    template: str
    logical_id: str


@dataclass(frozen=True)
class TaskDefinition:
    """An ECS task definition of the assembly: where it is, the role it names (as text), its
    family and its containers (template form)."""

    template: Template
    logical_id: str
    role_arn: str
    family: str
    containers: Sequence[Any]
    #: What it is, as messages name it: ``task family``, or the ``job definition`` of AWS
    #: Batch or the ``Express Mode service`` that ECS runs a task for (``family`` its name).
    kind: str = "task family"


class RoleView:
    """One role of the library in the assembly: its resource, identity and policies."""

    def __init__(
        self, assembly: Assembly, record: RoleRecord, template: Template, logical_id: str
    ) -> None:
        self.assembly = assembly
        self.record = record
        self.template = template
        self.logical_id = logical_id
        self.properties = template.properties(logical_id)
        self.arn = assembly.text(template, {"Fn::GetAtt": [logical_id, "Arn"]}) or ""
        self.name = assembly.text(template, {"Ref": logical_id}) or ""
        self.account = assembly.pseudo(template, "AWS::AccountId")
        self.partition = assembly.pseudo(template, "AWS::Partition")

    def display(self, value: Any) -> str:
        return self.assembly.symbols.display(value)

    def finding(
        self, rule: str, detail: str, description: str, fix: str, where: tuple[str, str] = ("", "")
    ) -> Finding:
        template, logical_id = where if where[0] else (self.template.path, self.logical_id)
        return Finding(
            f"{rule}[{detail}]", f"{self.record.where}: {description}", fix, template, logical_id
        )

    def names_role(self, text: str | None) -> bool:
        """Whether an ARN or name (as text) is this role's."""
        if not text:
            return False
        if text in (self.arn, self.name):
            return True
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
            # A role of that name in another account is another role.
            account = parts[4]
            if "\x01" not in account and "\x01" not in self.account and account != self.account:
                return False
            return parts[5].rsplit("/", 1)[-1] == self.name
        return False

    @cached_property
    def own_policies(self) -> dict[tuple[int, str], tuple[Template, str, PolicyRecord]]:
        """The library's policies of the role, by their resource (where the assembly has
        them)."""
        found = {}
        for record in self.record.policies:
            located = self.assembly.by_path.get(record.path)
            if located is not None:
                template, logical_id = located
                found[(id(template), logical_id)] = (template, logical_id, record)
        return found

    def resource_name(self, template: Template, logical_id: str) -> str:
        return resource_name(self.assembly, template, logical_id)

    @cached_property
    def attached(self) -> list[tuple[Template, str, Any]]:
        """Every policy resource of the assembly that names the role: template, logical ID,
        and its document."""
        found = []
        for template in self.assembly.templates:
            for logical_id, resource in template.resources.items():
                kind = resource.get("Type") if isinstance(resource, dict) else None
                if kind not in _POLICY_TYPES:
                    continue
                properties = template.properties(logical_id)
                names = (
                    [properties.get("RoleName")]
                    if kind == "AWS::IAM::RolePolicy"
                    else properties.get("Roles") or []
                )
                resolved = self.assembly.resolve(template, names)
                if isinstance(resolved, list) and any(
                    isinstance(n, str) and self.names_role(n) for n in resolved
                ):
                    found.append((template, logical_id, properties.get("PolicyDocument")))
        return found

    @cached_property
    def policies(self) -> list[Any]:
        """Every identity policy of the role, resolved: inline, attached from their side, and
        the AWS managed policies the library attaches (by their published content)."""
        documents = [
            self.assembly.resolve(self.template, policy.get("PolicyDocument"))
            for policy in self.properties.get("Policies") or []
            if isinstance(policy, dict)
        ]
        documents += [self.assembly.resolve(t, d) for t, _, d in self.attached]
        documents += [self.assembly.resolve(t, d) for t, _, d in self.managed_of_assembly]
        documents += [
            {"Statement": [{"Effect": "Allow", "Action": list(managed.actions), "Resource": "*"}]}
            for managed in self.record.aws_managed_policies
        ]
        return documents

    @cached_property
    def managed_policy_arns(self) -> list[str]:
        """The ARNs of the role's ``ManagedPolicyArns``, as text."""
        arns = self.assembly.resolve(self.template, self.properties.get("ManagedPolicyArns"))
        return [arn for arn in arns if isinstance(arn, str)] if isinstance(arns, list) else []

    @cached_property
    def managed_of_assembly(self) -> list[tuple[Template, str, Any]]:
        """The customer managed policies of the assembly the role's ``ManagedPolicyArns``
        attach, which ``attached`` does not already hold (they name the role from their
        side): template, logical ID and document."""
        seen = {(id(t), logical_id) for t, logical_id, _ in self.attached}
        found = []
        for arn in self.managed_policy_arns:
            located = self.assembly.resource_of(arn, "AWS::IAM::ManagedPolicy")
            if located is not None and (id(located[0]), located[1]) not in seen:
                seen.add((id(located[0]), located[1]))
                template, logical_id = located
                document = template.properties(logical_id).get("PolicyDocument")
                found.append((template, logical_id, document))
        return found

    @cached_property
    def boundary_arn(self) -> str | None:
        """The ARN of the role's permissions boundary, as text (``None`` without one)."""
        arn = self.properties.get("PermissionsBoundary")
        return None if arn is None else self.assembly.text(self.template, arn) or ""

    @cached_property
    def boundary(self) -> list[Any] | None:
        """The permissions boundary's document, when the role has one the assembly holds."""
        found = self.assembly.resource_of(self.boundary_arn or "", "AWS::IAM::ManagedPolicy")
        if found is None:
            return None
        template, logical_id = found
        return [
            self.assembly.resolve(template, template.properties(logical_id).get("PolicyDocument"))
        ]

    @cached_property
    def evaluator(self) -> Evaluator:
        """IAM's decisions for the role: its policies, through its boundary. Raises
        :class:`~._evaluate.UnsupportedPolicyError` for a policy IAM's model here lacks."""
        return Evaluator(self.policies, self.boundary)

    def managed_policy_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"


Check = Callable[[RoleView, Sequence[TaskDefinition]], list[Finding]]


def task_definitions(assembly: Assembly, *, without_role: bool = False) -> list[TaskDefinition]:
    """Every task definition of the assembly that names an execution role, and again for each
    rule that runs it with another execution role (its ``role_arn`` that one); with
    ``without_role``, the ECS task definitions that name none too (``role_arn`` empty)."""
    found: list[TaskDefinition] = []
    for template in assembly.templates:
        own: dict[str, TaskDefinition] = {}
        for logical_id, resource in template.resources.items():
            if not isinstance(resource, dict) or resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            properties = template.properties(logical_id)
            role = assembly.text(template, properties.get("ExecutionRoleArn"))
            if role is None and without_role and "ExecutionRoleArn" not in properties:
                role = ""
            if role is None:
                continue
            containers = properties.get("ContainerDefinitions")
            containers = containers if isinstance(containers, list) else []
            # The Service Connect proxies ECS adds for the services that run it.
            containers = [*containers, *template_proxies(assembly, template, logical_id)]
            family = assembly.text(template, properties.get("Family")) or ""
            own[logical_id] = TaskDefinition(template, logical_id, role, family, containers)
        found.extend(own.values())
        found.extend(_job_definitions(assembly, template))
        found.extend(_express_services(assembly, template))
        # Run by a rule with another execution role (a RunTask override): a use of that role.
        for logical_id, role, _ in template_overrides(assembly, template):
            if logical_id in own:
                found.append(dataclasses.replace(own[logical_id], role_arn=role))
    return found


def _job_definitions(assembly: Assembly, template: Template) -> Iterator[TaskDefinition]:
    """The AWS Batch job definitions of a template, one task per execution role (``_batch``)."""
    for logical_id, resource in template.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != JOB_DEFINITION_TYPE:
            continue
        properties = template.properties(logical_id)
        name = assembly.text(template, properties.get("JobDefinitionName"))
        name = name if name and not PLACEHOLDER.search(name) else None
        for task in job_tasks(properties, name):
            role = assembly.text(template, task.role_arn)
            if role is not None:
                yield TaskDefinition(
                    template, logical_id, role, name or "", task.containers, "job definition"
                )


def _express_services(assembly: Assembly, template: Template) -> Iterator[TaskDefinition]:
    """The ECS Express Mode services of a template that name an execution role and a primary
    container, each read as the task definition ECS registers for it (``_express``)."""
    for logical_id, resource in template.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != EXPRESS_SERVICE_TYPE:
            continue
        properties = template.properties(logical_id)
        role_value, containers = express_containers(properties)
        role = assembly.text(template, role_value) if containers else None
        if role is not None:
            name = assembly.text(template, properties.get("ServiceName")) or ""
            name = "" if PLACEHOLDER.search(name) else name
            yield TaskDefinition(
                template, logical_id, role, name, containers, "Express Mode service"
            )


def resource_name(assembly: Assembly, template: Template, logical_id: str) -> str:
    """A resource for messages: its construct's path (an L2's, for its ``Resource``), or its
    template and logical ID where the app does not tell."""
    path = assembly.path_of(template, logical_id)
    return path.removesuffix("/Resource") if path else f"{template.name}::{logical_id}"


def describe_task_definition(task: TaskDefinition, assembly: Assembly) -> str:
    """A task definition as the library's messages name it: by the family its user gave it,
    and its construct path; a family aws-cdk-lib generated (from the path) says nothing."""
    path = assembly.path_of(task.template, task.logical_id).removesuffix("/Resource")
    where = resource_name(assembly, task.template, task.logical_id)
    family = task.family
    if task.kind != "task family":
        return f"{task.kind} {family!r} ({where})" if family else f"{task.kind} {where}"
    if not family or PLACEHOLDER.search(family) or _generated_family(family, path):
        return f"task definition {where}"
    return f"task family {family!r} ({where})"


# The hash aws-cdk-lib appends to the unique ID it makes of a construct's path.
_UNIQUE_ID_HASH = re.compile(r"[0-9A-F]{8}$")


def _generated_family(family: str, path: str) -> bool:
    """Whether ``family`` is the unique ID aws-cdk-lib makes of the task definition's path
    (its human part: the path's parts without ``Default``, letters and digits only)."""
    if not path or not _UNIQUE_ID_HASH.search(family):
        return False
    human = "".join(part for part in path.split("/") if part != "Default")
    return family[:-8] == re.sub(r"[^A-Za-z0-9]", "", human)[: len(family) - 8]
