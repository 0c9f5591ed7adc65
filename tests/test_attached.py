"""Nothing reaches the role around its props: every other way a policy attaches fails synth.

Through the role (an inline policy, ``add_managed_policy``, a Deny granted to it), which the
synth-time check reports, or from the policy's own side (``iam.ManagedPolicy(roles=[role])``,
``attach_to_role``, an L1 policy resource naming the role, in its stack, another stack or a
nested stack), which the verification of the templates reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from helpers import resources_of_type

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def _statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])


def _synth_error(app: cdk.App) -> str:
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    return str(raised.value)


def _admin() -> iam.IManagedPolicy:
    return iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")


# Each case attaches a policy to the role of ``execution`` from a scope (the same stack here),
# and what synth then says after "S/Role: ".
_FROM_ITS_SIDE = "names the execution role in its roles, so the role allows more than ECS needs"
_THROUGH_THE_ROLE = "the execution role, which takes its permissions only from its props"
ATTACH: list[tuple[str, Callable[[cdk.Stack, Any], object], str]] = [
    (
        "add-managed-policy",
        lambda s, e: e.role.add_managed_policy(_admin()),
        "the managed policy arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess is "
        f"attached with add_managed_policy() to {_THROUGH_THE_ROLE}",
    ),
    (
        "managed-policy-roles",
        lambda s, e: iam.ManagedPolicy(s, "Extra", roles=[e.role], statements=[_statement()]),
        f"the ManagedPolicy S/Extra {_FROM_ITS_SIDE}",
    ),
    (
        "managed-policy-attach-to-role",
        lambda s, e: iam.ManagedPolicy(s, "Extra", statements=[_statement()]).attach_to_role(
            e.role
        ),
        f"the ManagedPolicy S/Extra {_FROM_ITS_SIDE}",
    ),
    (
        "cfn-managed-policy",
        lambda s, e: iam.CfnManagedPolicy(
            s, "Extra", policy_document=_DOCUMENT, roles=[e.role.role_name]
        ),
        f"the ManagedPolicy S/Extra {_FROM_ITS_SIDE}",
    ),
    (
        "cfn-policy",
        lambda s, e: iam.CfnPolicy(
            s, "Extra", policy_name="extra", policy_document=_DOCUMENT, roles=[e.role.role_name]
        ),
        f"the Policy S/Extra {_FROM_ITS_SIDE}",
    ),
    (
        "cfn-role-policy",
        lambda s, e: iam.CfnRolePolicy(
            s, "Extra", policy_name="extra", policy_document=_DOCUMENT, role_name=e.role.role_name
        ),
        f"the RolePolicy S/Extra {_FROM_ITS_SIDE}",
    ),
    (
        "inline-policy",
        lambda s, e: iam.Policy(s, "Extra", roles=[e.role], statements=[_statement()]),
        f"the inline policy S/Extra is attached to {_THROUGH_THE_ROLE}",
    ),
]


@pytest.mark.parametrize(("attach", "fragment"), [pytest.param(a, f, id=i) for i, a, f in ATTACH])
@pytest.mark.parametrize(
    "construct", [MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole]
)
def test_fails_when_a_policy_is_attached_around_the_props(
    construct: type[Any], attach: Callable[[cdk.Stack, Any], object], fragment: str
) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = construct(stack, "Role")
    attach(stack, execution)
    message = _synth_error(app)
    assert f"S/Role: {fragment}" in message
    # Reported once, however many ways it shows.
    assert message.count("S/Role: ") == 1


def test_a_managed_policy_added_to_the_role_is_not_attached() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    execution.role.add_managed_policy(_admin())
    role = execution.node.find_child("Resource").node.default_child
    assert stack.resolve(role.managed_policy_arns) is None  # type: ignore[attr-defined]


def test_the_starter_keeps_its_own_managed_policy_and_refuses_another() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    StarterExecutionRole(stack, "Kept")
    refused = StarterExecutionRole(stack, "Refused")
    refused.role.add_managed_policy(_admin())
    message = _synth_error(app)
    assert "S/Refused: the managed policy" in message
    assert "S/Kept" not in message


def test_fails_when_a_policy_of_another_stack_names_the_role() -> None:
    app = cdk.App()
    platform = cdk.Stack(app, "Platform", env=ENV)
    service = cdk.Stack(app, "Service", env=ENV)
    execution = MinimalExecutionRole(platform, "Role")
    iam.ManagedPolicy(service, "Extra", roles=[execution.role], statements=[_statement()])
    message = _synth_error(app)
    assert f"Platform/Role: the ManagedPolicy Service/Extra {_FROM_ITS_SIDE}" in message
    assert "Acknowledge with 'ecs-exec-roles::PolicyAttached[Service/Extra]'" in message


def test_fails_when_a_policy_of_a_nested_stack_names_the_role() -> None:
    app = cdk.App()
    parent = cdk.Stack(app, "Parent", env=ENV)
    execution = MinimalExecutionRole(parent, "Role")
    nested = cdk.NestedStack(parent, "Nested")
    iam.CfnPolicy(
        nested, "Extra", policy_name="x", policy_document=_DOCUMENT, roles=[execution.role_name]
    )
    message = _synth_error(app)
    assert f"Parent/Role: the Policy Parent/Nested/Extra {_FROM_ITS_SIDE}" in message


def test_a_role_of_another_stack_with_the_same_logical_id_is_not_taken_for_it() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENV)
    second = cdk.Stack(app, "Second", env=ENV)
    MinimalExecutionRole(first, "Role", derive=False)
    # The same path in another stack: the same logical ID, another role.
    other = iam.Role(second, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    iam.ManagedPolicy(second, "Extra", roles=[other], statements=[_statement()])
    app.synth()


def test_fails_when_a_policy_names_the_role_by_its_literal_name() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    MinimalExecutionRole(stack, "Role", role_name="app-execution")
    iam.CfnPolicy(
        stack, "Extra", policy_name="x", policy_document=_DOCUMENT, roles=["app-execution"]
    )
    message = _synth_error(app)
    assert f"S/Role: the Policy S/Extra {_FROM_ITS_SIDE}" in message


def test_fails_when_a_deny_is_granted_to_the_role() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    execution.role.add_to_principal_policy(
        iam.PolicyStatement(effect=iam.Effect.DENY, actions=["ecr:*"], resources=["*"])
    )
    message = _synth_error(app)
    assert "S/Role: a Deny statement was added to the execution role (" in message
    assert "permissions_boundary" in message


def test_policies_of_other_roles_and_our_own_policies_pass() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(
        stack, "Role", derive=False, pull_through_cache_prefixes=["hub"]
    )
    task_role = iam.Role(
        stack, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    task_role.add_to_policy(_statement())
    iam.ManagedPolicy(stack, "TaskPolicy", roles=[task_role], statements=[_statement()])
    template = app.synth().get_stack_by_name("S").template
    assert len(resources_of_type(template, "AWS::IAM::ManagedPolicy")) == 2
    assert execution.managed_policies


def test_fails_when_the_role_imported_by_its_arn_is_granted_more() -> None:
    # aws-cdk-lib attaches a policy to an imported role by the name it cuts from the ARN.
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    imported = iam.Role.from_role_arn(stack, "Imported", execution.role_arn)
    imported.add_to_principal_policy(_statement())
    message = _synth_error(app)
    assert f"S/Role: the Policy S/Imported/Policy {_FROM_ITS_SIDE}" in message
