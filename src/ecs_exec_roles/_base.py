"""What the three constructs share: checked options, a plan, the role, and registration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._declarations import props_taken
from ._lifecycle import RoleEntry, StackRoles
from ._nag import acknowledge_managed_policy
from ._plan import AwsManagedPolicy, Plan
from ._prop_needs import add_props
from ._props import ResourceProps, RoleOptions
from ._recorder import RecordingRole
from ._role_interface import RoleInterface, one_principal
from ._trust import stack_environment

__all__ = ["ExecutionRoleBase"]


# The construct is itself the role where one is expected (``execution_role=execution``): the
# interface's members are the role's (``_role_interface``).
@jsii.implements(iam.IRole)
class ExecutionRoleBase(RoleInterface, Construct):
    """Common base of the execution-role constructs. Not part of the public API.

    The constructor checks every option first; a subclass then checks and adds its props
    with :meth:`_add_props` (and :meth:`_plan` directly), which creates nothing but the role.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        derive: bool,
        role_name: str | None,
        path: str | None,
        permissions_boundary: iam.IManagedPolicy | None,
        description: str | None,
        trust_conditions: bool | None,
        trust_all_regions: bool,
        bucket_owner_accounts: Mapping[str, str] | None,
        bucket_owner_condition: bool,
        ecr_pull_endpoints: Sequence[ec2.IInterfaceVpcEndpoint] | None,
        ecr_pull_vpcs: Sequence[ec2.IVpc] | None,
        max_managed_policies: int,
        aws_managed_policies: Sequence[AwsManagedPolicy] = (),
    ) -> None:
        stack = scope if isinstance(scope, cdk.Stack) else cdk.Stack.of(scope)
        registry = StackRoles.of(stack)
        where = registry.child_path(scope, id)
        checked = RoleOptions.checked(
            where,
            role_name=role_name,
            path=path,
            permissions_boundary=permissions_boundary,
            description=description,
            trust_conditions=trust_conditions,
            trust_all_regions=trust_all_regions,
            bucket_owner_accounts=bucket_owner_accounts,
            bucket_owner_condition=bucket_owner_condition,
            ecr_pull_endpoints=ecr_pull_endpoints,
            ecr_pull_vpcs=ecr_pull_vpcs,
            max_managed_policies=max_managed_policies,
            derive=derive,
        )
        super().__init__(scope, id)
        self._stack = stack
        self._plan = Plan(where, checked, aws_managed_policies)
        self._plan.derive = checked.derive
        self._plan.owner = type(self).__name__
        self._plan.account = stack_environment(stack)[2]
        self._plan.takes = props_taken(type(self))
        self._role = _create_role(self, registry, checked, aws_managed_policies)
        # The role is the child "Resource", and its CfnRole the role's.
        self._entry = RoleEntry(
            self._plan, self._role, self, self._role, f"{where}/Resource/Resource"
        )
        registry.register(self._entry)

    # -- public surface shared by every construct ------------------------------------------

    @property
    def role(self) -> iam.IRole:
        """The role to pass as ``execution_role`` to a task definition."""
        return self._role

    @property
    def role_arn(self) -> str:
        """The ARN of the role."""
        return self._role.role_arn

    @property
    def role_name(self) -> str:
        """The name of the role."""
        return self._role.role_name

    @property
    def managed_policies(self) -> Sequence[iam.IManagedPolicy]:
        """The customer-managed policies built for the role (available after synth starts)."""
        return tuple(self._entry.policies)

    def grant_pass_role(
        self, grantee: iam.IPrincipal | None = None, *, identity: iam.IPrincipal | None = None
    ) -> iam.Grant:
        """Grant ``iam:PassRole`` on this role to a principal (for example a deploy pipeline).

        :param grantee: the principal that registers task definitions using this role, by the
            name ``iam.IRole`` gives it.
        :param identity: the same principal, by the name ``iam.Role`` gives it; pass one of the
            two.
        """
        principal = one_principal(self._plan.where, "grant_pass_role", grantee, identity)
        return self._role.grant_pass_role(principal)

    def grant_assume_role(
        self, grantee: iam.IPrincipal | None = None, *, identity: iam.IPrincipal | None = None
    ) -> iam.Grant:
        """Grant ``sts:AssumeRole`` on this role to a principal.

        :param grantee: the principal, by the name ``iam.IRole`` gives it.
        :param identity: the same principal, by the name ``iam.Role`` gives it; pass one of the
            two.
        """
        principal = one_principal(self._plan.where, "grant_assume_role", grantee, identity)
        return self._role.grant_assume_role(principal)

    # -- for subclasses -----------------------------------------------------------------------

    def _add_props(self, **values: Any) -> None:
        """Check the resource props of one call, then add what they need.

        :param values: every resource prop the call takes, by name (``ResourceProps``), and
            those the construct sets itself (the starter writes no log groups).
        """
        plan = self._plan
        plan.check_open()
        add_props(plan, self, ResourceProps.checked(plan.where, **values), self._role.probe)


def _create_role(
    owner: Construct,
    registry: StackRoles,
    options: RoleOptions,
    aws_managed_policies: Sequence[AwsManagedPolicy],
) -> RecordingRole:
    # One principal per stack and trust setting: the roles of a stack trust the same.
    principal = registry.principal(options.trust_conditions is not False, options.trust_all_regions)
    role = RecordingRole(
        # "Resource" keeps the role's logical ID close to the construct's own name.
        owner,
        "Resource",
        grant_dependable=owner,
        assumed_by=principal,
        role_name=options.role_name,
        path=options.path,
        permissions_boundary=options.permissions_boundary,
        description=options.description,
    )
    for policy in aws_managed_policies:
        managed_policy = iam.ManagedPolicy.from_aws_managed_policy_name(policy.name)
        role.attach_own_managed_policy(managed_policy)
        acknowledge_managed_policy(role, managed_policy.managed_policy_arn, policy.reason)
    return role
