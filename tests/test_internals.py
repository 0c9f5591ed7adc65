"""Shortcuts taken to avoid calls into aws-cdk-lib agree with what aws-cdk-lib says."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
import pytest

from ecs_exec_roles._cfn import is_unresolved
from ecs_exec_roles._lifecycle import MUTATING_ASPECT_PRIORITY, StackRoles


def test_aspect_priority_is_cdks_mutating_priority() -> None:
    assert MUTATING_ASPECT_PRIORITY == cdk.AspectPriority.MUTATING


@jsii.implements(cdk.IStringProducer)
class _Producer:
    def produce(self, context: cdk.IResolveContext) -> str:
        return "x"


def test_is_unresolved_agrees_with_cdk() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    values = [
        "plain",
        "arn:aws:ecr:eu-west-1:123456789012:repository/api",
        "${not-a-token}",
        stack.region,
        f"prefix-{stack.account}-suffix",
        cdk.Lazy.string(_Producer()),
        cdk.Fn.join("", ["a", stack.partition]),
        cdk.Token.as_list(cdk.Fn.split(",", "a,b"))[0],
    ]
    for value in values:
        assert is_unresolved(value) == cdk.Token.is_unresolved(value), value


def test_task_definition_index_pairs_each_task_with_its_own_resource() -> None:
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_iam as iam
    from constructs import Construct

    from ecs_exec_roles._app import stack_state
    from ecs_exec_roles._task_definitions import scan_task_definitions

    app = cdk.App()
    stack = cdk.Stack(app, "S")
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    task_role = iam.Role(
        stack, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    nested = Construct(stack, "Nested")
    tasks = [
        ecs.FargateTaskDefinition(stack, "A", execution_role=role),
        ecs.FargateTaskDefinition(nested, "B", execution_role=role, task_role=task_role),
        ecs.Ec2TaskDefinition(nested, "C", execution_role=role),
    ]
    # A raw resource after a task definition, and one with no task definition before it.
    ecs.CfnTaskDefinition(nested, "Raw", family="raw")
    ecs.CfnTaskDefinition(stack, "Raw2", family="raw2")
    ecs.FargateTaskDefinition(stack, "NoRole")
    for task in tasks:
        task.add_container("app", image=ecs.ContainerImage.from_registry("nginx"))
    state = stack_state(stack).app
    index = scan_task_definitions(state)
    # A plain iam.Role is not a recording role: its task definitions are matched by ARN.
    assert not index.by_role
    entries = [entry for entry in index.others if not entry.is_l1]
    assert sorted(entry.task.node.path for entry in entries) == sorted(
        task.node.path for task in tasks
    )
    for entry in entries:
        assert entry.resource is not None
        assert entry.resource.node.path == entry.task.node.default_child.node.path  # type: ignore[union-attr]
    # Each raw resource is a task definition of its own.
    raw = sorted(entry.task.node.path for entry in index.others if entry.is_l1)
    assert raw == ["S/Nested/Raw", "S/Raw2"]
    # A second scan finds the same, once each.
    again = scan_task_definitions(state)
    assert [e.task for e in again.others] == [e.task for e in index.others]


@pytest.mark.parametrize(
    "child_id", ["Role", "team/payments/Role", "a//b", "Rôle with spaces", "/leading", "x-/-y"]
)
def test_role_paths_are_the_paths_aws_cdk_lib_gives(child_id: str) -> None:
    from constructs import Construct

    from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole

    app = cdk.App()
    stage = cdk.Stage(app, "Stage")
    stack = cdk.Stack(stage, "Stack")
    deep = Construct(Construct(stack, "Outer/Part"), "Inner")
    roles = [
        MinimalExecutionRole(stack, child_id),
        SharedExecutionRole(deep, child_id),
        MinimalExecutionRole(deep, f"{child_id}2"),
        MinimalExecutionRole(cdk.Stack(app, "Top"), child_id),
    ]
    for role in roles:
        scope = role.node.scope
        assert scope is not None
        registry = StackRoles.of(cdk.Stack.of(role))
        assert registry.child_path(scope, role.node.id) == role.node.path
