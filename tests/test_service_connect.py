"""Service Connect: the proxy ECS adds to a service's tasks logs through the execution role, to
the streams under its own prefix; L2 and L1 services, derived, with derive=False, hardened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from helpers import concrete_name, role_allows

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from examples.nag_report import add_nag_packs, synth_with_report

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{group}}:log-stream:{{stream}}"

Allowed = Callable[[str, str], bool]


def _stack(app: cdk.App | None = None) -> tuple[cdk.App, cdk.Stack, ecs.Cluster]:
    app = app or cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    cluster = ecs.Cluster(
        stack,
        "Cluster",
        vpc=vpc,
        default_cloud_map_namespace=ecs.CloudMapNamespaceOptions(
            name="local", use_for_service_connect=True
        ),
    )
    return app, stack, cluster


def _task(stack: cdk.Stack, role: Any) -> ecs.FargateTaskDefinition:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
        port_mappings=[ecs.PortMapping(container_port=80, name="api")],
    )
    return task


def _l2_service(stack: cdk.Stack, cluster: ecs.Cluster, task: ecs.TaskDefinition) -> None:
    ecs.FargateService(
        stack,
        "Svc",
        cluster=cluster,
        task_definition=task,
        service_connect_configuration=ecs.ServiceConnectProps(
            log_driver=ecs.LogDrivers.aws_logs(stream_prefix="proxy"),
            services=[ecs.ServiceConnectService(port_mapping_name="api")],
        ),
    )


def _l1_service(stack: cdk.Stack, cluster: ecs.Cluster, task: ecs.TaskDefinition) -> None:
    group = logs.LogGroup.from_log_group_name(stack, "ProxyLogs", "/ecs/proxy")
    ecs.CfnService(
        stack,
        "L1Svc",
        cluster=cluster.cluster_name,
        task_definition=task.task_definition_arn,
        launch_type="FARGATE",
        network_configuration=ecs.CfnService.NetworkConfigurationProperty(
            awsvpc_configuration=ecs.CfnService.AwsVpcConfigurationProperty(
                subnets=cluster.vpc.select_subnets().subnet_ids
            )
        ),
        service_connect_configuration=ecs.CfnService.ServiceConnectConfigurationProperty(
            enabled=True,
            namespace="local",
            log_configuration=ecs.CfnService.LogConfigurationProperty(
                log_driver="awslogs",
                options={
                    "awslogs-group": group.log_group_name,
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "l1proxy",
                },
            ),
        ),
    )


def _group(template: dict[str, Any], fragment: str) -> str:
    (found,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup" and logical_id.startswith(fragment)
    ]
    return concrete_name(found, "")


def _writes(allowed: Allowed, group: str, stream: str) -> bool:
    arn = GROUP_ARN.format(group=group, stream=stream)
    return allowed("logs:CreateLogStream", arn) and allowed("logs:PutLogEvents", arn)


@pytest.mark.parametrize("how", ["derived", "hardened"])
def test_an_l2_services_proxy_writes_only_under_its_stream_prefix(how: str) -> None:
    app, stack, cluster = _stack()
    role = MinimalExecutionRole(stack, "Role") if how == "derived" else None
    task = _task(stack, role.role if role else None)
    _l2_service(stack, cluster, task)
    if how == "hardened":
        cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    allowed, template = role_allows(stack, role if role else task.execution_role)
    proxy = _group(template, "SvcLogGroup")
    # aws-cdk-lib grants the proxy's whole log group; the role allows its prefix only.
    assert _writes(allowed, proxy, "proxy/ecs-service-connect-abc/0123")
    assert not _writes(allowed, proxy, "other/x/0123")
    assert _writes(allowed, _group(template, "TaskappLogGroup"), "app/app/0123")


def test_an_l1_services_proxy_is_derived_and_fails_synth_where_the_role_omits_it() -> None:
    app, stack, cluster = _stack()
    role = MinimalExecutionRole(stack, "Role")
    task = _task(stack, role.role)
    _l1_service(stack, cluster, task)
    app.synth()
    allowed, _ = role_allows(stack, role)
    assert _writes(allowed, "/ecs/proxy", "l1proxy/ecs-service-connect-abc/0123")
    assert not _writes(allowed, "/ecs/proxy", "other/x/0123")

    app, stack, cluster = _stack()
    app_logs = logs.LogGroup(stack, "AppLogs")
    role = MinimalExecutionRole(stack, "Role", derive=False, log_groups=[app_logs])
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=app_logs),
    )
    _l1_service(stack, cluster, task)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "Service Connect proxy of S/L1Svc" in message
    assert "/ecs/proxy" in message


def test_the_roles_have_no_open_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    app, stack, cluster = _stack(app)
    role = MinimalExecutionRole(stack, "Role")
    task = _task(stack, role.role)
    _l2_service(stack, cluster, task)
    _l1_service(stack, cluster, task)
    report = synth_with_report(app)
    on_role = [f for f in report.findings if f.construct_path.startswith("S/Role")]
    assert on_role == [], report.format()
