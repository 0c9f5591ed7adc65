"""The checks of the task definitions that use a role, in the synthesized templates: each
need of their containers (``_reader``, ``_requests``) allowed as IAM evaluates the role's
policies and its permissions boundary (``_evaluate``), read in full, and in a region the
role's trust policy names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ._declarations import switches
from ._evaluate import Decision, UnsupportedPolicyError, statements_of
from ._reader import TaskRead, read_containers
from ._requests import LaunchNeed, task_requests
from ._role_view import Finding, RoleView, TaskDefinition, describe_task_definition

__all__ = ["UnevaluatedPolicy", "check_task_definitions"]


def check_task_definitions(view: RoleView, tasks: Sequence[TaskDefinition]) -> list[Finding]:
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

    def __init__(self, view: RoleView, task: TaskDefinition) -> None:
        self._view = view
        self._task = task
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = describe_task_definition(self._task, self._view.assembly)
        return self._text


def _missing(view: RoleView, task: object, needs: Iterator[LaunchNeed]) -> list[Finding]:
    grouped: dict[tuple[str, str, str], tuple[LaunchNeed, list[str]]] = {}
    for need in needs:
        for request in need.requests:
            try:
                decision = view.evaluator.evaluate(request)
            except UnsupportedPolicyError as error:
                raise UnevaluatedPolicy(view, str(error)) from error
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
    record = view.record
    if need.log_group and _writes_other_streams(view, need.log_group):
        prop, fix = (
            "log_stream_prefixes",
            (f"add the stream prefix {need.stream_prefix!r} to `log_stream_prefixes`"),
        )
    elif need.prop in switches():
        prop, fix = need.prop, f"pass {need.prop}=True"
    elif need.fix:
        prop, fix = need.prop, need.fix
    else:
        prop, fix = need.prop, f"add the resource to `{need.prop}`"
    if record.takes is not None and prop not in record.takes:
        # The owner (the aspect) takes no such prop: it allows what it derives from the
        # containers, so the fix is where the need comes from, or a role that names it.
        fix = (
            f"{record.owner} allows what it derives from the containers: declare it on the "
            "container, or give the task definition a MinimalExecutionRole that names the "
            f"resource (`{prop}`)"
        )
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


class UnevaluatedPolicy(Exception):
    def __init__(self, view: RoleView, message: str) -> None:
        super().__init__(message)
        self.finding = view.finding(
            "PolicyNotEvaluated",
            message,
            f"a policy of the role could not be evaluated: {message}.",
            "Keep the role's policies to what the library writes.",
        )
