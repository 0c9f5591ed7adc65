"""The role a hardened task definition already has (``_adopted``): its grants read from its
``DefaultPolicy``, which the derived policies then stand in for."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from ecs_exec_roles._adopted import AdoptedRole


def _task() -> tuple[cdk.Stack, ecs.FargateTaskDefinition]:
    stack = cdk.Stack(cdk.App(), "S")
    task = ecs.FargateTaskDefinition(stack, "Task")
    repository = ecr.Repository(stack, "Repo")
    task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(repository))
    return stack, task


def test_the_grants_are_the_default_policys_statements_read_again_when_more_come() -> None:
    _, task = _task()
    role = task.obtain_execution_role()
    adopted = AdoptedRole(role, task, role.node.path, None)  # type: ignore[arg-type]
    first = len(adopted.recorded_grants)
    assert first == 2  # the token, and the pulls from the repository
    assert all(grant.owner is task for grant in adopted.recorded_grants)
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=["arn:aws:logs:r:1:x"])
    )
    assert len(adopted.recorded_grants) == first + 1
    assert adopted.role_arn == str(role.role_arn)


def test_the_new_policies_stand_for_the_default_policy() -> None:
    stack, task = _task()
    role = task.obtain_execution_role()
    default_policy = role.node.find_child("DefaultPolicy")
    waiting = cdk.CfnResource(stack, "Waiting", type="AWS::SQS::Queue")
    waiting.node.add_dependency(default_policy)
    replacement = iam.ManagedPolicy(
        stack,
        "Derived",
        statements=[iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])],
        roles=[role],
    )
    AdoptedRole(role, task, role.node.path, None).replace_policies([replacement])  # type: ignore[arg-type]
    template = cdk.assertions.Template.from_stack(stack).to_json()
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    depends = template["Resources"]["Waiting"]["DependsOn"]
    assert depends == [stack.get_logical_id(replacement.node.default_child)]
