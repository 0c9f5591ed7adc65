"""ECS Express Mode services: the primary container read as the task definition ECS registers
(``_express``), its default log group named only at deployment; derived, with derive=False and
hardened, exact by the IAM evaluator, with no open cdk-nag finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from helpers import l1_execution_role, role_allows

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from ecs_exec_roles._express import express_containers
from examples.nag_report import add_nag_packs, synth_with_report

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:1"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{group}}:log-stream:{{stream}}"
E = ecs.CfnExpressGatewayService


def test_the_primary_container_is_main_with_the_logging_ecs_gives_it() -> None:
    role, (container,) = express_containers(
        {
            "ExecutionRoleArn": "arn:role",
            "ServiceName": "api",
            "PrimaryContainer": {"Image": "x", "Secrets": [{"Name": "A", "ValueFrom": "v"}]},
        }
    )
    assert role == "arn:role"
    assert container == {
        "image": "x",
        "secrets": [{"Name": "A", "ValueFrom": "v"}],
        "name": "Main",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/aws/ecs/default/api-*", "awslogs-stream-prefix": "ecs"},
        },
    }


@pytest.mark.parametrize(
    ("cluster", "service", "group"),
    [
        ("prod", "api", "/aws/ecs/prod/api-*"),
        (f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod", "api", "/aws/ecs/prod/api-*"),
        ({"Ref": "Cluster"}, "api", "/aws/ecs/*/api-*"),
        ("prod", None, "/aws/ecs/prod/*"),
        ("prod", {"Ref": "Name"}, "/aws/ecs/prod/*"),
    ],
)
def test_the_default_log_group_is_named_as_far_as_the_template_tells(
    cluster: Any, service: Any, group: str
) -> None:
    properties = {"ExecutionRoleArn": "r", "Cluster": cluster, "PrimaryContainer": {"Image": "x"}}
    if service is not None:
        properties["ServiceName"] = service
    _, (container,) = express_containers(properties)
    assert container["logConfiguration"]["options"]["awslogs-group"] == group


def test_a_service_without_a_primary_container_runs_no_container_of_its_own() -> None:
    assert express_containers({"TaskDefinitionArn": "arn:td", "ExecutionRoleArn": None}) == (
        None,
        [],
    )


def _services(stack: cdk.Stack, role_arn: str) -> None:
    infrastructure = iam.Role(
        stack, "Infrastructure", assumed_by=iam.ServicePrincipal("ecs.amazonaws.com")
    )
    E(
        stack,
        "Api",
        infrastructure_role_arn=infrastructure.role_arn,
        execution_role_arn=role_arn,
        service_name="api",
        primary_container=E.ExpressGatewayContainerProperty(
            image=IMAGE, secrets=[E.SecretProperty(name="DB", value_from=SECRET)]
        ),
    )
    E(
        stack,
        "Web",
        infrastructure_role_arn=infrastructure.role_arn,
        execution_role_arn=role_arn,
        cluster="prod",
        primary_container=E.ExpressGatewayContainerProperty(
            image="public.ecr.aws/nginx/nginx:1",
            aws_logs_configuration=E.ExpressGatewayServiceAwsLogsConfigurationProperty(
                log_group="/web", log_stream_prefix="web"
            ),
        ),
    )


def _writes(allowed: Any, group: str, stream: str) -> bool:
    arn = LOGS.format(group=group, stream=stream)
    return bool(allowed("logs:CreateLogStream", arn) and allowed("logs:PutLogEvents", arn))


@pytest.mark.parametrize("how", ["derived", "hardened"])
def test_the_role_allows_exactly_what_the_services_tasks_need(how: str) -> None:
    app, stack, role = l1_execution_role(how)
    _services(stack, role.role_arn)
    app.synth()
    allowed, template = role_allows(stack, role)
    assert allowed("ecr:BatchGetImage", REPOSITORY)
    assert allowed("secretsmanager:GetSecretValue", SECRET)
    # The group ECS names at deployment: any suffix, under the prefix ECS gives the streams.
    assert _writes(allowed, "/aws/ecs/default/api-3fc8", "ecs/Main/0123")
    assert not _writes(allowed, "/aws/ecs/default/api-3fc8", "other/Main/0123")
    assert not _writes(allowed, "/aws/ecs/default/web-3fc8", "ecs/Main/0123")
    assert not _writes(allowed, "/aws/ecs/prod/api-3fc8", "ecs/Main/0123")
    assert _writes(allowed, "/web", "web/Main/0123")
    assert not allowed(
        "logs:CreateLogGroup", LOGS.format(group="/aws/ecs/default/api-1", stream="")
    )
    if how == "hardened":
        logical_id = stack.get_logical_id(role.node.default_child)
        assert "ManagedPolicyArns" not in template["Resources"][logical_id]["Properties"]


def test_derive_false_fails_synth_naming_the_service_and_the_log_group() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role", derive=False)
    _services(stack, role.role_arn)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "S/Role: container 'Main' of Express Mode service 'api' (S/Api) needs "
        "logs:CreateLogStream, logs:PutLogEvents on "
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/ecs/default/api-*:log-stream:ecs/Main/*"
        in message
    )
    assert "container 'Main' of Express Mode service S/Web needs" in message


def test_the_role_has_no_open_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role")
    _services(stack, role.role_arn)
    report = synth_with_report(app)
    on_role = [f for f in report.findings if f.construct_path.startswith("S/Role")]
    assert on_role == [], report.format()


def test_an_image_of_a_repository_of_the_app_is_pulled_from_it_under_the_aspect() -> None:
    # repository_uri_for_tag: the template shows the URI built from the repository's ARN; the
    # L1's image property keeps the reference. The aspect leaves the construct's role alone.
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    repository = ecr.Repository(stack, "Repo")
    role = MinimalExecutionRole(stack, "Role")
    E(
        stack,
        "Api",
        service_name="api",
        infrastructure_role_arn="arn:aws:iam::123456789012:role/infrastructure",
        execution_role_arn=role.role_arn,
        primary_container=E.ExpressGatewayContainerProperty(
            image=repository.repository_uri_for_tag("v1")
        ),
    )
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    template = app.synth().get_stack_by_name("S").template
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    (pull,) = [s for s in policy["Statement"] if s["Sid"] == "EcrImagePull"]
    assert pull["Resource"] == {
        "Fn::GetAtt": [stack.get_logical_id(repository.node.default_child), "Arn"]
    }  # type: ignore[arg-type]
