"""The verification of what is deployed: every role of the library, read in the synthesized
templates after every aspect, override and escape hatch.

For each role the library built (or hardened), as the templates of the whole cloud assembly
have it (``_template``):

- its trust policy is the one the library wrote, nothing added or dropped;
- no policy reaches it but its own: no inline ``Policies`` or ``ManagedPolicyArns`` on the
  role beyond the library's, and no ``AWS::IAM::Policy``, ``ManagedPolicy`` or ``RolePolicy``
  of any template naming it;
- its own policies hold only the statements the library wrote (an aspect or override that
  adds to them is reported, statement by statement);
- every task definition of any template whose ``ExecutionRoleArn`` is the role (by logical
  ID, ARN, name, import or nested-stack parameter) has each need (``_reader``,
  ``_requests``) allowed, as IAM evaluates the role's policies and its permissions boundary
  (``_evaluate``), and is in a region the trust policy names.

Each check is a small function over one role's view of the assembly, returning findings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ._evaluate import Decision, UnsupportedPolicyError, evaluate, not_contained, statements_of
from ._reader import TaskRead, read_containers
from ._requests import LaunchNeed, task_requests
from ._template import Assembly, Template

__all__ = [
    "CHECKS",
    "AwsManagedDocument",
    "Check",
    "Finding",
    "PolicyRecord",
    "RoleRecord",
    "RoleView",
    "check_attachments",
    "check_foreign_policies",
    "check_own_policies",
    "check_task_definitions",
    "check_trust",
    "verify",
]


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
    """

    where: str
    path: str
    trust: Any
    derive: bool
    policies: tuple[PolicyRecord, ...] = ()
    aws_managed_policies: tuple[AwsManagedDocument, ...] = ()


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
class _TaskDefinition:
    template: Template
    logical_id: str
    role_arn: str
    family: str
    containers: Sequence[Any]


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
        """A resource for messages: its construct's path (an L2's, for its ``Resource``)."""
        path = self.assembly.path_of(template, logical_id)
        return path.removesuffix("/Resource") if path else f"{template.name}::{logical_id}"

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
        documents += [
            {"Statement": [{"Effect": "Allow", "Action": list(managed.actions), "Resource": "*"}]}
            for managed in self.record.aws_managed_policies
        ]
        return documents

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

    def managed_policy_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"


_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")

Check = Callable[[RoleView, Sequence[_TaskDefinition]], list[Finding]]


def check_trust(view: RoleView, tasks: Sequence[_TaskDefinition]) -> list[Finding]:
    """The trust policy is the one the library wrote for the role's options."""
    deployed = _normal_statements(
        view.assembly.resolve(view.template, view.properties.get("AssumeRolePolicyDocument"))
    )
    expected = _normal_statements(view.assembly.resolve(view.template, view.record.trust))
    findings = []
    for key, statement in deployed.items():
        if key not in expected:
            shown = view.display(statement)
            findings.append(
                view.finding(
                    "TrustChanged",
                    shown,
                    f"the trust policy of the role holds {shown}, which the library did not "
                    "write: it lets more than ecs-tasks.amazonaws.com (with the trust "
                    "conditions) assume the role.",
                    "Remove what changes the role's trust policy (an escape hatch on its "
                    "CfnRole, assume_role_policy.add_statements, an aspect); a principal that "
                    "needs these permissions gets a role of its own.",
                )
            )
    for key, statement in expected.items():
        if key not in deployed:
            shown = view.display(statement)
            findings.append(
                view.finding(
                    "TrustChanged",
                    f"missing {shown}",
                    f"the trust policy of the role lacks {shown}, which the library wrote: "
                    "an override replaced or loosened it.",
                    "Remove what changes the role's trust policy; pass trust_conditions or "
                    "trust_all_regions to the construct instead.",
                )
            )
    return findings


def check_attachments(view: RoleView, tasks: Sequence[_TaskDefinition]) -> list[Finding]:
    """The role's own resource holds no inline policy, and no managed policy but the AWS
    managed ones the library attaches."""
    findings = []
    for policy in view.properties.get("Policies") or []:
        name = view.display(policy.get("PolicyName") if isinstance(policy, dict) else policy)
        findings.append(
            view.finding(
                "PolicyAttached",
                f"Policies::{name}",
                f"the role's resource holds the inline policy {name}, so the role allows "
                "more than ECS needs.",
                _ATTACHED_FIX,
            )
        )
    expected = {view.managed_policy_arn(m.name) for m in view.record.aws_managed_policies}
    arns = view.assembly.resolve(view.template, view.properties.get("ManagedPolicyArns") or [])
    for arn in arns if isinstance(arns, list) else [arns]:
        if arn in expected:
            continue
        shown = view.display(arn)
        findings.append(
            view.finding(
                "PolicyAttached",
                f"ManagedPolicyArns::{shown}",
                f"the role's resource attaches the managed policy {shown}, so the role "
                "allows more than ECS needs.",
                _ATTACHED_FIX,
            )
        )
    return findings


_ATTACHED_FIX = (
    "Remove the attachment (an escape hatch on the role's CfnRole, or an aspect); grant what "
    "the application needs to the task definition's task_role, and what ECS needs through "
    "the construct's props."
)


def check_foreign_policies(view: RoleView, tasks: Sequence[_TaskDefinition]) -> list[Finding]:
    """No policy of any template attaches to the role from its own side, but its own."""
    findings = []
    for template, logical_id, _ in view.attached:
        if (id(template), logical_id) in view.own_policies:
            continue
        kind = template.resource_type(logical_id).removeprefix("AWS::IAM::")
        name = view.resource_name(template, logical_id)
        findings.append(
            view.finding(
                "PolicyAttached",
                name,
                f"the {kind} {name} names the execution role in its roles, so the role allows "
                "more than ECS needs.",
                _ATTACHED_FIX,
                (template.path, logical_id),
            )
        )
    return findings


def check_own_policies(view: RoleView, tasks: Sequence[_TaskDefinition]) -> list[Finding]:
    """The library's policies hold only what the library wrote in them."""
    findings = []
    for template, logical_id, record in view.own_policies.values():
        document = template.properties(logical_id).get("PolicyDocument")
        deployed = statements_of(view.assembly.resolve(template, document) or {})
        intended = [view.assembly.resolve(template, s) for s in record.statements]
        for statement in deployed:
            for action, resource in not_contained(statement, intended):
                shown = f"{action} on {view.display(resource)}"
                findings.append(
                    view.finding(
                        "PolicyChanged",
                        f"{action}::{view.display(resource)}",
                        f"its policy {view.resource_name(template, logical_id)} allows {shown}, "
                        "which the library "
                        "did not write there: an aspect or escape hatch widened it after the "
                        "library built it.",
                        "Remove what adds to the library's policies (an aspect that adds "
                        "statements to every managed policy, add_statements, an override); "
                        "the library's policies hold what ECS needs only.",
                        (template.path, logical_id),
                    )
                )
    return findings


def check_task_definitions(view: RoleView, tasks: Sequence[_TaskDefinition]) -> list[Finding]:
    """Every task definition that uses the role has each need allowed, through the role's
    permissions boundary too, and is in a region its trust policy names."""
    findings: list[Finding] = []
    if view.boundary_arn is not None and view.boundary is None:
        findings.append(_boundary_not_evaluated(view))
    trusted = _trusted_region(view)
    for task in tasks:
        if not view.names_role(task.role_arn):
            continue
        described = _Described(view, task)
        region = view.assembly.pseudo(task.template, "AWS::Region")
        if trusted and region != trusted and not _unknown(region) and not _unknown(trusted):
            findings.append(_region_finding(view, str(described), region, trusted))
        read = read_containers(view.assembly, task.template, task.containers)
        findings.extend(_unreadable(view, described, read))
        findings.extend(
            _missing(view, described, task_requests(view.assembly, task.template, read))
        )
    return findings


class _Described:
    """A task definition as messages name it, read only when one does."""

    def __init__(self, view: RoleView, task: _TaskDefinition) -> None:
        self._view = view
        self._task = task
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = _describe(self._task, self._view.assembly)
        return self._text


def _missing(view: RoleView, task: object, needs: Iterator[LaunchNeed]) -> list[Finding]:
    grouped: dict[tuple[str, str, str], tuple[LaunchNeed, list[str]]] = {}
    for need in needs:
        for request in need.requests:
            try:
                decision = evaluate(view.policies, request, view.boundary)
            except UnsupportedPolicyError as error:
                raise _Unsupported(view, str(error)) from error
            if decision is Decision.ALLOW:
                continue
            key = (need.container, need.resource, need.what)
            entry = grouped.setdefault(key, (need, []))
            if request.action not in entry[1]:
                entry[1].append(request.action)
    findings = []
    for need, actions in grouped.values():
        resource = view.display(need.resource)
        shown = ", ".join(actions)
        findings.append(
            view.finding(
                "MissingPermission",
                f"{shown}::{resource}",
                f"container {need.container!r} of {task} needs {shown} on {resource} for "
                f"{need.what}, which the role does not allow"
                + (" (its permissions boundary included)" if view.boundary is not None else "")
                + ": ECS would fail to start the task.",
                _missing_fix(view, need),
            )
        )
    return findings


def _missing_fix(view: RoleView, need: LaunchNeed) -> str:
    if need.log_group and _writes_other_streams(view, need.log_group):
        fix = f"add the stream prefix {need.stream_prefix!r} to `log_stream_prefixes`"
    elif need.prop == "firelens_default_router":
        fix = "pass firelens_default_router=True"
    else:
        fix = f"add the resource to `{need.prop}`"
    if view.boundary is not None:
        fix += ", and let the permissions boundary allow it"
    if view.record.derive:
        fix += (
            " (derivation did not see it: the task definition was changed after the role was "
            "built, by an escape hatch or a later aspect, or names it by a value derivation "
            "cannot rebuild)"
        )
    return fix + "."


def _writes_other_streams(view: RoleView, log_group: str) -> bool:
    """Whether the role writes to some streams of the log group (another stream prefix)."""
    streams = f"{log_group}:log-stream:"
    return any(
        isinstance(resource, str) and resource.startswith(streams)
        for policy in view.policies
        for statement in statements_of(policy)
        for resource in _as_list(statement.get("Resource"))
    )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _unreadable(view: RoleView, task: object, read: TaskRead) -> list[Finding]:
    findings = []
    for item in read.unreadable:
        image = item.what == "image"
        tells = "registry and repository" if image else "resource"
        findings.append(
            view.finding(
                "UnreadableValue",
                f"{item.container}::{item.what}",
                f"container {item.container!r} of {task} has the {item.what} {item.text}, whose "
                f"{tells} the template cannot tell, so the role cannot be shown to allow it.",
                "Name the image with ecs.ContainerImage.from_ecr_repository(repository, tag) "
                "(the repository imported by name, the tag a parameter if need be), or write "
                "its URI out."
                if image
                else "Name the resource in the template: a secret or parameter with "
                "ecs.Secret.from_secrets_manager / from_ssm_parameter, a file by its bucket "
                "and key.",
            )
        )
    return findings


def _boundary_not_evaluated(view: RoleView) -> Finding:
    shown = view.display(view.boundary_arn)
    return view.finding(
        "BoundaryNotEvaluated",
        shown,
        f"the role's permissions boundary {shown} is not a managed policy of the app, so "
        "whether it allows what ECS needs for the role's task definitions cannot be checked; "
        "a boundary that does not allow it leaves ECS denied.",
        "Make the boundary a managed policy of the app, or acknowledge this finding once the "
        "boundary is known to allow the ECR, CloudWatch Logs, Secrets Manager, SSM, KMS and S3 "
        "reads the role's policies allow.",
    )


def _region_finding(view: RoleView, task: str, region: str, trusted: str) -> Finding:
    return view.finding(
        "RegionNotTrusted",
        f"{task}::{region}",
        f"{task} is in {region}, but the role's trust policy names only {trusted} in "
        "aws:SourceArn, so ECS would be refused the role when it launches the task.",
        "Pass trust_all_regions=True (aws:SourceAccount still holds), or give that region a "
        "role of its own.",
    )


def _trusted_region(view: RoleView) -> str:
    """The region the trust policy's ``aws:SourceArn`` names ("" for all, or none)."""
    trust = view.assembly.resolve(view.template, view.record.trust)
    for statement in statements_of(trust or {}):
        condition = statement.get("Condition") or {}
        arn = (condition.get("ArnLike") or {}).get("aws:SourceArn")
        if isinstance(arn, str):
            region = arn.split(":")[3] if arn.count(":") >= 4 else ""
            return "" if region == "*" else region
    return ""


def _unknown(text: str) -> bool:
    return "\x01" in text


def _describe(task: _TaskDefinition, assembly: Assembly) -> str:
    """A task definition as the library's messages name it: by the family its user gave it,
    and its construct path; a family aws-cdk-lib generated (from the path) says nothing."""
    path = assembly.path_of(task.template, task.logical_id).removesuffix("/Resource")
    where = path or f"{task.template.name}::{task.logical_id}"
    family = task.family
    if not family or _unknown(family) or _generated_family(family, path):
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


class _Unsupported(Exception):
    def __init__(self, view: RoleView, message: str) -> None:
        super().__init__(message)
        self.finding = view.finding(
            "PolicyNotEvaluated",
            message,
            f"a policy of the role could not be evaluated: {message}.",
            "Keep the role's policies to what the library writes.",
        )


CHECKS: tuple[Check, ...] = (
    check_trust,
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_task_definitions,
)


def verify(assembly: Assembly, records: Sequence[RoleRecord]) -> list[Finding]:
    """Every finding of every role of ``records`` in ``assembly``."""
    tasks = _task_definitions(assembly)
    findings: list[Finding] = []
    for record in records:
        located = assembly.by_path.get(record.path)
        if located is None:
            findings.append(_not_found(record))
            continue
        view = RoleView(assembly, record, *located)
        for check in CHECKS:
            try:
                findings.extend(check(view, tasks))
            except _Unsupported as unsupported:
                findings.append(unsupported.finding)
    return findings


def _not_found(record: RoleRecord) -> Finding:
    return Finding(
        f"NotVerified[{record.where}]",
        f"{record.where}: the cloud assembly does not name the role's resource {record.path}, "
        "so its deployed form cannot be verified.",
        "Synthesize with the construct tree (cdk.App(tree_metadata=True), the default) or "
        "with path metadata (the CDK CLI's default), and keep the role's resource.",
        "",
        "",
    )


def _task_definitions(assembly: Assembly) -> list[_TaskDefinition]:
    found = []
    for template in assembly.templates:
        for logical_id, resource in template.resources.items():
            if not isinstance(resource, dict) or resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            properties = template.properties(logical_id)
            role = assembly.text(template, properties.get("ExecutionRoleArn"))
            if role is None:
                continue
            containers = properties.get("ContainerDefinitions")
            containers = containers if isinstance(containers, list) else []
            family = assembly.text(template, properties.get("Family")) or ""
            found.append(_TaskDefinition(template, logical_id, role, family, containers))
    return found


# Keys whose value is one string; IAM reads any other string value as a list of one.
_SCALARS = ("Effect", "Version")


def _normal_statements(document: Any) -> dict[str, Any]:
    """A policy's statements in one comparable form each (lists sorted, single values as
    lists, keys sorted), by that form as text."""
    normal = [
        _normal(statement)
        for statement in statements_of(document if isinstance(document, Mapping) else {})
    ]
    return {json.dumps(statement, sort_keys=True): statement for statement in normal}


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _normal([item] if isinstance(item, str) and key not in _SCALARS else item)
            for key, item in value.items()
            if key != "Sid"
        }
    if isinstance(value, list):
        items = [_normal(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value
