"""cdk-nag v3 (AwsSolutions, NIST 800-53 R5, HIPAA Security, PCI DSS 3.2.1) on the roles.

The roles must leave no open finding, and the library must acknowledge only the findings it
cannot avoid: a wildcard a user adds to the role stays reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import IConstruct

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole
from examples import app as example
from examples.nag_report import (
    ValidationReport,
    add_nag_packs,
    synth_with_report,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# Acknowledgment IDs the library itself may add, by construct.
IAM5 = "AwsSolutions::AwsSolutions-IAM5"
IAM4 = "AwsSolutions::AwsSolutions-IAM4"


def nag_app(tmp_path: Path) -> cdk.App:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    return app


def assert_clean(report: ValidationReport) -> None:
    assert report.findings == (), report.format()


# -- resources a role names: imported by name, or created in the stack -----------------------


@dataclass(frozen=True)
class Resources:
    """What one task family uses; the role names all of them (the starter only some)."""

    repository: ecr.IRepository
    log_group: logs.ILogGroup
    secret: secretsmanager.ISecret
    parameter: ssm.IStringParameter
    key: kms.IKey


def imported_resources(stack: cdk.Stack) -> Resources:
    return Resources(
        repository=ecr.Repository.from_repository_name(stack, "Repo", "team/api"),
        log_group=logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api"),
        secret=secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "api/database"),
        parameter=ssm.StringParameter.from_string_parameter_name(
            stack, "Param", "/api/database-host"
        ),
        key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
    )


def created_resources(stack: cdk.Stack) -> Resources:
    key = example.data_key(stack, "Key")
    service = example.service_resources(stack, "Api", "api", key)
    parameter = ssm.StringParameter(
        stack, "Param", parameter_name="/api/database-host", string_value="db.example.com"
    )
    return Resources(service.repository, service.log_group, service.secret, parameter, key)


def minimal(stack: cdk.Stack, resources: Resources) -> iam.IRole:
    return MinimalExecutionRole(
        stack,
        "ExecutionRole",
        repositories=[resources.repository],
        log_groups=[resources.log_group],
        secrets=[resources.secret],
        parameters=[resources.parameter],
        keys=[resources.key],
    ).role


def shared(stack: cdk.Stack, resources: Resources) -> iam.IRole:
    role = SharedExecutionRole(stack, "ExecutionRole", trust_all_regions=True)
    role.add_resources(
        repositories=[resources.repository],
        log_groups=[resources.log_group],
        secrets=[resources.secret],
        parameters=[resources.parameter],
        keys=[resources.key],
    )
    return role.role


def starter(stack: cdk.Stack, resources: Resources) -> iam.IRole:
    return StarterExecutionRole(
        stack,
        "ExecutionRole",
        secrets=[resources.secret],
        parameters=[resources.parameter],
        keys=[resources.key],
    ).role


CONSTRUCTS: dict[str, Callable[[cdk.Stack, Resources], iam.IRole]] = {
    "minimal": minimal,
    "shared": shared,
    "starter": starter,
}
SCENARIOS = {
    "imported-agnostic": (imported_resources, None),
    "imported-env": (imported_resources, cdk.Environment(account=ACCOUNT, region=REGION)),
    "created-env": (created_resources, cdk.Environment(account=ACCOUNT, region=REGION)),
}


def test_example_app_has_no_open_findings(tmp_path: Path) -> None:
    app = nag_app(tmp_path)
    example.build_app(app, env=None)
    report = synth_with_report(app)
    assert_clean(report)
    # Only the example's own secrets and the library's unavoidable findings are acknowledged.
    # The construct under its stack (the stage's stack under the stage).
    acknowledged = {
        (f.construct_path.removeprefix("Staging/").split("/")[1], f.rule)
        for f in report.acknowledged
    }
    assert acknowledged == {
        (secret_id, rule)
        for secret_id in (
            "ApiSecret",
            "WorkerASecret",
            "WorkerBSecret",
            "DemoSecret",
            "StoreSecret",
            "ReportsSecret",
            "NightlySecret",
        )
        for rule in (
            "AwsSolutions-SMG4",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "HIPAA.Security-SecretsManagerRotationEnabled",
        )
    } | {
        ("ApiExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("WorkersExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        ("WebExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        (
            "WebExecutionRole",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:<WebLogs48A7C011>:log-stream:web/*]",
        ),
        (
            "DemoExecutionRole",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonECSTaskExecutionRolePolicy]",
        ),
        # The derived role of the store service: the ECR token, and the streams under the
        # pattern's prefix in the log group the pattern creates.
        ("StoreExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        (
            "StoreExecutionRole",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:<StoreTaskDefwebLogGroup732E651C>:log-stream:Store/*]",
        ),
        # The reports task's role aws-cdk-lib made, hardened: the same two.
        ("ReportsTask", "AwsSolutions-IAM5[Resource::*]"),
        (
            "ReportsTask",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:<ReportsLogs9113F99B>:log-stream:reports/*]",
        ),
        # The nightly task's role in the stage, hardened by the aspect inside the stage.
        ("NightlyTask", "AwsSolutions-IAM5[Resource::*]"),
        (
            "NightlyTask",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:<NightlyLogsA5B0A4EC>:log-stream:nightly/*]",
        ),
        # The cleanup task's role the app made, hardened by the same aspect: the same two.
        ("CleanupExecutionRole", "AwsSolutions-IAM5[Resource::*]"),
        (
            "CleanupExecutionRole",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:<NightlyLogsA5B0A4EC>:log-stream:cleanup/*]",
        ),
        # The Batch job's role aws-cdk-lib made, hardened: the streams under the job
        # definition's name in Batch's default log group.
        ("Compaction", "AwsSolutions-IAM5[Resource::*]"),
        (
            "Compaction",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws/batch/job:log-stream:compaction/*]",
        ),
    } | {
        (path.split("/")[0], finding.split("::", 1)[1])
        for path, (_, findings) in example._STORE_INFRASTRUCTURE_FINDINGS.items()
        for finding in findings
    }


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_construct_alone_has_no_open_findings(construct: str, tmp_path: Path) -> None:
    # One app with a stack per scenario: imported resources (environment-agnostic and
    # concrete), and resources created in the stack.
    app = nag_app(tmp_path)
    for name, (make_resources, env) in SCENARIOS.items():
        stack = cdk.Stack(app, f"{construct.title()}-{name}", env=env)
        resources = make_resources(stack)
        add_task(stack, CONSTRUCTS[construct](stack, resources), resources)
    assert_clean(synth_with_report(app))


def add_task(stack: cdk.Stack, role: iam.IRole, resources: Resources) -> None:
    """A task definition whose container uses every resource, so CDK grants them all."""
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(resources.repository, tag="1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=resources.log_group),
        secrets={
            "PASSWORD": ecs.Secret.from_secrets_manager(resources.secret),
            "HOST": ecs.Secret.from_ssm_parameter(resources.parameter),
        },
    )


def test_imported_log_group_wildcard_is_acknowledged_exactly(tmp_path: Path) -> None:
    app = nag_app(tmp_path)
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    minimal(stack, imported_resources(stack))
    report = synth_with_report(app)
    assert_clean(report)
    assert sorted(f.rule for f in report.acknowledged) == [
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:"
        "log-group:/ecs/api:*]",
    ]


def test_role_without_wildcards_gets_no_acknowledgment(tmp_path: Path) -> None:
    app = nag_app(tmp_path)
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = example.data_key(stack, "Key")
    # Secrets, parameters and a log group created in the stack (its ARN has no wildcard):
    # nothing to acknowledge.
    MinimalExecutionRole(
        stack,
        "ExecutionRole",
        log_groups=[example.log_group(stack, "Logs", "api", key)],
        secrets=[secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "api/database")],
        parameters=[ssm.StringParameter.from_string_parameter_name(stack, "Param", "/api/x")],
    )
    report = synth_with_report(app)
    assert_clean(report)
    assert report.acknowledged == ()
    assert acknowledgment_ids(stack.node.find_child("ExecutionRole")) == []


def test_a_user_policy_on_the_role_fails_synth_rather_than_pass_the_checks(
    tmp_path: Path,
) -> None:
    # A policy of the user's attached to the role is refused at synth (never acknowledged,
    # never deployed): the role takes its permissions only from its props.
    app = nag_app(tmp_path)
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    role = minimal(stack, imported_resources(stack))
    role.add_managed_policy(
        iam.ManagedPolicy(
            stack,
            "UserPolicy",
            statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])],
        )
    )
    with pytest.raises(RuntimeError, match="attached with add_managed_policy"):
        app.synth()


def test_a_user_aws_managed_policy_on_the_starter_fails_synth(tmp_path: Path) -> None:
    app = nag_app(tmp_path)
    stack = cdk.Stack(app, "Stack")
    role = StarterExecutionRole(stack, "ExecutionRole")
    role.role.add_managed_policy(
        iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchAgentServerPolicy")
    )
    with pytest.raises(RuntimeError, match=r"policy/CloudWatchAgentServerPolicy is attached"):
        app.synth()


def acknowledgment_ids(scope: IConstruct) -> list[str]:
    """Every acknowledgment ID recorded on ``scope`` and the constructs below it."""
    ids = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                ids.extend(entry.data)
    return sorted(ids)


def test_report_reader_sees_cloudformation_validate_warnings(tmp_path: Path) -> None:
    # aws-cdk-lib's own plugin runs on every synth and only warns; the reader must surface
    # its findings, or a clean result above would hide them.
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Stack")
    sqs.CfnQueue(stack, "Queue", message_retention_period=10)
    report = synth_with_report(app)
    assert [(f.id, f.construct_path) for f in report.findings] == [
        ("CloudFormation-Validate::F3034", "Stack/Queue")
    ]


@pytest.mark.parametrize("environment", ["agnostic", "env"])
def test_roles_with_every_feature_have_no_open_findings(environment: str, tmp_path: Path) -> None:
    from aws_cdk import aws_s3 as s3

    from ecs_exec_roles import S3File

    app = nag_app(tmp_path)
    env = cdk.Environment(account=ACCOUNT, region=REGION) if environment == "env" else None
    stack = cdk.Stack(app, "Features", env=env)
    resources = imported_resources(stack)
    bucket = s3.Bucket.from_bucket_name(stack, "Config", "app-config")
    env_file = ecs.EnvironmentFile.from_bucket(bucket, "api/app.env")
    created = logs.LogGroup.from_log_group_name(stack, "Created", "/ecs/created")
    common = {
        "environment_files": [env_file],
        "firelens_config_files": [S3File(bucket=bucket, key="fluent-bit.conf")],
        "log_groups_to_create": [created],
        "pull_through_cache_prefixes": ["docker-hub"],
        "pull_through_cache_tagging": True,
        "registry_credentials": [resources.secret],
        "container_assets": True,
    }
    MinimalExecutionRole(
        stack,
        "Minimal",
        repositories=[resources.repository],
        log_groups=[resources.log_group],
        log_stream_prefixes=["api"],
        guardduty_runtime_monitoring=True,
        **common,  # type: ignore[arg-type]
    )
    SharedExecutionRole(
        stack,
        "Scoped",
        repository_prefixes=["team/"],
        log_group_prefixes=["/ecs/team/"],
        secret_prefixes=["team/"],
        parameter_prefixes=["/team/"],
        resource_tags={"team": "payments"},
        **common,  # type: ignore[arg-type]
    )
    StarterExecutionRole(stack, "Starter", **common)  # type: ignore[arg-type]
    report = synth_with_report(app)
    assert_clean(report)
    acknowledged = {f.rule for f in report.acknowledged}
    reasons = {f.rule: f.reason for f in report.acknowledged}
    # Each wildcard is acknowledged with the reason of its own feature.
    assert "name prefixes" in next(r for k, r in reasons.items() if "repository/team/*" in k)
    assert "pull-through cache" in next(r for k, r in reasons.items() if "docker-hub/*" in k)
    assert "aws:ResourceTag" in next(r for k, r in reasons.items() if ":secret:*" in k)
    # Every acknowledgment names one resource; none is a bare action wildcard.
    assert all(
        rule.startswith(("AwsSolutions-IAM5[Resource::", "AwsSolutions-IAM4[Policy::"))
        for rule in acknowledged
    )


def test_default_log_router_role_has_no_findings(tmp_path: Path) -> None:
    # The task definition and the router's log group are aws-cdk-lib's (their own findings
    # are not the role's); the role and its policies must have none.
    app = nag_app(tmp_path)
    stack = cdk.Stack(app, "Router", env=cdk.Environment(account=ACCOUNT, region=REGION))
    role = MinimalExecutionRole(stack, "Minimal", firelens_default_router=True)
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    report = synth_with_report(app)
    assert report.plugins  # the packs ran
    ours = [f for f in report.findings if f.construct_path.startswith("Router/Minimal")]
    assert ours == [], report.format()
    assert any(f.construct_path.startswith("Router/Minimal") for f in report.acknowledged)
