"""The constructs where an ``iam.IRole`` is expected: passing the construct gives the same app
as passing its ``role``, grants included, and nothing reaches the role around the checks."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Template
from constructs import Construct, IConstruct

from ecs_exec_roles import (
    ExecutionRoleError,
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from tests.helpers import role_logical_id

# An app builder: given a stack and what to hand aws-cdk-lib as the role (the construct, or
# its ``role``), it builds the rest of the app.
Build = Callable[[cdk.Stack, Callable[[Any], Any]], None]


def _as_construct(execution: Any) -> Any:
    return execution


def _as_role(execution: Any) -> Any:
    return execution.role


def _synth(build: Build, pick: Callable[[Any], Any]) -> dict[str, Any]:
    """Every stack's template, or the synth error, of the app ``build`` makes."""
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    build(stack, pick)
    try:
        assembly = app.synth()
    except RuntimeError as error:
        # The verification's report names its copy in the app's own output directory.
        return {"error": re.sub(r"A copy of this report can be found in: \S+", "", str(error))}
    return {s.stack_name: s.template for s in assembly.stacks}


def _same_app(build: Build) -> dict[str, Any]:
    """The app passing the construct, checked to be the app passing its role."""
    with_construct = _synth(build, _as_construct)
    assert with_construct == _synth(build, _as_role)
    return with_construct


def _repository(stack: cdk.Stack) -> ecr.IRepository:
    return ecr.Repository.from_repository_name(stack, "Repo", "team/api")


def _cluster(stack: cdk.Stack) -> ecs.Cluster:
    return ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2))


def _task(scope: Construct, execution_role: Any, repository: ecr.IRepository) -> ecs.TaskDefinition:
    task = ecs.FargateTaskDefinition(scope, "Task", execution_role=execution_role)
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api"),
    )
    return task


@pytest.mark.parametrize(
    "construct", [MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole]
)
def test_a_task_definition_given_the_construct_is_given_its_role(construct: type[Any]) -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        database = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "prod/api/db")
        execution = construct(stack, "Execution")
        task = _task(stack, pick(execution), _repository(stack))
        task.default_container.add_secret(  # type: ignore[union-attr]
            "DB", ecs.Secret.from_secrets_manager(database)
        )

    templates = _same_app(build)
    template = templates["Stack"]
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    # The derived policy reached the template: the grants went to the recording role.
    assert "secretsmanager:GetSecretValue" in str(policies)
    assert "AWS::IAM::Policy" not in str(template)


def test_the_task_definition_hands_back_the_construct() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    task = _task(stack, execution, _repository(stack))
    assert task.execution_role is execution
    assert task.obtain_execution_role() is execution
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ExecutionRoleArn": {"Fn::GetAtt": [role_logical_id(stack, execution), "Arn"]}},
    )


def test_an_ecs_patterns_service_given_the_construct_is_given_its_role() -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        execution = MinimalExecutionRole(stack, "Execution")
        ecs_patterns.ApplicationLoadBalancedFargateService(
            stack,
            "Service",
            cluster=_cluster(stack),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(_repository(stack), "v1"),
                execution_role=pick(execution),
            ),
        )

    assert "ecr:BatchGetImage" in str(_same_app(build)["Stack"])


def test_scheduled_and_event_targets_pass_the_same_role() -> None:
    # Both grant their events role iam:PassRole on the task's execution role.
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        cluster = _cluster(stack)
        task = _task(stack, pick(SharedExecutionRole(stack, "Execution")), _repository(stack))
        ecs_patterns.ScheduledFargateTask(
            stack,
            "Scheduled",
            cluster=cluster,
            schedule=autoscaling.Schedule.rate(cdk.Duration.hours(1)),
            scheduled_fargate_task_definition_options=(
                ecs_patterns.ScheduledFargateTaskDefinitionOptions(task_definition=task)
            ),
        )
        rule = events.Rule(stack, "Rule", schedule=events.Schedule.rate(cdk.Duration.hours(2)))
        rule.add_target(targets.EcsTask(cluster=cluster, task_definition=task))

    assert "iam:PassRole" in str(_same_app(build)["Stack"])


def test_a_task_definition_in_another_stack_given_the_construct() -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        execution = MinimalExecutionRole(stack, "Execution")
        other = cdk.Stack(stack.node.root, "Other")
        repository = ecr.Repository.from_repository_name(other, "Repo", "team/worker")
        _task(other, pick(execution), repository)

    templates = _same_app(build)
    assert "repository/team/worker" in str(templates["Other"])


def test_grants_to_the_construct_are_recorded_like_grants_to_its_role() -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        repository = ecr.Repository(stack, "Repo")
        execution = MinimalExecutionRole(stack, "Execution")
        _task(stack, execution.role, repository)
        repository.grant_pull(pick(execution))
        deployer = iam.User(stack, "Deployer")
        pick(execution).grant_pass_role(identity=deployer)
        pick(execution).grant_assume_role(deployer)
        pick(execution).grant(deployer, "iam:GetRole")

    template = _same_app(build)["Stack"]
    assert [
        statement["Action"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ] == ["iam:PassRole", "sts:AssumeRole", "iam:GetRole"]


@pytest.mark.parametrize(
    ("widen", "expected"),
    [
        (
            lambda stack, role: role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")
            ),
            "policy/AdministratorAccess is attached with add_managed_policy()",
        ),
        (
            lambda stack, role: role.attach_inline_policy(
                iam.Policy(stack, "Inline", statements=[_everything()])
            ),
            "the inline policy Stack/Inline is attached to the execution role",
        ),
        (
            lambda stack, role: iam.Policy(
                stack, "Inline", statements=[_everything()]
            ).attach_to_role(role),
            "the inline policy Stack/Inline is attached to the execution role",
        ),
        (
            lambda stack, role: iam.ManagedPolicy(
                stack, "Managed", statements=[_everything()], roles=[role]
            ),
            "Stack/Managed",
        ),
        (
            lambda stack, role: role.add_to_principal_policy(_everything()),
            "on *: add the resource to `environment_files`",
        ),
        (lambda stack, role: s3.Bucket(stack, "Bucket").grant_read(role), "s3:GetObject"),
    ],
    ids=["managed", "inline", "attach_to_role", "managed-policy-roles", "statement", "grant"],
)
def test_fails_when_a_policy_reaches_the_construct_around_its_props(
    widen: Callable[[cdk.Stack, Any], object], expected: str
) -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        execution = MinimalExecutionRole(stack, "Execution")
        _task(stack, pick(execution), _repository(stack))
        widen(stack, pick(execution))

    outcome = _same_app(build)
    assert "error" in outcome, "a policy through the construct widened the role"
    assert expected in outcome["error"]


def _everything() -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["s3:*"], resources=["*"])


def test_fails_when_a_grant_to_the_construct_is_not_in_the_props_of_a_role_not_derived() -> None:
    def build(stack: cdk.Stack, pick: Callable[[Any], Any]) -> None:
        execution = MinimalExecutionRole(stack, "Execution", derive=False)
        _task(stack, pick(execution), _repository(stack))

    outcome = _same_app(build)
    assert "Stack/Task" in outcome["error"]
    assert "repository/team/api" in outcome["error"]


def test_harden_leaves_a_task_definition_given_the_construct_alone() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    _task(stack, execution, _repository(stack))
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    Annotations.from_stack(stack).has_no_warning("*", "*")


def test_a_role_used_only_through_the_construct_is_not_unused() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    _task(stack, execution, _repository(stack))
    assert not Annotations.from_stack(stack).find_warning("*", "*")


def test_the_interface_members_are_the_roles() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    role = execution.role
    assert execution.grant_principal is role
    assert execution.stack is role.stack
    for name in (
        "role_arn",
        "role_name",
        "assume_role_action",
        "principal_account",
        "role_ref",
        "env",
        "policy_fragment",
    ):
        mine, its = getattr(execution, name), getattr(role, name)
        assert stack.resolve(_comparable(mine)) == stack.resolve(_comparable(its)), name
    execution.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    Template.from_stack(stack).has_resource(
        "AWS::IAM::Role", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )


def _comparable(value: Any) -> Any:
    if isinstance(value, iam.PrincipalPolicyFragment):
        return value.principal_json
    if hasattr(value, "role_arn"):
        return [value.role_arn, value.role_name]
    if hasattr(value, "account"):
        return [value.account, value.region]
    return value


def _interface_members(interface: type[Any]) -> set[str]:
    """The Python names of every jsii member of ``interface`` and the interfaces it extends."""
    names = set()
    for name, member in inspect.getmembers(interface):
        target = member.fget if isinstance(member, property) else member
        if getattr(target, "__jsii_name__", None) is not None:
            names.add(name)
    return names


def test_the_constructs_define_every_member_of_irole() -> None:
    # jsii answers aws-cdk-lib only for members a Python class defines below the jsii base
    # class; one left out is `undefined` on the JavaScript side (the original failure read
    # `principalAccount` of it). A member a newer aws-cdk-lib adds fails here.
    members = _interface_members(iam.IRole) - _interface_members(IConstruct)
    assert {"grant_principal", "principal_account", "role_ref", "env", "stack"} <= members
    for construct in (MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole):
        below_construct = construct.__mro__[: construct.__mro__.index(Construct)]
        defined = {name for cls in below_construct for name in vars(cls)}
        assert members <= defined, sorted(members - defined)


@pytest.mark.parametrize("method", ["grant_pass_role", "grant_assume_role"])
@pytest.mark.parametrize("keyword", ["grantee", "identity", None])
def test_grant_methods_take_the_principal_by_either_name(method: str, keyword: str | None) -> None:
    # ``grantee`` is iam.IRole's name (a type checker matches the construct against it),
    # ``identity`` iam.Role's.
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    deployer = iam.User(stack, "Deployer")
    grant_method = getattr(execution, method)
    grant = grant_method(deployer) if keyword is None else grant_method(**{keyword: deployer})
    assert grant.success
    expected = getattr(execution.role, method)(iam.User(stack, "Other"))
    assert stack.resolve(grant.principal_statements[0].to_statement_json()) == stack.resolve(
        expected.principal_statements[0].to_statement_json()
    )


@pytest.mark.parametrize("method", ["grant_pass_role", "grant_assume_role"])
def test_fails_when_a_grant_method_is_given_the_principal_twice(method: str) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    deployer = iam.User(stack, "Deployer")
    with pytest.raises(ExecutionRoleError) as raised:
        getattr(execution, method)(deployer, identity=deployer)
    assert str(raised.value) == (
        f"Stack/Execution: {method}() was given grantee=the construct 'Stack/Deployer' and "
        "identity=the construct 'Stack/Deployer'; pass the principal once, for example "
        f"{method}(pipeline_role)."
    )


@pytest.mark.parametrize("method", ["grant_pass_role", "grant_assume_role"])
def test_fails_when_a_grant_method_is_given_no_principal(method: str) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    execution = MinimalExecutionRole(stack, "Execution")
    with pytest.raises(ExecutionRoleError, match=rf"{method}\(\) was given grantee=None and "):
        getattr(execution, method)()
