"""The grant recorder: the execution role that records grants instead of adding them.

aws-cdk-lib grants the execution role what a task definition needs (image pulls, log writes,
secrets, parameters) through ``add_to_principal_policy``. The role records those statements
instead of adding them, so CDK never widens it; at synth each recorded grant is compared with
what the role allows (``_checks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from ._cdk_internals import granting_context, read_attribute
from ._errors import ExecutionRoleError
from ._needs import describe_task
from ._props import shown

__all__ = ["GrantedRole", "RecordedGrant", "RecordingRole"]


@dataclass(frozen=True)
class RecordedGrant:
    """A statement aws-cdk-lib or user code granted to the role, and where it came from."""

    statement: iam.PolicyStatement
    task_definition: ecs.TaskDefinition | None
    # The construct being built when it was granted (a task definition or a pattern).
    owner: Any = None

    @property
    def family(self) -> str:
        family = self.task_definition.family if self.task_definition is not None else None
        if not isinstance(family, str) or cdk.Token.is_unresolved(family):
            return ""
        return family

    @property
    def origin(self) -> str:
        task = self.task_definition
        return describe_task(task) if task is not None else ""


class GrantedRole(Protocol):
    """What the synth lifecycle reads of a role it builds policies for: the grants made to it,
    the policies attached to it through it, and its name and ARN. A :class:`RecordingRole`
    records them; a role aws-cdk-lib made is read by ``_harden``."""

    @property
    def recorded_grants(self) -> Sequence[RecordedGrant]: ...

    @property
    def attached_inline_policies(self) -> Sequence[Any]: ...

    @property
    def attached_managed_policies(self) -> Sequence[Any]: ...

    @property
    def role_arn(self) -> str: ...

    @property
    def role_name(self) -> str: ...

    def rendering(self, task: ecs.TaskDefinition) -> AbstractContextManager[None]: ...


_EXAMPLES = {
    "add_to_principal_policy": "iam.PolicyStatement(actions=[...], resources=[...])",
    "attach_inline_policy": "iam.Policy(scope, 'Policy', statements=[...])",
    "add_managed_policy": "iam.ManagedPolicy.from_aws_managed_policy_name('...')",
}


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
        self.attached_managed_policies: list[iam.IManagedPolicy] = []
        self._probe: list[iam.PolicyStatement] | None = None
        self._rendering: ecs.TaskDefinition | None = None

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if not isinstance(statement, iam.PolicyStatement):
            self._refuse("add_to_principal_policy", statement, "an iam.PolicyStatement")
        if self._probe is not None:
            self._probe.append(statement)
        elif self._rendering is not None:
            task = self._rendering
            self.recorded_grants.append(RecordedGrant(statement, task, task))
        else:
            self.recorded_grants.append(RecordedGrant(statement, *granting_context()))
        return self._grant_result

    @contextmanager
    def rendering(self, task: ecs.TaskDefinition) -> Iterator[None]:
        """Attribute the grants made while the block renders ``task`` to it."""
        self._rendering = task
        try:
            yield
        finally:
            self._rendering = None

    def probe(self, grant: Callable[[iam.IGrantable], object]) -> list[iam.PolicyStatement]:
        """The statements ``grant(self)`` makes, which the role neither records nor adds.

        Reads what a CDK object grants for itself when a task uses it (a SecureString
        parameter's key, which its object holds but does not expose).
        """
        self._probe = []
        try:
            grant(self)
            return self._probe
        finally:
            self._probe = None

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return bool(self.add_to_principal_policy(statement).statement_added)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        # An inline policy would widen the role behind the construct's back; it is reported
        # at synth rather than attached.
        if not isinstance(policy, iam.Policy):
            self._refuse("attach_inline_policy", policy, "an iam.Policy")
        self.attached_inline_policies.append(policy)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        # The same for a managed policy (AdministratorAccess, say): reported, not attached.
        if isinstance(policy, (str, bytes)) or read_attribute(policy, "managed_policy_arn") is None:
            self._refuse("add_managed_policy", policy, "an iam.IManagedPolicy")
        self.attached_managed_policies.append(policy)

    def _refuse(self, method: str, value: Any, expected: str) -> NoReturn:
        raise ExecutionRoleError(
            f"{str(self.node.path).removesuffix('/Resource')}: {method}() was given "
            f"{shown(value)}, not {expected}. "
            "Pass the CDK object, for example "
            + _EXAMPLES[method]
            + "; what ECS needs goes into the construct's props."
        )

    def attach_own_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        """Attach a managed policy the construct itself chose (the starter's AWS policy)."""
        super().add_managed_policy(policy)
