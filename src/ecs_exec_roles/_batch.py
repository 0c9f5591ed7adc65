"""The execution roles of one stack, finalized and checked together at synth.

Every call from Python into aws-cdk-lib is a message to its JavaScript process, which costs
more than most of the work it asks for. A stack's roles therefore share one finalizer aspect,
one validation, one resolve of all their ARNs and one resolve of all the grants made to them,
instead of one of each per role.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from ._cfn import flatten
from ._task_definitions import task_needs_of
from ._trust import stack_environment

if TYPE_CHECKING:
    from ._base import ExecutionRoleBase

__all__ = ["Resolver", "StackRoles"]

# cdk.AspectPriority.MUTATING, a documented constant; reading it from Python is a call into
# aws-cdk-lib that costs more than the rest of the module's import.
MUTATING_ASPECT_PRIORITY = 200

_ATTRIBUTE = "_ecs_exec_roles_stack_roles"


class Resolver:
    """``Stack.resolve`` with a cache: values resolved together in one call, each once.

    Only used once synthesis has begun, when the values a role names can no longer change.
    """

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack
        self._cache: dict[str, Any] = {}

    def prefetch(self, values: Iterable[str]) -> None:
        missing = [value for value in dict.fromkeys(values) if value not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._stack.resolve(missing), strict=True))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            self.prefetch((value,))
            return self._cache[value]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            self.prefetch(value)
            return [self._cache[item] for item in value]
        return self._stack.resolve(value)


class StackRoles:
    """The execution roles of one stack, in the order they were created."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self.roles: list[ExecutionRoleBase] = []
        self.principals: dict[tuple[bool, bool], iam.IPrincipal] = {}
        self._resolver: Resolver | None = None
        self._finalized_count = 0
        self._region_account: tuple[str, str] | None = None
        self._url_suffix: str | None = None
        # Construct paths of the scopes roles were created in, by id() (the scope is kept
        # alive with it).
        self._scope_paths: dict[int, tuple[IConstruct, str]] = {}

    @classmethod
    def of(cls, stack: cdk.Stack) -> StackRoles:
        registry: StackRoles | None = getattr(stack, _ATTRIBUTE, None)
        if registry is None:
            registry = cls(stack)
            setattr(stack, _ATTRIBUTE, registry)
        return registry

    def child_path(self, scope: IConstruct, child_id: str) -> str:
        """The construct path of ``scope``'s child ``child_id``, as ``node.path`` gives it.

        A scope's path is read once (two calls into aws-cdk-lib); a child's is the scope's
        plus its id, in which the constructs library replaces each ``/`` with ``--``.
        """
        entry = self._scope_paths.get(id(scope))
        if entry is None:
            entry = self._scope_paths[id(scope)] = (scope, str(scope.node.path))
        own = child_id.replace("/", "--")
        return f"{entry[1]}/{own}" if entry[1] else own

    def register(self, role: ExecutionRoleBase, role_scope: IConstruct) -> None:
        """Add a role; the first one of the stack installs the finalizer and the check.

        The finalizer is an aspect on the first role (it visits the role and its children,
        and builds each role's policies once).
        """
        if not self.roles:
            cdk.Aspects.of(role_scope).add(_Finalize(self), priority=MUTATING_ASPECT_PRIORITY)
            self.stack.node.add_validation(_Validate(self))
        self.roles.append(role)

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.stack)
        return self._resolver

    @property
    def url_suffix(self) -> str:
        if self._url_suffix is None:
            self._url_suffix = self.stack.url_suffix
        return self._url_suffix

    def region_account(self) -> tuple[str, str]:
        """The stack's region and account, flattened (``<AWS::Region>`` when unknown)."""
        if self._region_account is None:
            _, region, account = stack_environment(self.stack)
            flat_region, flat_account = (flatten(v) for v in self.resolver([region, account]))
            self._region_account = (flat_region, flat_account)
        return self._region_account

    def finalize(self) -> None:
        """Build the policies of every role not built yet (the aspect visits several nodes)."""
        new = self.roles[self._finalized_count :]
        self._finalized_count = len(self.roles)
        resolver = self.resolver
        resolver.prefetch(value for role in new for value in role._values_to_resolve())
        for role in new:
            role._finalize(resolver)

    def errors(self) -> list[str]:
        grants = _resolved_grants(self.stack, self.roles)
        needs = task_needs_of(self.stack, [role._role for role in self.roles])
        # The roles' values resolved again, now that aws-cdk-lib has prepared the app (and,
        # for example, turned a parent stack's resource into a nested stack's parameter):
        # grants and task definitions are in that form too.
        check = Resolver(self.stack)
        check.prefetch(
            value for role in self.roles if role._finalized for value in role._check_values()
        )
        errors: list[str] = []
        for role, role_grants in zip(self.roles, grants, strict=True):
            errors.extend(role._synth_errors(role_grants, needs.get(id(role._role), []), check))
        return errors


def _resolved_grants(stack: cdk.Stack, roles: Sequence[ExecutionRoleBase]) -> list[Any]:
    """Each role's distinct granted statements in template form, all resolved in one call.

    A policy document per role drops duplicate statements (every ECR image grants the same
    token statement); the documents are resolved together.
    """
    documents = [
        iam.PolicyDocument(
            minimize=False, statements=[grant.statement for grant in role._role.recorded_grants]
        )
        for role in roles
        if role._role.recorded_grants
    ]
    resolved = iter(stack.resolve(documents) if documents else ())
    return [
        next(resolved).get("Statement", []) if role._role.recorded_grants else [] for role in roles
    ]


@jsii.implements(cdk.IAspect)
class _Finalize:
    """Builds every role's policies once every prop and ``add_*`` call is known."""

    def __init__(self, registry: StackRoles) -> None:
        self._registry = registry

    def visit(self, node: IConstruct) -> None:
        self._registry.finalize()


@jsii.implements(IValidation)
class _Validate:
    """Runs at synth: every grant made to a role, and every need of the task definitions
    that use it, must be covered by what the role allows."""

    def __init__(self, registry: StackRoles) -> None:
        self._registry = registry

    def validate(self) -> list[str]:
        return self._registry.errors()
