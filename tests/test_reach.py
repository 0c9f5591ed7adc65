"""Every task definition that uses the role is seen: by the role object, by its ARN through
another role object or an L1 ``CfnTaskDefinition``, and in other regions."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from ecs_exec_roles import MinimalExecutionRole

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db"


def _synth_error(app: cdk.App) -> str:
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    return str(raised.value)


def _policy_statements(app: cdk.App, stack: str = "S") -> list[dict[str, Any]]:
    template = app.synth().get_stack_by_name(stack).template
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize(
    "other",
    [
        lambda s, e: e.role.without_policy_updates(),
        lambda s, e: iam.Role.from_role_arn(s, "Imported", e.role_arn),
        lambda s, e: iam.Role.from_role_arn(s, "Immutable", e.role_arn, mutable=False),
    ],
    ids=["without-policy-updates", "from-role-arn", "from-role-arn-immutable"],
)
def test_fails_when_a_task_definition_uses_the_role_through_another_role_object(
    other: Any,
) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=other(stack, execution))
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
    task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(repository))
    message = _synth_error(app)
    assert (
        "S/Role: task definition S/Task uses the execution role through another role object"
    ) in message
    assert "Pass the construct (or its `role`) as its execution_role." in message


def _l1_task(stack: cdk.Stack, role_arn: str, **container: Any) -> ecs.CfnTaskDefinition:
    definition: dict[str, Any] = {
        "name": "app",
        "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:v1",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/api",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "api",
            },
        },
        "secrets": [{"name": "DB", "valueFrom": f"{SECRET}:password::"}],
    }
    definition.update(container)
    return ecs.CfnTaskDefinition(
        stack,
        "Raw",
        execution_role_arn=role_arn,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu="256",
        memory="512",
        container_definitions=[definition],
    )


def test_an_l1_task_definition_using_the_role_by_arn_is_derived_from() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    _l1_task(stack, execution.role_arn)
    statements = {s["Sid"]: s for s in _policy_statements(app)}
    assert statements["EcrImagePull"]["Resource"] == (
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
    )
    assert statements["SecretsRead"]["Resource"] == f"{SECRET}-??????"
    assert "log-group:/ecs/api:log-stream:api/*" in json.dumps(statements["LogsWrite"])


def test_fails_when_an_l1_task_definition_needs_what_the_props_leave_out() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role", derive=False)
    _l1_task(stack, execution.role_arn)
    message = _synth_error(app)
    task = "S/Role: container 'app' of task definition S/Raw needs"
    assert (
        f"{task} ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, "
        f"ecr:BatchGetImage on arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api for its image"
    ) in message
    assert f"{task} secretsmanager:GetSecretValue on {SECRET}-?????? for its secret DB" in message
    assert (
        f"{task} logs:CreateLogStream, logs:PutLogEvents on arn:aws:logs:{REGION}:{ACCOUNT}:"
        "log-group:/ecs/api:log-stream:api/app/* for awslogs"
    ) in message
    for prop in ("repositories", "secrets", "log_groups"):
        assert f"Suggested fix: add the resource to `{prop}`." in message


def test_an_l1_task_definition_of_another_role_is_not_taken_for_it() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    MinimalExecutionRole(stack, "Role", derive=False)
    other = iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    _l1_task(stack, other.role_arn)
    app.synth()


def test_fails_when_an_l1_secret_names_a_secret_of_the_app_not_derived() -> None:
    # A valueFrom naming a resource of the app is not read back into a CDK object for an L1:
    # the check names it.
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    execution = MinimalExecutionRole(stack, "Role")
    group = logs.LogGroup(stack, "Logs")
    _l1_task(
        stack,
        execution.role_arn,
        logConfiguration={
            "logDriver": "awslogs",
            "options": {"awslogs-group": group.log_group_name, "awslogs-stream-prefix": "api"},
        },
    )
    message = _synth_error(app)
    assert "log-group:<S/Logs>:log-stream:api/app/* for awslogs" in message
    assert "Suggested fix: add the resource to `log_groups` (derivation did not see it" in message


def _task_in_another_region(**role: Any) -> cdk.App:
    """A role in eu-west-1 used by a task definition of a stack in us-east-1."""
    app = cdk.App()
    platform = cdk.Stack(app, "Platform", env=ENV, cross_region_references=True)
    service = cdk.Stack(
        app,
        "Service",
        env=cdk.Environment(account=ACCOUNT, region="us-east-1"),
        cross_region_references=True,
    )
    execution = MinimalExecutionRole(platform, "Role", **role)
    task = ecs.FargateTaskDefinition(service, "Task", execution_role=execution.role)
    task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))
    return app


def test_fails_when_a_task_definition_is_in_a_region_the_trust_condition_leaves_out() -> None:
    message = _synth_error(_task_in_another_region())
    assert (
        "Platform/Role: task definition Service/Task is in us-east-1, but the role's trust "
        "policy names only eu-west-1 in aws:SourceArn"
    ) in message
    assert "trust_all_regions=True" in message


def test_a_task_definition_in_another_region_is_fine_when_every_region_is_trusted() -> None:
    _task_in_another_region(trust_all_regions=True).synth()
