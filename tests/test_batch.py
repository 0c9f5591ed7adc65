"""AWS Batch job definitions as users of execution roles: the tasks ECS runs for them read from
their template form (``_batch``); L2 jobs on Fargate and EC2 and L1 jobs with several containers,
derived, with derive=False, and hardened, each exact by the IAM evaluator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from helpers import (
    api_task,
    concrete_name,
    fargate_job,
    l1_execution_role,
    role_allows,
    role_logical_id,
)

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from ecs_exec_roles._batch import DEFAULT_LOG_GROUP, job_tasks
from examples.nag_report import add_nag_packs, synth_with_report

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
STREAM = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{group}}:log-stream:{{stream}}"
APP_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:1"
APP_REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/app"
TOKEN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/token"
PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")

Allowed = Callable[[str, str], bool]
J = batch.CfnJobDefinition


# -- the template form ---------------------------------------------------------------------------


def test_a_single_container_job_logs_to_batchs_group_under_its_name() -> None:
    (task,) = job_tasks(
        {"ContainerProperties": {"Image": "x", "ExecutionRoleArn": "arn:role"}}, "nightly"
    )
    (container,) = task.containers
    assert task.role_arn == "arn:role"
    assert container["name"] == "default"
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": DEFAULT_LOG_GROUP, "awslogs-stream-prefix": "nightly"},
    }


def test_a_generated_name_or_a_named_group_gives_no_prefix() -> None:
    (task,) = job_tasks({"ContainerProperties": {"Image": "x", "ExecutionRoleArn": "r"}}, None)
    assert task.containers[0]["logConfiguration"]["options"] == {"awslogs-group": DEFAULT_LOG_GROUP}
    given = {"LogDriver": "awslogs", "Options": {"awslogs-group": "/mine"}}
    (task,) = job_tasks(
        {"ContainerProperties": {"Image": "x", "ExecutionRoleArn": "r", "LogConfiguration": given}},
        "nightly",
    )
    assert task.containers[0]["logConfiguration"]["options"] == {"awslogs-group": "/mine"}
    splunk = {"LogDriver": "splunk", "Options": {"splunk-url": "u"}}
    (task,) = job_tasks(
        {
            "ContainerProperties": {
                "Image": "x",
                "ExecutionRoleArn": "r",
                "LogConfiguration": splunk,
            }
        },
        "nightly",
    )
    assert task.containers[0]["logConfiguration"] == {
        "logDriver": "splunk",
        "options": {"splunk-url": "u"},
    }


def test_multi_container_and_multi_node_jobs_give_a_task_per_role() -> None:
    properties = {
        "EcsProperties": {
            "TaskProperties": [
                {"ExecutionRoleArn": "a", "Containers": [{"Name": "app", "Image": "x"}]}
            ]
        },
        "NodeProperties": {
            "NodeRangeProperties": [
                {"Container": {"Image": "y", "ExecutionRoleArn": "b"}},
                {"Container": {"Image": "z", "ExecutionRoleArn": "a"}},
                {"Container": {"Image": "no role"}},
            ]
        },
    }
    tasks = job_tasks(properties, "big")
    assert [(t.role_arn, [c["image"] for c in t.containers]) for t in tasks] == [
        ("a", ["x", "z"]),
        ("b", ["y"]),
    ]
    assert tasks[0].containers[0]["name"] == "app"


# -- apps ----------------------------------------------------------------------------------------


def _writes(allowed: Allowed, group: str, stream: str) -> bool:
    arn = STREAM.format(group=group, stream=stream)
    return all(allowed(action, arn) for action in WRITE)


def _l2_jobs(stack: cdk.Stack, role: Any) -> dict[str, Any]:
    """A Fargate job (default logging, a secret, an image of the app's repository) and an EC2
    job (a log group of the app), on ``role`` (``None``: aws-cdk-lib's own)."""
    secret = secretsmanager.Secret(stack, "Db")
    repository = ecr.Repository(stack, "Repo")
    group = logs.LogGroup(stack, "Jobs")
    fargate = batch.EcsFargateContainerDefinition(
        stack,
        "Nightly",
        image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
        cpu=1,
        memory=cdk.Size.gibibytes(2),
        execution_role=role,
        secrets={"DB": batch.Secret.from_secrets_manager(secret, "password")},
    )
    batch.EcsJobDefinition(stack, "NightlyJob", job_definition_name="nightly", container=fargate)
    ec2 = batch.EcsEc2ContainerDefinition(
        stack,
        "Report",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
        cpu=1,
        memory=cdk.Size.gibibytes(1),
        execution_role=role,
        logging=ecs.LogDriver.aws_logs(stream_prefix="report", log_group=group),
    )
    batch.EcsJobDefinition(stack, "ReportJob", container=ec2)
    return {
        "secret": secret,
        "repository": repository,
        "group": group,
        "containers": (fargate, ec2),
    }


def _check_l2_role(allowed: Allowed, template: dict[str, Any], ec2_allowed: Allowed) -> None:
    """``allowed``: what the Fargate job's role allows; ``ec2_allowed``: the EC2 job's."""
    resources = template["Resources"]
    (secret_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"]
    secret_arn = concrete_name(secret_id, "AWS::SecretsManager::Secret")
    assert allowed("secretsmanager:GetSecretValue", secret_arn)
    assert not allowed("secretsmanager:DescribeSecret", secret_arn)
    (repository_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::ECR::Repository"]
    repository_arn = APP_REPOSITORY.replace("team/app", repository_id.lower())
    assert all(allowed(action, repository_arn) for action in PULL)
    # Batch's default group, under the job definition's name only (aws-cdk-lib: all of it).
    assert _writes(allowed, DEFAULT_LOG_GROUP, "nightly/default/0123")
    assert not _writes(allowed, DEFAULT_LOG_GROUP, "other-job/default/0123")
    (group_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"]
    group_name = concrete_name(group_id, "")
    assert _writes(ec2_allowed, group_name, "report/default/0123")
    assert not _writes(ec2_allowed, group_name, "other/default/0123")


def test_a_minimal_role_derives_what_l2_jobs_need() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role")
    _l2_jobs(stack, role)
    app.synth()
    allowed, template = role_allows(stack, role)
    _check_l2_role(allowed, template, allowed)


def test_the_aspect_hardens_the_roles_aws_cdk_lib_makes_for_batch_containers() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    made = _l2_jobs(stack, None)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    fargate, ec2 = made["containers"]
    allowed, template = role_allows(stack, fargate.execution_role)
    allowed_ec2, _ = role_allows(stack, ec2.execution_role)
    _check_l2_role(allowed, template, allowed_ec2)
    assert not _writes(allowed_ec2, DEFAULT_LOG_GROUP, "nightly/default/0123")
    role_id = stack.get_logical_id(fargate.execution_role.node.default_child)
    role = template["Resources"][role_id]
    # Same logical ID; no DefaultPolicy; no trust conditions (Batch does not document them).
    assert role_id.startswith("NightlyExecutionRole")
    assert not any(v["Type"] == "AWS::IAM::Policy" for v in template["Resources"].values()), (
        "the DefaultPolicy is replaced"
    )
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert "Condition" not in statement


def _multi_container_job(stack: cdk.Stack, role_arn: str) -> None:
    J(
        stack,
        "Multi",
        type="container",
        job_definition_name="multi",
        platform_capabilities=["FARGATE"],
        ecs_properties=J.EcsPropertiesProperty(
            task_properties=[
                J.EcsTaskPropertiesProperty(
                    execution_role_arn=role_arn,
                    containers=[
                        J.TaskContainerPropertiesProperty(
                            name="app",
                            image=APP_IMAGE,
                            secrets=[J.SecretProperty(name="TOKEN", value_from=TOKEN)],
                        ),
                        J.TaskContainerPropertiesProperty(
                            name="side",
                            image="public.ecr.aws/docker/library/busybox:1",
                            log_configuration=J.LogConfigurationProperty(
                                log_driver="awslogs",
                                options={
                                    "awslogs-group": "/jobs/side",
                                    "awslogs-stream-prefix": "side",
                                    "awslogs-region": REGION,
                                },
                            ),
                        ),
                    ],
                )
            ]
        ),
    )


def _check_l1_role(allowed: Allowed) -> None:
    assert all(allowed(action, APP_REPOSITORY) for action in PULL)
    assert not allowed("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/x")
    assert allowed("ssm:GetParameters", TOKEN)
    assert _writes(allowed, "/jobs/side", "side/side/0123")
    assert not _writes(allowed, "/jobs/side", "other/side/0123")
    # The container 'app' logs with Batch's default; multi-container streams are not
    # documented, so the role writes to the group's streams.
    assert _writes(allowed, DEFAULT_LOG_GROUP, "multi/app/0123")
    assert not _writes(allowed, "/aws/batch/other", "multi/app/0123")


@pytest.mark.parametrize("how", ["derived", "hardened"])
def test_an_l1_multi_container_job_is_read(how: str) -> None:
    app, stack, role = l1_execution_role(how)
    _multi_container_job(stack, role.role_arn)
    app.synth()
    allowed, template = role_allows(stack, role)
    _check_l1_role(allowed)
    if how == "hardened":
        properties = template["Resources"][stack.get_logical_id(role.node.default_child)][
            "Properties"
        ]
        assert "ManagedPolicyArns" not in properties


def test_derive_false_fails_synth_naming_the_job_its_container_and_the_prop() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role", derive=False)
    _multi_container_job(stack, role.role_arn)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "S/Role: container 'app' of job definition 'multi' (S/Multi) needs ssm:GetParameters "
        f"on {TOKEN} for its secret TOKEN" in message
    )
    assert "add the resource to `parameters`" in message
    assert f"log-group:{DEFAULT_LOG_GROUP}:log-stream:*" in message

    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(
        stack,
        "Role",
        derive=False,
        repositories=[ecr.Repository.from_repository_name(stack, "R", "team/app")],
        parameters=[],
    )
    _multi_container_job(stack, role.role_arn)
    with pytest.raises(RuntimeError, match="for its secret TOKEN"):
        app.synth()


def _trust_statement(template: dict[str, Any], stack: cdk.Stack, role: Any) -> dict[str, Any]:
    role_id = role_logical_id(stack, role)
    (statement,) = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    return dict(statement)


def test_a_role_a_job_uses_gets_no_trust_conditions_unless_asked_and_then_a_warning() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    default = MinimalExecutionRole(stack, "Role")
    insisted = MinimalExecutionRole(stack, "Insisted", trust_conditions=True)
    service = MinimalExecutionRole(stack, "Service")
    _multi_container_job(stack, default.role_arn)
    fargate_job(
        stack, "Other", "OtherContainer", execution_role=insisted, job_definition_name="other"
    )
    api_task(stack, service)
    assembly = app.synth()
    template = assembly.get_stack_by_name("S").template
    assert "Condition" not in _trust_statement(template, stack, default)
    assert "Condition" in _trust_statement(template, stack, insisted)
    # A role only ECS services use keeps its conditions.
    assert "Condition" in _trust_statement(template, stack, service)
    warnings = [
        entry
        for entry in assembly.get_stack_by_name("S").messages
        if "batch-trust-conditions" in str(entry.entry.data)
    ]
    assert [entry.id for entry in warnings] == ["/S/Insisted"]
    text = str(warnings[0].entry.data)
    assert "job definition 'other' (S/Other) uses the role" in text
    assert "trust_conditions=True" in text


def test_the_roles_have_no_open_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role")
    _l2_jobs(stack, role)
    _multi_container_job(stack, role.role_arn)
    report = synth_with_report(app)
    on_role = [f for f in report.findings if f.construct_path.startswith("S/Role")]
    assert on_role == [], report.format()
