"""The constructs where an ``iam.IRole`` is expected: every member of the interface is the
recording role's own.

aws-cdk-lib reads a role it is given through ``iam.IRole`` only (a task definition's
``execution_role``, ``repository.grant_pull(grantee)``). The constructs answer each member with
the role's, and the grant principal is the role itself, so a grant made to the construct is
recorded and checked exactly as one made to :attr:`role`, and a policy attached through the
construct is refused at synth the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ._errors import ExecutionRoleError
from ._props import shown

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.interfaces import aws_iam as iam_refs

    from ._recorder import RecordingRole

__all__ = ["RoleInterface", "one_principal", "own_role"]


class RoleInterface:
    """The members of ``iam.IRole`` (and of the interfaces it extends) that a construct has
    beyond ``node``, each answered by the recording role ``_role``.

    ``role_arn``, ``role_name``, ``grant_pass_role`` and ``grant_assume_role`` are the
    constructs' own public API (``_base``); the rest is here.
    """

    _role: RecordingRole
    _stack: cdk.Stack

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The principal grants go to: the role itself, as for :attr:`role`."""
        return self._role

    @property
    def assume_role_action(self) -> str:
        """The role's ``sts:AssumeRole`` action."""
        return self._role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        """The role as a principal in a policy statement."""
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        """The account of the role."""
        return self._role.principal_account

    @property
    def role_ref(self) -> iam_refs.RoleReference:
        """A reference to the role (its name and ARN)."""
        return self._role.role_ref

    @property
    def stack(self) -> cdk.Stack:
        """The stack the role is defined in."""
        return self._stack

    @property
    def env(self) -> cdk.interfaces.ResourceEnvironment:
        """The account and region of the role."""
        return self._role.env

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        """Record a grant, as aws-cdk-lib's grants are: checked at synth, never added.

        :param statement: the statement granted.
        """
        return self._role.add_to_principal_policy(statement)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        """Refused: a managed policy would widen the role; synth fails naming it.

        :param policy: the managed policy.
        """
        self._role.add_managed_policy(policy)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        """Refused: an inline policy would widen the role; synth fails naming it.

        :param policy: the inline policy.
        """
        self._role.attach_inline_policy(policy)

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        """Apply a removal policy to the role.

        :param policy: the removal policy.
        """
        self._role.apply_removal_policy(policy)

    def grant(self, grantee: iam.IPrincipal, *actions: str) -> iam.Grant:
        """Grant ``actions`` on this role to ``grantee``.

        :param grantee: the principal.
        :param actions: the actions, on the role.
        """
        return self._role.grant(grantee, *actions)


def _shown(value: Any) -> str:
    return "None" if value is None else shown(value)


def one_principal(where: str, method: str, grantee: Any, identity: Any) -> iam.IPrincipal:
    """The principal a grant method was given once, as ``grantee`` (the name in
    ``iam.IRole``, which a type checker matches the constructs against) or as ``identity``
    (the name in ``iam.Role``)."""
    given = grantee if identity is None else identity if grantee is None else None
    if given is not None:
        if isinstance(given, (str, bytes, int, float)) or not hasattr(given, "policy_fragment"):
            raise ExecutionRoleError(
                f"{where}: {method}() was given {_shown(given)}, not a principal. Pass an "
                f"iam.IPrincipal, for example {method}(pipeline_role) or "
                f"{method}(iam.ArnPrincipal(arn)) for a principal known by its ARN."
            )
        return cast("iam.IPrincipal", given)
    raise ExecutionRoleError(
        f"{where}: {method}() was given grantee={_shown(grantee)} and "
        f"identity={_shown(identity)}; pass the principal once, for example "
        f"{method}(pipeline_role)."
    )


def own_role(role: Any) -> Any:
    """The recording role of a construct given where a role is expected; any other role as
    it is (jsii hands back the very object a task definition was given)."""
    return role.grant_principal if isinstance(role, RoleInterface) else role
