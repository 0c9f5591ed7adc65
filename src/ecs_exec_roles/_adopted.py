"""The role a hardened task definition already has, read and rewritten as the lifecycle reads a
construct's role (``_lifecycle``).

``HardenExecutionRoles`` (``_harden``) adopts the role aws-cdk-lib made for a task definition,
or one the app made: its grants are the statements of its ``DefaultPolicy`` (for a role the app
made, of every policy that reached it, ``_app_roles``), and the derived policies replace them
where the role stands. What depended on the ``DefaultPolicy`` construct depends on the new
policies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Dependable, IConstruct

from ._app_roles import AppRoleUses, kept_as_grants, replace_app_role_policies
from ._cdk_internals import DEFAULT_POLICY_ID
from ._recorder import RecordedGrant

__all__ = ["AdoptedRole"]


class AdoptedRole:
    """A role the aspect hardens, read as the lifecycle reads a recording role: its grants are
    the statements of its ``DefaultPolicy`` (for a role the app made, of all its policies, but
    those the derived policies replace: ``_app_roles.kept_as_grants``)."""

    def __init__(self, role: iam.Role, task: Any, path: str, uses: AppRoleUses | None) -> None:
        self.role = role
        self.task = task
        #: The role's construct path: a task definition names this role object itself (not
        #: a wrapper with the same ARN) when its execution role has this path.
        self.path = path
        #: What the app's templates do with the role, when every policy that reached it is
        #: replaced (a role the app made); ``None`` for aws-cdk-lib's, whose ``DefaultPolicy``
        #: only is.
        self.uses = uses
        self.cfn_role: Any = role.node.default_child
        self._policy: iam.Policy | None = None
        self._grants: list[RecordedGrant] = []
        self._statement_count = -1
        self._role_arn: str | None = None
        self._role_name: str | None = None

    def adopt_uses(self, uses: AppRoleUses) -> None:
        """Replace every policy that reached the role, as for a role the app made."""
        self.uses = uses
        self._statement_count = -1

    @property
    def reached_by_arn(self) -> bool:
        """Whether a task definition reaches the role through any object with its ARN: the
        policies reaching it are all replaced, whichever object they were granted to."""
        return self.uses is not None

    @property
    def role_names(self) -> tuple[str, ...]:
        """The names (CDK strings) a task definition may name the role by
        (``iam.Role.from_role_name``), when every policy reaching it is replaced."""
        return (self.role_name,) if self.uses is not None else ()

    @property
    def role_arn(self) -> str:
        if self._role_arn is None:
            self._role_arn = str(self.role.role_arn)
        return self._role_arn

    @property
    def role_name(self) -> str:
        if self._role_name is None:
            self._role_name = str(self.role.role_name)
        return self._role_name

    @property
    def recorded_grants(self) -> Sequence[RecordedGrant]:
        """The statements aws-cdk-lib (or the app) granted the role, read again when more
        were added."""
        policy = self._default_policy()
        count = policy.document.statement_count if policy is not None else 0
        if count != self._statement_count:
            statements = policy.document.to_json().get("Statement", []) if policy else []
            if self.uses is not None:
                default = policy.node.default_child if policy is not None else None
                statements = [*kept_as_grants(statements), *self.uses.grants(without=default)]
            task = self.task if isinstance(self.task, ecs.TaskDefinition) else None
            self._grants = [
                RecordedGrant(iam.PolicyStatement.from_json(statement), task, self.task)
                for statement in statements
            ]
            self._statement_count = int(count)
        return self._grants

    @property
    def attached_inline_policies(self) -> Sequence[Any]:
        # Attached from the policy's side, as far as the lifecycle is concerned: the app scan
        # finds the policy resources that name the role (``_attachments``).
        return ()

    @property
    def attached_managed_policies(self) -> Sequence[Any]:
        # The role's own resource may name managed policies (add_managed_policy, an escape
        # hatch): the verification of the templates finds them there; a role the app made
        # has them replaced.
        return ()

    @contextmanager
    def rendering(self, task: ecs.TaskDefinition) -> Iterator[None]:
        # Grants land in the role's DefaultPolicy, attributed to its task definition.
        yield

    def replace_policies(self, policies: Sequence[iam.ManagedPolicy]) -> None:
        """Remove the ``DefaultPolicy``'s ``AWS::IAM::Policy`` resource, and let the construct
        stand for ``policies``: what depends on it (a grant's ``policy_dependable``, a
        dependency added by the app) depends on them instead. For a role the app made, detach
        every other policy too (``_app_roles``)."""
        policy = self._default_policy()
        if policy is not None:
            _remove(policy, policies)
        if self.uses is not None:
            replace_app_role_policies(self.uses, self.cfn_role, policies, _remove)

    def _default_policy(self) -> iam.Policy | None:
        if self._policy is None:
            found = self.role.node.try_find_child(DEFAULT_POLICY_ID)
            self._policy = found if isinstance(found, iam.Policy) else None
        return self._policy


def _remove(policy: IConstruct, policies: Sequence[iam.ManagedPolicy]) -> None:
    """Remove ``policy``'s resource and let the construct stand for ``policies``."""
    policy.node.try_remove_child("Resource")
    if policies:
        Dependable.implement(policy, _DependencyRoots(policies))


class _DependencyRoots(Dependable):
    """A dependable that stands for other constructs (its dependency roots)."""

    def __init__(self, roots: Sequence[IConstruct]) -> None:
        super().__init__()
        self._roots = list(roots)

    @property
    def dependency_roots(self) -> list[IConstruct]:
        return self._roots
