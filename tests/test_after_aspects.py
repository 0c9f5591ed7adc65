"""The library builds its policies once the app's aspects have visited the task definitions
(``_after_aspects``): sidecars that aspects add, in any stack or stage, in any order of the
aspects, are derived; without aspect stabilization the policies are built as aspects reach the
role, as before."""

from __future__ import annotations

import functools
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct
from helpers import AddAgent
from iam_eval import Environment, is_allowed, resolve, role_policies

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole, SharedExecutionRole
from ecs_exec_roles._after_aspects import AFTER_ASPECTS_ID, STABILIZATION_FLAG, after_aspects
from ecs_exec_roles._app import stack_state

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
AGENT = f"arn:aws:ecr:{REGION}:210987654321:repository/agents/trace"


def _task(stack: cdk.Stack, role: Any, name: str = "Task") -> ecs.FargateTaskDefinition:
    task = ecs.FargateTaskDefinition(stack, name, execution_role=role, family=name.lower())
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(stack, f"{name}Repo", "team/api"), "v1"
        ),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="api",
            log_group=logs.LogGroup.from_log_group_name(stack, f"{name}Logs", "/ecs/api"),
        ),
    )
    return task


def _execution_role_policies(template: dict[str, Any], task_prefix: str) -> list[Any]:
    (task,) = (
        r
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::ECS::TaskDefinition" and logical_id.startswith(task_prefix)
    )
    role = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    return role_policies(template, role, Environment())


def _allows_the_agent(template: dict[str, Any], task_prefix: str = "Task") -> bool:
    policies = _execution_role_policies(template, task_prefix)
    streams = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/agent:log-stream:agent/agent/x"
    return is_allowed(policies, "ecr:BatchGetImage", AGENT) and is_allowed(
        policies, "logs:PutLogEvents", streams
    )


def test_the_library_waits_at_the_last_child_of_the_stage() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, MinimalExecutionRole(stack, "Role"))
    cdk.Stack(app, "Later", env=ENV)
    app.synth()
    children = [child.node.id for child in app.node.children]
    # Once per stage, after every stack (and aws-cdk-lib's construct tree).
    assert children[-1] == AFTER_ASPECTS_ID
    assert children.count(AFTER_ASPECTS_ID) == 1
    assert not app.node.find_child(AFTER_ASPECTS_ID).node.children


def test_a_sidecar_an_aspect_of_the_app_adds_is_derived() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, MinimalExecutionRole(stack, "Role"))
    cdk.Aspects.of(app).add(AddAgent())
    assert _allows_the_agent(app.synth().get_stack_by_name("S").template)


def test_a_sidecar_in_another_stack_than_the_role_is_derived() -> None:
    # The role's stack comes first; the aspect reaches the task definition's stack after it.
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENV)
    role = SharedExecutionRole(first, "Role")
    second = cdk.Stack(app, "Second", env=ENV)
    _task(second, role)
    cdk.Aspects.of(second).add(AddAgent())
    assembly = app.synth()
    policies = [
        resolve(r["Properties"]["PolicyDocument"], Environment())
        for stack in ("First", "Second")
        for r in assembly.get_stack_by_name(stack).template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert is_allowed(policies, "ecr:BatchGetImage", AGENT)


@pytest.mark.parametrize("harden_first", [True, False])
def test_harden_derives_a_sidecar_whichever_aspect_comes_first(harden_first: bool) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, None)
    aspects = [HardenExecutionRoles(), AddAgent()]
    for aspect in aspects if harden_first else reversed(aspects):
        cdk.Aspects.of(app).add(aspect)
    template = app.synth().get_stack_by_name("S").template
    assert _allows_the_agent(template)
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]


def test_a_sidecar_in_a_stage_of_a_pipeline_is_derived() -> None:
    app = cdk.App()
    stage = cdk.Stage(app, "Prod", env=ENV)
    stack = cdk.Stack(stage, "S")
    _task(stack, MinimalExecutionRole(stack, "Role"))
    cdk.Aspects.of(stage).add(AddAgent())
    assembly = app.synth()
    # The stage's own aspects run when it is synthesized, and the library waits there.
    assert stage.node.children[-1].node.id == AFTER_ASPECTS_ID
    assert app.node.try_find_child(AFTER_ASPECTS_ID) is None
    template = assembly.get_nested_assembly("assembly-Prod").get_stack_by_name("Prod-S").template
    assert _allows_the_agent(template)


def test_an_ecs_patterns_service_with_a_sidecar_aspect_is_exact() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    execution = MinimalExecutionRole(stack, "Role")
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Service",
        cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(
                ecr.Repository.from_repository_name(stack, "Repo", "team/api"), "v1"
            ),
            execution_role=execution.role,
            log_driver=ecs.LogDrivers.aws_logs(
                stream_prefix="web",
                log_group=logs.LogGroup.from_log_group_name(stack, "WebLogs", "/ecs/web"),
            ),
        ),
    )
    cdk.Aspects.of(app).add(AddAgent())
    template = app.synth().get_stack_by_name("S").template
    assert _allows_the_agent(template, "ServiceTaskDef")
    policies = _execution_role_policies(template, "ServiceTaskDef")
    other = f"arn:aws:ecr:{REGION}:210987654321:repository/agents/other"
    assert not is_allowed(policies, "ecr:BatchGetImage", other)


def test_without_aspect_stabilization_the_policies_are_built_when_aspects_reach_the_role() -> None:
    app = cdk.App(context={STABILIZATION_FLAG: False})
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, MinimalExecutionRole(stack, "Role"))
    cdk.Aspects.of(app).add(AddAgent())
    with pytest.raises(RuntimeError, match="got a container after the library read"):
        app.synth()
    assert app.node.try_find_child(AFTER_ASPECTS_ID) is None


def test_without_aspect_stabilization_an_app_without_later_changes_is_built() -> None:
    app = cdk.App(context={STABILIZATION_FLAG: False})
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, MinimalExecutionRole(stack, "Role"))
    template = app.synth().get_stack_by_name("S").template
    policies = _execution_role_policies(template, "Task")
    assert is_allowed(
        policies, "ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
    )


def test_a_role_an_aspect_creates_after_the_library_waited_is_built_at_once() -> None:
    # A construct added after the library's (by an aspect that runs late) is visited after it.
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, MinimalExecutionRole(stack, "Role"))
    created: list[Any] = []

    @jsii.implements(cdk.IAspect)
    class AddLateStack:
        def visit(self, node: IConstruct) -> None:
            if isinstance(node, Construct) and node.node.id == AFTER_ASPECTS_ID and not created:
                late = cdk.Stack(app, "Late", env=ENV)
                created.append(late)
                _task(late, MinimalExecutionRole(late, "Role"))

    cdk.Aspects.of(app).add(AddLateStack())
    template = app.synth().get_stack_by_name("Late").template
    assert created
    policies = _execution_role_policies(template, "Task")
    assert is_allowed(
        policies, "ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
    )


def _waiting_order(stabilization: bool) -> list[str]:
    """The order in which work asked for at visits, and last work asked for while it runs,
    runs."""
    app = cdk.App(context={STABILIZATION_FLAG: stabilization})
    stack = cdk.Stack(app, "S")
    state = stack_state(stack)
    order: list[str] = []

    def work(name: str) -> None:
        order.append(name)
        if name == "first":
            after_aspects(state, lambda: order.append("last"), last=True)

    @jsii.implements(cdk.IAspect)
    class Ask:
        def visit(self, node: IConstruct) -> None:
            if node is stack:
                for name in ("first", "second", "third"):
                    after_aspects(state, functools.partial(work, name))

    cdk.Aspects.of(app).add(Ask())
    app.synth()
    return order


def test_last_work_runs_once_the_waiting_work_has_run() -> None:
    assert _waiting_order(True) == ["first", "second", "third", "last"]


def test_last_work_runs_at_once_without_aspect_stabilization() -> None:
    assert _waiting_order(False) == ["first", "last", "second", "third"]
