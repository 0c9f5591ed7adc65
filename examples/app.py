"""Example app: task families, each on the execution role that fits it.

- ``api``: one task family on a :class:`MinimalExecutionRole` naming exactly its ECR repository,
  log group, database secret and SSM parameter.
- ``worker-a`` and ``worker-b``: two task families sharing one :class:`SharedExecutionRole`,
  each with its own repository, log group and secret.
- ``demo``: a quick start on a :class:`StarterExecutionRole` (the AWS managed policy for ECR
  and logs) plus one secret.
- ``web``: an image built from ``examples/web/Dockerfile`` (``ContainerImage.from_asset``) and an
  environment file, on a :class:`MinimalExecutionRole` that names the CDK bootstrap's
  container-assets repository and writes only to log streams under its prefix.
- ``store``: an ``ecs_patterns`` load-balanced Fargate service with the pattern's defaults, on a
  :class:`MinimalExecutionRole` with no props: derived at synth from the task definition the
  pattern builds.
- ``reports``: a task definition written the aws-cdk-lib way, with the execution role
  aws-cdk-lib makes for it, hardened in place by :class:`HardenExecutionRoles` on the stack.
- ``nightly``, in the stage ``Staging`` (as a deployment pipeline has them): another task
  definition on aws-cdk-lib's role, hardened by :class:`HardenExecutionRoles` added inside the
  stage (an aspect on the app does not reach into a stage).
- ``cleanup``, in the same stage: a task definition on an ``iam.Role`` the app made with the
  AWS managed ``AmazonECSTaskExecutionRolePolicy``, as many apps have it, hardened by the same
  aspect (it is used only as an execution role).
- ``compaction``, in the same stage: an AWS Batch job definition on Fargate with Batch's default
  logging, whose execution role aws-cdk-lib makes; the same aspect hardens it (logs under the
  job definition's name in ``/aws/batch/job``, no trust conditions: see the README).

The secrets and log groups are encrypted with a customer managed key, so the roles also show
``kms:Decrypt`` through Secrets Manager. The app synthesizes without Docker and without an
AWS account (``bash scripts/synth.sh``). The stack uses ``CDK_DEFAULT_ACCOUNT`` and
``CDK_DEFAULT_REGION`` when both are set and is environment-agnostic otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)

__all__ = [
    "LOG_GROUP_PREFIX",
    "STACK_NAME",
    "ExampleStack",
    "JobsStage",
    "ServiceResources",
    "build_app",
    "data_key",
    "log_group",
    "repository",
    "secret",
    "service_resources",
]

STACK_NAME = "EcsExecRolesExample"
_WEB_DIR = Path(__file__).parent / "web"
# Every log group of the example lives under this prefix; the key policy names it.
LOG_GROUP_PREFIX = "/example/"

# cdk-nag findings about the example's own secrets, not about the execution roles. A real
# service rotates its secrets; rotation needs a Lambda function the example leaves out.
_SECRET_ROTATION_FINDINGS = (
    "AwsSolutions::AwsSolutions-SMG4",
    "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled",
    "HIPAA.Security::HIPAA.Security-SecretsManagerRotationEnabled",
)
_SECRET_ROTATION_REASON = (
    "Example secret: a real service schedules rotation, which needs a rotation Lambda "
    "function the example leaves out."
)


# cdk-nag findings about the store service's own infrastructure (its VPC, internal load
# balancer and the log group the pattern creates), not about the execution roles. A real
# service serves HTTPS with a certificate of its domain, logs its load balancer's access and
# keeps its logs encrypted for a set period; the example leaves those out to stay small.
_STORE_INFRASTRUCTURE_FINDINGS = {
    "Store/LB": (
        "Example load balancer: internal, in isolated subnets; a real service turns on access "
        "logs, deletion protection, invalid header dropping and a WAF web ACL.",
        (
            "AwsSolutions::AwsSolutions-ELB2",
            "HIPAA.Security::HIPAA.Security-ALBHttpDropInvalidHeaderEnabled",
            "HIPAA.Security::HIPAA.Security-ELBDeletionProtectionEnabled",
            "HIPAA.Security::HIPAA.Security-ELBLoggingEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-ALBWAFEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-ELBDeletionProtectionEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-ELBLoggingEnabled",
            "PCI.DSS.321::PCI.DSS.321-ALBHttpDropInvalidHeaderEnabled",
            "PCI.DSS.321::PCI.DSS.321-ALBWAFEnabled",
            "PCI.DSS.321::PCI.DSS.321-ELBLoggingEnabled",
        ),
    ),
    "Store/LB/SecurityGroup": (
        "Example load balancer: internal, reachable only inside the VPC's isolated subnets.",
        ("AwsSolutions::AwsSolutions-EC23",),
    ),
    "Store/LB/PublicListener": (
        "Example listener: HTTP inside the VPC; a real service listens on HTTPS with an ACM "
        "certificate of its domain.",
        tuple(
            f"{pack}::{pack}-{rule}"
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
            for rule in ("ALBHttpToHttpsRedirection", "ELBv2ACMCertificateRequired")
        ),
    ),
    "Store/TaskDef/web/LogGroup": (
        "The log group the ecs_patterns service creates by default, shown as it comes; a real "
        "service passes a log driver with an encrypted log group and a retention period.",
        tuple(
            f"{pack}::{pack}-{rule}"
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
            for rule in ("CloudWatchLogGroupEncrypted", "CloudWatchLogGroupRetentionPeriod")
        ),
    ),
    "Vpc/FlowLog": (
        "Example VPC flow log, as aws-cdk-lib creates it (its role's default policy, its log "
        "group without a key).",
        tuple(
            f"{pack}::{pack}-{rule}"
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
            for rule in ("IAMNoInlinePolicy", "CloudWatchLogGroupEncrypted")
        ),
    ),
    "Vpc": (
        "Example VPC: its default security group is used by nothing.",
        tuple(
            f"{pack}::{pack}-VPCDefaultSecurityGroupClosed"
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
        ),
    ),
}


def data_key(scope: Construct, id: str) -> kms.Key:
    """A customer managed key for secrets and for the log groups under ``LOG_GROUP_PREFIX``."""
    stack = cdk.Stack.of(scope)
    key = kms.Key(
        scope,
        id,
        description="Encrypts the example's secrets and log groups",
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    # CloudWatch Logs uses the key itself, as the service: the execution role needs no KMS
    # permission to write to an encrypted log group. The condition key is a String (a string
    # operator compares it), and only the actions that carry an encryption context are listed:
    # with this condition, a Describe action could never be allowed.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
            actions=[
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ],
            resources=["*"],
            conditions={
                "StringLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{LOG_GROUP_PREFIX}*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return key


def repository(scope: Construct, id: str, name: str) -> ecr.Repository:
    """An ECR repository that scans images on push and keeps tags immutable."""
    return ecr.Repository(
        scope,
        id,
        repository_name=f"example/{name}",
        image_scan_on_push=True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        empty_on_delete=True,
    )


def log_group(scope: Construct, id: str, name: str, key: kms.IKey) -> logs.LogGroup:
    """A log group under ``LOG_GROUP_PREFIX``, kept one year and encrypted with ``key``."""
    return logs.LogGroup(
        scope,
        id,
        log_group_name=f"{LOG_GROUP_PREFIX}{name}",
        retention=logs.RetentionDays.ONE_YEAR,
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def secret(scope: Construct, id: str, name: str, key: kms.IKey) -> secretsmanager.Secret:
    """A generated credentials secret encrypted with ``key``; its rotation findings are noted."""
    created = secretsmanager.Secret(
        scope,
        id,
        secret_name=f"example/{name}",
        description=f"Credentials of the {name} service",
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template='{"username": "app"}',
            generate_string_key="password",
            exclude_punctuation=True,
        ),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    for finding in _SECRET_ROTATION_FINDINGS:
        cdk.Validations.of(created).acknowledge(
            cdk.Acknowledgment(id=finding, reason=_SECRET_ROTATION_REASON)
        )
    return created


@dataclass(frozen=True)
class ServiceResources:
    """What one task family's containers use."""

    repository: ecr.Repository
    log_group: logs.LogGroup
    secret: secretsmanager.Secret


def service_resources(scope: Construct, prefix: str, name: str, key: kms.IKey) -> ServiceResources:
    """A repository, a log group and a secret for the task family ``name``."""
    return ServiceResources(
        repository=repository(scope, f"{prefix}Repository", name),
        log_group=log_group(scope, f"{prefix}Logs", name, key),
        secret=secret(scope, f"{prefix}Secret", name, key),
    )


class ExampleStack(cdk.Stack):
    """The API, the two workers and the demo, as Fargate task definitions."""

    def __init__(self, scope: Construct, id: str, *, env: cdk.Environment | None = None) -> None:
        super().__init__(scope, id, env=env)
        key = data_key(self, "DataKey")

        # API: one task family on a role naming exactly its own resources.
        api = service_resources(self, "Api", "api", key)
        database_host = ssm.StringParameter(
            self,
            "ApiDatabaseHost",
            parameter_name="/example/api/database-host",
            string_value="db.internal.example.com",
            description="Host name of the API's database",
        )
        api_role = MinimalExecutionRole(
            self,
            "ApiExecutionRole",
            repositories=[api.repository],
            log_groups=[api.log_group],
            secrets=[api.secret],
            parameters=[database_host],
        )
        api_task = ecs.FargateTaskDefinition(
            self, "ApiTask", cpu=256, memory_limit_mib=512, execution_role=api_role.role
        )
        api_task.add_container(
            "api",
            image=ecs.ContainerImage.from_ecr_repository(api.repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=api.log_group),
            secrets={
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(api.secret, "password"),
                "DB_HOST": ecs.Secret.from_ssm_parameter(database_host),
            },
            port_mappings=[ecs.PortMapping(container_port=8080)],
        )

        # Workers: two task families on one shared role, each adding its own resources.
        workers_role = SharedExecutionRole(self, "WorkersExecutionRole")
        for prefix, name in (("WorkerA", "worker-a"), ("WorkerB", "worker-b")):
            worker = service_resources(self, prefix, name, key)
            workers_role.add_resources(
                repositories=[worker.repository],
                log_groups=[worker.log_group],
                secrets=[worker.secret],
            )
            worker_task = ecs.FargateTaskDefinition(
                self,
                f"{prefix}Task",
                cpu=256,
                memory_limit_mib=512,
                execution_role=workers_role.role,
            )
            worker_task.add_container(
                name,
                image=ecs.ContainerImage.from_ecr_repository(worker.repository, tag="1.0.0"),
                logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=worker.log_group),
                secrets={"QUEUE_TOKEN": ecs.Secret.from_secrets_manager(worker.secret)},
            )

        # Demo: the AWS managed policy covers any repository and log group of the account;
        # only the secret is named.
        demo = service_resources(self, "Demo", "demo", key)
        demo_role = StarterExecutionRole(self, "DemoExecutionRole", secrets=[demo.secret])
        demo_task = ecs.FargateTaskDefinition(
            self, "DemoTask", cpu=256, memory_limit_mib=512, execution_role=demo_role.role
        )
        demo_task.add_container(
            "demo",
            image=ecs.ContainerImage.from_ecr_repository(demo.repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="demo", log_group=demo.log_group),
            secrets={"API_KEY": ecs.Secret.from_secrets_manager(demo.secret)},
        )

        # Web: an image built from a Dockerfile; CDK pushes it to the bootstrap repository.
        web_logs = log_group(self, "WebLogs", "web", key)
        web_environment = ecs.EnvironmentFile.from_asset(str(_WEB_DIR / "web.env"))
        web_role = MinimalExecutionRole(
            self,
            "WebExecutionRole",
            container_assets=True,
            log_groups=[web_logs],
            log_stream_prefixes=["web"],
            environment_files=[web_environment],
        )
        web_task = ecs.FargateTaskDefinition(
            self, "WebTask", cpu=256, memory_limit_mib=512, execution_role=web_role.role
        )
        web_task.add_container(
            "web",
            image=ecs.ContainerImage.from_asset(str(_WEB_DIR)),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=web_logs),
            environment_files=[web_environment],
            port_mappings=[ecs.PortMapping(container_port=8080)],
        )

        # Store: an ecs_patterns service on a derived role, which names nothing: it allows what
        # the task definition the pattern builds needs (its image, the log group the pattern
        # creates, under its stream prefix, and its secret), read at synth.
        store = service_resources(self, "Store", "store", key)
        store_role = MinimalExecutionRole(self, "StoreExecutionRole")
        store_service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Store",
            cluster=_cluster(self),
            public_load_balancer=False,
            cpu=256,
            memory_limit_mib=512,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(store.repository, tag="1.0.0"),
                execution_role=store_role.role,
                secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(store.secret, "password")},
                container_port=8080,
            ),
        )

        # Reports: a task definition written before this library, on the execution role
        # aws-cdk-lib makes for it. The aspect below hardens that role where it stands: same
        # logical ID, trust conditions, and exactly what the task needs instead of its
        # DefaultPolicy.
        reports = service_resources(self, "Reports", "reports", key)
        reports_task = ecs.FargateTaskDefinition(self, "ReportsTask", cpu=256, memory_limit_mib=512)
        reports_task.add_container(
            "reports",
            image=ecs.ContainerImage.from_ecr_repository(reports.repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="reports", log_group=reports.log_group),
            secrets={"API_KEY": ecs.Secret.from_secrets_manager(reports.secret)},
        )
        cdk.Aspects.of(self).add(HardenExecutionRoles())

        # aws-cdk-lib makes the service depend on its listener rule, which the service's
        # target group reference already implies; cfn-lint notes it (W3005).
        cfn_service = store_service.service.node.default_child
        assert isinstance(cfn_service, cdk.CfnResource)
        cfn_service.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})

        cdk.CfnOutput(self, "ApiExecutionRoleArn", value=api_role.role_arn)
        cdk.CfnOutput(self, "WorkersExecutionRoleArn", value=workers_role.role_arn)
        cdk.CfnOutput(self, "DemoExecutionRoleArn", value=demo_role.role_arn)
        cdk.CfnOutput(self, "WebExecutionRoleArn", value=web_role.role_arn)
        cdk.CfnOutput(self, "StoreExecutionRoleArn", value=store_role.role_arn)
        for path, (reason, findings) in _STORE_INFRASTRUCTURE_FINDINGS.items():
            target = self.node.find_child(path.split("/")[0])
            for child in path.split("/")[1:]:
                target = target.node.find_child(child)
            cdk.Validations.of(target).acknowledge(
                *(cdk.Acknowledgment(id=finding, reason=reason) for finding in findings)
            )


class JobsStage(cdk.Stage):
    """A stage of a deployment pipeline with a nightly job's task definition, written the
    aws-cdk-lib way, a cleanup job's on a role the app made with the AWS managed policy and an
    AWS Batch job definition: all hardened by the aspect added inside the stage."""

    def __init__(self, scope: Construct, id: str, *, env: cdk.Environment | None = None) -> None:
        super().__init__(scope, id, env=env)
        stack = cdk.Stack(self, "Jobs")
        nightly = service_resources(stack, "Nightly", "nightly", data_key(stack, "DataKey"))
        task = ecs.FargateTaskDefinition(stack, "NightlyTask", cpu=256, memory_limit_mib=512)
        task.add_container(
            "nightly",
            image=ecs.ContainerImage.from_ecr_repository(nightly.repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="nightly", log_group=nightly.log_group),
            secrets={"DB": ecs.Secret.from_secrets_manager(nightly.secret)},
        )
        # A role made by hand, as many apps have one: the aspect replaces the AWS managed
        # policy (ECR and logs on *) with what the cleanup task needs.
        cleanup_role = iam.Role(
            stack,
            "CleanupExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonECSTaskExecutionRolePolicy"
                )
            ],
        )
        cleanup = ecs.FargateTaskDefinition(
            stack, "CleanupTask", cpu=256, memory_limit_mib=512, execution_role=cleanup_role
        )
        cleanup.add_container(
            "cleanup",
            image=ecs.ContainerImage.from_ecr_repository(nightly.repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="cleanup", log_group=nightly.log_group),
        )
        # An AWS Batch job with Batch's default logging, on the role aws-cdk-lib makes for it.
        batch.EcsJobDefinition(
            stack,
            "CompactionJob",
            job_definition_name="compaction",
            container=batch.EcsFargateContainerDefinition(
                stack,
                "Compaction",
                image=ecs.ContainerImage.from_ecr_repository(nightly.repository, tag="1.0.0"),
                cpu=1,
                memory=cdk.Size.gibibytes(2),
                secrets={"DB": batch.Secret.from_secrets_manager(nightly.secret)},
            ),
        )
        cdk.Aspects.of(self).add(HardenExecutionRoles())


def _cluster(scope: Construct) -> ecs.Cluster:
    """A cluster in a VPC of isolated subnets only, with flow logs and Container Insights."""
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="tasks", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    vpc.add_flow_log("FlowLog")
    return ecs.Cluster(
        scope, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
    )


def _environment_from_cli() -> cdk.Environment | None:
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return cdk.Environment(account=account, region=region)
    return None


def build_app(app: cdk.App | None = None, *, env: cdk.Environment | None = None) -> cdk.App:
    """Add the example stack and the stage ``Staging`` to ``app`` (a new one by default) and
    return the app.

    :param app: the app to build into. Default: - a new ``cdk.App``.
    :param env: the stack's environment. Default: - from ``CDK_DEFAULT_ACCOUNT`` and
        ``CDK_DEFAULT_REGION`` when both are set, otherwise environment-agnostic.
    """
    app = app if app is not None else cdk.App()
    env = env if env is not None else _environment_from_cli()
    ExampleStack(app, STACK_NAME, env=env)
    JobsStage(app, "Staging", env=env)
    return app


if __name__ == "__main__":
    build_app().synth()
