"""Execution-role features beyond images, logs, secrets and parameters.

For each: a task definition built with aws-cdk-lib's own API and our role gives exactly the
expected statements, and the same task definition on a role without the resource fails synth
naming it.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from helpers import OWNED, policy_statements, role_logical_id, template_json
from iam_eval import Environment, is_allowed, role_policies

from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    S3File,
    SharedExecutionRole,
    StarterExecutionRole,
)

PARTITION = {"Ref": "AWS::Partition"}


def _arn(rest: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", PARTITION, rest]]}


def _statement(template: dict[str, Any], stack: cdk.Stack, role: Any, sid: str) -> dict[str, Any]:
    statements = policy_statements(template, role_logical_id(stack, role))
    return next(s for s in statements if s["Sid"] == sid)


def _sids(stack: cdk.Stack, role: Any) -> list[str]:
    return [s["Sid"] for s in policy_statements(template_json(stack), role_logical_id(stack, role))]


# -- environment files ------------------------------------------------------------------------


def _environment_file_task(stack: cdk.Stack, role: Any) -> ecs.EnvironmentFile:
    bucket = s3.Bucket.from_bucket_name(stack, "Config", "app-config")
    environment_file = ecs.EnvironmentFile.from_bucket(bucket, "api/app.env")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        environment_files=[environment_file],
    )
    return environment_file


def test_environment_files_allow_the_object_and_its_bucket_location(env_stack: cdk.Stack) -> None:
    bucket = s3.Bucket.from_bucket_name(env_stack, "Bucket", "app-config")
    environment_file = ecs.EnvironmentFile.from_bucket(bucket, "api/app.env")
    role = MinimalExecutionRole(env_stack, "Api", environment_files=[environment_file])
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        environment_files=[environment_file],
    )
    template = template_json(env_stack)
    assert policy_statements(template, role_logical_id(env_stack, role)) == [
        {
            "Sid": "S3FilesRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": _arn(":s3:::app-config/api/app.env"),
            # The bucket is imported without an account: the role's stack's owns it.
            "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}},
        },
        {
            "Sid": "S3FilesBucketLocation",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": _arn(":s3:::app-config"),
            "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}},
        },
    ]


@pytest.mark.parametrize(
    "construct", [MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole]
)
def test_fails_when_an_environment_file_is_not_covered(
    env_stack: cdk.Stack, construct: Any
) -> None:
    role = construct(env_stack, "Api", derive=False)
    _environment_file_task(env_stack, role)
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "s3:GetObject on" in message and "s3:::app-config/api/app.env" in message
    assert (
        "EnvStack/Api: container 'app' of task definition EnvStack/Task needs s3:GetObject on "
        "arn:aws:s3:::app-config/api/app.env for its environment file, which the role does not "
        "allow"
    ) in message
    assert "Suggested fix: add the resource to `environment_files`." in message


def test_fails_when_environment_files_get_a_string(env_stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match=r"environment_files\[0\] is 's3://b/k'"):
        MinimalExecutionRole(env_stack, "Api", environment_files=["s3://b/k"])  # type: ignore[list-item]


# -- FireLens configuration file ---------------------------------------------------------------


def _firelens_task(stack: cdk.Stack, role: Any) -> None:
    task = ecs.Ec2TaskDefinition(stack, "Task", execution_role=role.role)
    task.add_firelens_log_router(
        "router",
        image=ecs.ContainerImage.from_registry(
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
        ),
        memory_limit_mib=128,
        firelens_config=ecs.FirelensConfig(
            type=ecs.FirelensLogRouterType.FLUENTBIT,
            options=ecs.FirelensOptions(
                config_file_type=ecs.FirelensConfigFileType.S3,
                config_file_value="arn:aws:s3:::log-config/fluent-bit.conf",
            ),
        ),
    )


def test_firelens_config_file_is_covered(env_stack: cdk.Stack) -> None:
    bucket = s3.Bucket.from_bucket_name(env_stack, "Bucket", "log-config")
    role = MinimalExecutionRole(
        env_stack, "Api", firelens_config_files=[S3File(bucket=bucket, key="fluent-bit.conf")]
    )
    _firelens_task(env_stack, role)
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "S3FilesRead")["Resource"] == _arn(
        ":s3:::log-config/fluent-bit.conf"
    )
    assert _statement(template, env_stack, role, "S3FilesBucketLocation")["Resource"] == _arn(
        ":s3:::log-config"
    )


def test_fails_when_the_firelens_config_file_is_not_covered(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _firelens_task(env_stack, role)
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    assert "arn:aws:s3:::log-config/fluent-bit.conf" in str(error.value)
    assert "`environment_files`, `firelens_config_files` or `credential_specs`" in str(error.value)


# -- awslogs-create-group ----------------------------------------------------------------------


def _create_group_task(stack: cdk.Stack, role: Any) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.GenericLogDriver(
            log_driver="awslogs",
            options={
                "awslogs-group": "/ecs/new-group",
                "awslogs-region": "eu-west-1",
                "awslogs-stream-prefix": "api",
                "awslogs-create-group": "true",
            },
        ),
    )


def test_create_group_allows_exactly_that_group(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/new-group")
    role = MinimalExecutionRole(env_stack, "Api", log_groups_to_create=[group])
    _create_group_task(env_stack, role)
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "LogsCreateGroup") == {
        "Sid": "LogsCreateGroup",
        "Effect": "Allow",
        "Action": "logs:CreateLogGroup",
        "Resource": _arn(":logs:eu-west-1:123456789012:log-group:/ecs/new-group"),
    }
    assert _statement(template, env_stack, role, "LogsWrite")["Resource"] == _arn(
        ":logs:eu-west-1:123456789012:log-group:/ecs/new-group:*"
    )


def test_create_group_is_not_granted_unless_asked(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/app")
    role = MinimalExecutionRole(env_stack, "Api", log_groups=[group])
    assert "LogsCreateGroup" not in _sids(env_stack, role)


def test_fails_when_create_group_is_asked_but_not_allowed(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/new-group")
    role = MinimalExecutionRole(env_stack, "Api", derive=False, log_groups=[group])
    _create_group_task(env_stack, role)
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "logs:CreateLogGroup on" in message and "log-group:/ecs/new-group" in message
    assert (
        "container 'app' of task definition EnvStack/Task needs logs:CreateLogGroup on "
        "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/new-group for awslogs-create-group"
    ) in message
    assert "Suggested fix: add the resource to `log_groups_to_create`." in message


def test_fails_when_a_plain_awslogs_option_names_an_unknown_group(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _create_group_task(env_stack, role)
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    assert "logs:PutLogEvents on" in str(error.value)
    assert "log-group:/ecs/new-group:log-stream:api/app/*" in str(error.value)


# -- log stream scoping ------------------------------------------------------------------------


def _logging_task(stack: cdk.Stack, role: Any, group: logs.ILogGroup, prefix: str) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix=prefix, log_group=group),
    )


def test_log_streams_are_scoped_to_the_prefix(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/api")
    role = MinimalExecutionRole(env_stack, "Api", log_groups=[group], log_stream_prefixes=["api"])
    _logging_task(env_stack, role, group, "api")
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "LogsWrite") == {
        "Sid": "LogsWrite",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": _arn(":logs:eu-west-1:123456789012:log-group:/ecs/api:log-stream:api/*"),
    }


def test_log_stream_scoping_works_for_a_log_group_of_the_stack(stack: cdk.Stack) -> None:
    group = logs.LogGroup(stack, "Group", retention=logs.RetentionDays.ONE_WEEK)
    role = MinimalExecutionRole(stack, "Api", log_groups=[group], log_stream_prefixes=["api"])
    _logging_task(stack, role, group, "api")
    resource = _statement(template_json(stack), stack, role, "LogsWrite")["Resource"]
    parts = resource["Fn::Join"][1]
    assert {"Ref": stack.get_logical_id(group.node.default_child)} in parts  # type: ignore[arg-type]
    assert parts[-1] == ":log-stream:api/*"


def test_fails_when_a_container_writes_under_another_prefix(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/api")
    role = MinimalExecutionRole(env_stack, "Api", log_groups=[group], log_stream_prefixes=["api"])
    _logging_task(env_stack, role, group, "worker")
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    assert "log-group:/ecs/api:log-stream:worker/app/*" in str(error.value)


def test_fails_when_a_stream_prefix_has_a_wildcard(env_stack: cdk.Stack) -> None:
    group = logs.LogGroup.from_log_group_name(env_stack, "Group", "/ecs/api")
    with pytest.raises(ExecutionRoleError, match=r"log_stream_prefixes\[0\] is 'api\*'"):
        MinimalExecutionRole(env_stack, "Api", log_groups=[group], log_stream_prefixes=["api*"])


def test_fails_when_stream_prefixes_have_no_log_group(env_stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match="no log_groups are given"):
        MinimalExecutionRole(env_stack, "Api", log_stream_prefixes=["api"])


# -- registry credentials ----------------------------------------------------------------------


def _private_registry_task(
    stack: cdk.Stack, role: Any, credentials: secretsmanager.ISecret
) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(
            "registry.example.com/team/app:1", credentials=credentials
        ),
    )


def test_registry_credentials_are_read(env_stack: cdk.Stack) -> None:
    credentials = secretsmanager.Secret.from_secret_name_v2(env_stack, "Creds", "registry/creds")
    role = MinimalExecutionRole(env_stack, "Api", registry_credentials=[credentials])
    _private_registry_task(env_stack, role, credentials)
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "SecretsRead")["Resource"] == _arn(
        ":secretsmanager:eu-west-1:123456789012:secret:registry/creds-??????"
    )
    assert "EcrAuthorizationToken" not in _sids(env_stack, role)


def test_fails_when_registry_credentials_are_missing(env_stack: cdk.Stack) -> None:
    credentials = secretsmanager.Secret.from_secret_name_v2(env_stack, "Creds", "registry/creds")
    role = StarterExecutionRole(env_stack, "Api", derive=False)
    _private_registry_task(env_stack, role, credentials)
    with pytest.raises(RuntimeError, match=r"secret:registry/creds-\?\?\?\?\?\?"):
        Template.from_stack(env_stack)


# -- ECR pull-through cache ----------------------------------------------------------------------


def _cached_image_task(stack: cdk.Stack, role: Any) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx:1.27"
        ),
    )


def test_pull_through_cache_is_scoped_to_its_prefix(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", pull_through_cache_prefixes=["docker-hub"])
    _cached_image_task(env_stack, role)
    template = template_json(env_stack)
    prefix_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/docker-hub/*"
    pull = _statement(template, env_stack, role, "EcrImagePull")
    cache = _statement(template, env_stack, role, "EcrPullThroughCache")
    assert pull["Resource"] == _arn(prefix_arn.removeprefix("arn:aws"))
    assert cache == {
        "Sid": "EcrPullThroughCache",
        "Effect": "Allow",
        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        "Resource": _arn(prefix_arn.removeprefix("arn:aws")),
    }
    assert "EcrPullThroughCacheTagging" not in _sids(env_stack, role)


def test_pull_through_cache_tagging_when_asked(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(
        env_stack, "Api", pull_through_cache_prefixes=["ghcr"], pull_through_cache_tagging=True
    )
    statement = _statement(template_json(env_stack), env_stack, role, "EcrPullThroughCacheTagging")
    assert statement["Action"] == "ecr:TagResource"


def test_fails_when_a_cached_image_is_outside_the_prefixes(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(
        env_stack, "Api", derive=False, pull_through_cache_prefixes=["ghcr"]
    )
    _cached_image_task(env_stack, role)
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    assert "repository/docker-hub/library/nginx" in str(error.value)


def test_fails_when_tagging_is_asked_without_prefixes(env_stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match="needs pull_through_cache_prefixes"):
        MinimalExecutionRole(env_stack, "Api", pull_through_cache_tagging=True)


# -- ECR images named by URI, cross-account and cross-region -----------------------------------


def test_ecr_image_by_uri_is_covered_by_its_repository(env_stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_arn(
        env_stack, "Shared", "arn:aws:ecr:us-east-1:210987654321:repository/platform/base"
    )
    role = MinimalExecutionRole(env_stack, "Api", repositories=[repository])
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/platform/base@sha256:" + "a" * 64
        ),
    )
    pull = _statement(template_json(env_stack), env_stack, role, "EcrImagePull")
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:210987654321:repository/platform/base"


def test_fails_when_an_ecr_image_uri_is_not_covered(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/platform/base:2.1"
        ),
    )
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert (
        "ecr:BatchGetImage on arn:aws:ecr:us-east-1:210987654321:repository/platform/base"
        in message
    )
    assert "add the resource to `repositories`" in message


def test_public_images_need_no_ecr_permission(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api")
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "a", image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest")
    )
    task.add_container("b", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    template = Template.from_stack(env_stack)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


def test_cross_account_resources_keep_their_own_account_and_region(env_stack: cdk.Stack) -> None:
    from aws_cdk import aws_kms as kms

    # A log group keeps its region; of another account, it fails (test_bad_input).
    group = logs.LogGroup.from_log_group_arn(
        env_stack, "Group", "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/central:*"
    )
    secret = secretsmanager.Secret.from_secret_complete_arn(
        env_stack, "Secret", "arn:aws:secretsmanager:us-east-1:210987654321:secret:db-AbCdEf"
    )
    key = kms.Key.from_key_arn(
        env_stack,
        "Key",
        "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    role = MinimalExecutionRole(env_stack, "Api", log_groups=[group], secrets=[secret], keys=[key])
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "LogsWrite")["Resource"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/central:*"
    )
    assert _statement(template, env_stack, role, "SecretsRead")["Resource"] == (
        "arn:aws:secretsmanager:us-east-1:210987654321:secret:db-AbCdEf"
    )
    kms_statement = _statement(template, env_stack, role, "KmsDecryptViaSecretsManagerAndSsm")
    assert kms_statement["Condition"]["StringEquals"]["kms:ViaService"] == [
        {"Fn::Join": ["", ["secretsmanager.us-east-1.", {"Ref": "AWS::URLSuffix"}]]},
        {"Fn::Join": ["", ["ssm.us-east-1.", {"Ref": "AWS::URLSuffix"}]]},
    ]


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_partitions_come_from_the_partition_token(app: cdk.App, region: str) -> None:
    stack = cdk.Stack(app, "Other", env=cdk.Environment(account="123456789012", region=region))
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    role = MinimalExecutionRole(stack, "Api", repositories=[repository])
    pull = _statement(template_json(stack), stack, role, "EcrImagePull")
    assert pull["Resource"] == _arn(f":ecr:{region}:123456789012:repository/api")
    assert "arn:aws:" not in str(template_json(stack))


# -- GuardDuty Runtime Monitoring ----------------------------------------------------------------


def test_guardduty_agent_repository_of_the_region(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", guardduty_runtime_monitoring=True)
    template = template_json(env_stack)
    assert _statement(template, env_stack, role, "EcrImagePull")["Resource"] == _arn(
        ":ecr:eu-west-1:694911143906:repository/aws-guardduty-agent-fargate"
    )
    assert "EcrAuthorizationToken" in _sids(env_stack, role)


def test_guardduty_in_an_environment_agnostic_stack_uses_a_mapping(stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(stack, "Api", guardduty_runtime_monitoring=True)
    template = template_json(stack)
    resource = _statement(template, stack, role, "EcrImagePull")["Resource"]
    (mapping_id,) = template["Mappings"]
    assert {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "account"]} in resource[
        "Fn::Join"
    ][1]
    assert template["Mappings"][mapping_id]["us-east-1"] == {"account": "593207742271"}


def test_guardduty_is_not_allowed_unless_asked(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api")
    assert _sids(env_stack, role) == []


def test_fails_when_the_guardduty_region_is_unknown(app: cdk.App) -> None:
    # The GuardDuty User Guide lists no Fargate agent repository in AWS GovCloud (US).
    stack = cdk.Stack(
        app, "Gov", env=cdk.Environment(account="123456789012", region="us-gov-west-1")
    )
    with pytest.raises(ExecutionRoleError, match="region 'us-gov-west-1' is not known"):
        MinimalExecutionRole(stack, "Api", guardduty_runtime_monitoring=True)


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("ap-northeast-1", "533107202818"),
        ("af-south-1", "197869348890"),
        ("ap-east-2", "259886477082"),
    ],
)
def test_guardduty_agent_repository_of_opt_in_and_newer_regions(
    app: cdk.App, region: str, account: str
) -> None:
    stack = cdk.Stack(app, "Far", env=cdk.Environment(account="123456789012", region=region))
    role = MinimalExecutionRole(stack, "Api", guardduty_runtime_monitoring=True)
    assert _statement(template_json(stack), stack, role, "EcrImagePull")["Resource"] == _arn(
        f":ecr:{region}:{account}:repository/aws-guardduty-agent-fargate"
    )


# -- FireLens log router -----------------------------------------------------------------------


def test_fails_when_firelens_has_no_explicit_log_router(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "ecr:BatchGetImage on *: this role names repositories, never '*'" in message
    assert "pass firelens_default_router=True" in message
    assert "task.add_firelens_log_router(...)" in message


def _routerless_task(stack: cdk.Stack, role: Any, id: str = "Task") -> ecs.TaskDefinition:
    """A task whose container logs through FireLens with no router: aws-cdk-lib adds one."""
    task = ecs.FargateTaskDefinition(stack, id, execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    return task


@pytest.mark.parametrize("construct", [MinimalExecutionRole, SharedExecutionRole])
def test_default_log_router_is_covered_when_asked(env_stack: cdk.Stack, construct: Any) -> None:
    role = construct(env_stack, "Api", derive=False, firelens_default_router=True)
    task = _routerless_task(env_stack, role)
    template = Template.from_stack(env_stack)
    template.resource_count_is("AWS::IAM::Policy", 1)  # the task role's, not ours
    statements = policy_statements(template.to_json(), role_logical_id(env_stack, role))
    router_logs = env_stack.get_logical_id(
        task.node.find_child("log-router").node.find_child("LogGroup").node.default_child
    )
    assert statements == [
        {
            "Sid": "EcrAuthorizationToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "EcrImagePull",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Resource": _arn(":ecr:eu-west-1:906394416424:repository/aws-for-fluent-bit"),
        },
        {
            "Sid": "LogsWrite",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [router_logs, "Arn"]},
        },
    ]


def test_default_log_router_of_several_tasks(env_stack: cdk.Stack) -> None:
    role = SharedExecutionRole(env_stack, "Shared", derive=False, firelens_default_router=True)
    tasks = [_routerless_task(env_stack, role, f"Task{index}") for index in range(2)]
    template = Template.from_stack(env_stack)
    statements = policy_statements(template.to_json(), role_logical_id(env_stack, role))
    written = next(s for s in statements if s["Sid"] == "LogsWrite")["Resource"]
    assert sorted(r["Fn::GetAtt"][0] for r in written) == sorted(
        env_stack.get_logical_id(
            task.node.find_child("log-router").node.find_child("LogGroup").node.default_child
        )
        for task in tasks
    )


def test_fails_when_user_code_grants_ecr_on_star_beside_the_default_router(
    env_stack: cdk.Stack,
) -> None:
    # The same ECR-on-'*' grant made by user code, beyond the one for the router, still fails.
    role = MinimalExecutionRole(env_stack, "Api", firelens_default_router=True)
    _routerless_task(env_stack, role)
    role.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            resources=["*"],
        )
    )
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "ecr:BatchGetImage on *: this role names repositories, never '*'" in message
    assert "logs:" not in message


def test_default_log_router_option_without_a_router_adds_only_the_image(
    env_stack: cdk.Stack,
) -> None:
    role = MinimalExecutionRole(env_stack, "Api", firelens_default_router=True)
    assert _sids(env_stack, role) == ["EcrAuthorizationToken", "EcrImagePull"]


def test_default_log_router_in_an_environment_agnostic_stack_uses_a_mapping(
    stack: cdk.Stack,
) -> None:
    role = MinimalExecutionRole(stack, "Api", firelens_default_router=True)
    _routerless_task(stack, role)
    template = template_json(stack)
    resource = _statement(template, stack, role, "EcrImagePull")["Resource"]
    (mapping_id,) = template["Mappings"]
    assert {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "account"]} in resource[
        "Fn::Join"
    ][1]
    assert template["Mappings"][mapping_id]["cn-north-1"] == {"account": "128054284489"}
    assert template["Mappings"][mapping_id]["us-east-1"] == {"account": "906394416424"}


def test_fails_when_the_fluent_bit_region_is_unknown(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Far", env=cdk.Environment(account="123456789012", region="ap-east-2"))
    with pytest.raises(
        ExecutionRoleError, match="aws-for-fluent-bit repository of region 'ap-east-2'"
    ):
        MinimalExecutionRole(stack, "Api", firelens_default_router=True)


def test_fails_when_the_default_router_is_in_another_stack(app: cdk.App) -> None:
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    platform = cdk.Stack(app, "Platform", env=env)
    service = cdk.Stack(app, "Service", env=env)
    role = SharedExecutionRole(platform, "Shared", derive=False, firelens_default_router=True)
    _routerless_task(service, role)
    with pytest.raises(RuntimeError) as error:
        app.synth()
    assert "Service/Task is in another stack" in str(error.value)


def test_starter_role_covers_the_default_log_router(env_stack: cdk.Stack) -> None:
    # The AWS managed policy allows ECR pulls and log writes on '*'.
    role = StarterExecutionRole(env_stack, "Api", derive=False)
    _routerless_task(env_stack, role)
    Template.from_stack(env_stack).resource_count_is("AWS::IAM::ManagedPolicy", 0)


def test_explicit_log_router_from_a_covered_repository(env_stack: cdk.Stack) -> None:
    router_repository = ecr.Repository.from_repository_name(
        env_stack, "Router", "platform/fluent-bit"
    )
    router_logs = logs.LogGroup.from_log_group_name(env_stack, "RouterLogs", "/ecs/firelens")
    role = MinimalExecutionRole(
        env_stack, "Api", repositories=[router_repository], log_groups=[router_logs]
    )
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_firelens_log_router(
        "router",
        image=ecs.ContainerImage.from_ecr_repository(router_repository, "stable"),
        firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="firelens", log_group=router_logs),
    )
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    template = Template.from_stack(env_stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    statements = policy_statements(template.to_json(), role_logical_id(env_stack, role))
    assert "*" not in [s["Resource"] for s in statements if s["Sid"] == "EcrImagePull"]


def test_default_log_router_role_allows_exactly_the_router(env_stack: cdk.Stack) -> None:
    # Evaluated as IAM would: the router's image and log streams, nothing next to them.
    role = MinimalExecutionRole(env_stack, "Api", derive=False, firelens_default_router=True)
    task = _routerless_task(env_stack, role)
    template = Template.from_stack(env_stack).to_json()
    router_logs = env_stack.get_logical_id(
        task.node.find_child("log-router").node.find_child("LogGroup").node.default_child
    )
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:EnvStack-Router-Logs"
    env = Environment(attributes={router_logs: {"Arn": f"{group}:*"}})
    policies = role_policies(template, role_logical_id(env_stack, role), env)
    image = "arn:aws:ecr:eu-west-1:906394416424:repository/aws-for-fluent-bit"

    def allowed(action: str, resource: str) -> bool:
        return is_allowed(policies, action, resource)

    assert allowed("ecr:GetAuthorizationToken", "*")
    assert allowed("ecr:BatchGetImage", image)
    assert allowed("ecr:GetDownloadUrlForLayer", image)
    assert not allowed("ecr:BatchGetImage", image + "-other")
    assert not allowed("ecr:BatchGetImage", image.replace("906394416424", "123456789012"))
    assert not allowed("ecr:BatchGetImage", image.replace("eu-west-1", "us-east-1"))
    assert allowed("logs:PutLogEvents", f"{group}:log-stream:firelens/log-router/abc")
    assert not allowed("logs:PutLogEvents", f"{group}-other:log-stream:x")
    assert not allowed("logs:CreateLogGroup", group)


# -- credential specs and files in buckets with a customer managed key --------------------------


def test_credential_specs_from_s3_and_ssm_are_read_as_props(env_stack: cdk.Stack) -> None:
    from aws_cdk import aws_kms as kms

    key = kms.Key(env_stack, "Key")
    bucket = s3.Bucket(env_stack, "Specs", encryption_key=key)
    parameter = ssm.StringParameter.from_string_parameter_name(env_stack, "Spec", "/gmsa/app")
    from_s3 = ecs.DomainJoinedCredentialSpec.from_s3_bucket(bucket, "gmsa.json")
    from_ssm = ecs.DomainlessCredentialSpec.from_ssm_parameter(parameter)
    role = MinimalExecutionRole(
        env_stack, "Api", derive=False, credential_specs=[from_s3, from_ssm]
    )
    task = ecs.Ec2TaskDefinition(env_stack, "Task", execution_role=role.role)
    for name, spec in (("app", from_s3), ("side", from_ssm)):
        # ECS takes one credential spec per container.
        task.add_container(
            name,
            image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
            memory_limit_mib=128,
            credential_specs=[spec],
        )
    template = template_json(env_stack)
    bucket_id = env_stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    key_id = env_stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    env = Environment(
        attributes={
            bucket_id: {"Arn": "arn:aws:s3:::specs"},
            key_id: {"Arn": "arn:aws:kms:eu-west-1:123456789012:key/k"},
        },
        refs={bucket_id: "specs"},
    )
    policies = role_policies(template, role_logical_id(env_stack, role), env)
    assert is_allowed(policies, "s3:GetObject", "arn:aws:s3:::specs/gmsa.json", OWNED)
    assert not is_allowed(policies, "s3:GetObject", "arn:aws:s3:::specs/other.json", OWNED)
    assert is_allowed(policies, "s3:GetBucketLocation", "arn:aws:s3:::specs", OWNED)
    parameter_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/app"
    assert is_allowed(policies, "ssm:GetParameters", parameter_arn)
    assert not is_allowed(policies, "ssm:GetParameter", parameter_arn)
    via_s3 = {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert is_allowed(policies, "kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k", via_s3)


def test_fails_when_a_credential_spec_is_not_covered(env_stack: cdk.Stack) -> None:
    parameter = ssm.StringParameter.from_string_parameter_name(env_stack, "Spec", "/gmsa/app")
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    task = ecs.Ec2TaskDefinition(env_stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        memory_limit_mib=128,
        credential_specs=[ecs.DomainlessCredentialSpec.from_ssm_parameter(parameter)],
    )
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert (
        "ssm:GetParameters on arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/app for its "
        "credential spec"
    ) in message
    assert "add the resource to `credential_specs`" in message


def test_fails_when_credential_specs_get_a_string(env_stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match=r"credential_specs\[0\] is 'arn:aws:s3:::b/k'"):
        MinimalExecutionRole(env_stack, "Api", credential_specs=["arn:aws:s3:::b/k"])  # type: ignore[list-item]


def test_environment_files_and_firelens_config_in_a_bucket_with_a_key(env_stack: cdk.Stack) -> None:
    from aws_cdk import aws_kms as kms

    key = kms.Key(env_stack, "Key")
    bucket = s3.Bucket(env_stack, "Config", encryption_key=key)
    role = MinimalExecutionRole(
        env_stack,
        "Api",
        derive=False,
        environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "app.env")],
        firelens_config_files=[S3File(bucket=bucket, key="fluent-bit.conf")],
    )
    statements = policy_statements(template_json(env_stack), role_logical_id(env_stack, role))
    (decrypt,) = [s for s in statements if s["Sid"].startswith("KmsDecrypt")]
    assert decrypt["Sid"] == "KmsDecryptViaS3"
    key_id = env_stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    assert decrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert "s3.eu-west-1." in json.dumps(decrypt["Condition"])
