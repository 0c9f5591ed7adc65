"""No wildcard reaches the policy: every resource names one resource once resolved.

A name can hold a wildcard in its literal text (caught at construction) or only once resolved
at synth (a ``Lazy`` value, an ARN the template computes), in a prop or in what derivation
reads from a task definition. Each way fails, naming the construct and the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from helpers import lazy

from ecs_exec_roles import ExecutionRoleError, MinimalExecutionRole, S3File, SharedExecutionRole

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region=REGION))


def _synth_error(stack: cdk.Stack) -> str:
    with pytest.raises(RuntimeError) as raised:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]
    return str(raised.value)


# -- literal wildcards and empty names, at construction ----------------------------------------


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*", "holds the IAM wildcard"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*:*", "holds the IAM wildcard"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:a:*:*", "holds the IAM wildcard"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group::*", "has an empty name"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:stream:x", "is not the ARN of a log group"),
    ],
)
def test_fails_when_a_log_group_arn_names_every_group_or_none(arn: str, problem: str) -> None:
    stack = _stack()
    log_group = logs.LogGroup.from_log_group_arn(stack, "Logs", arn)
    with pytest.raises(ExecutionRoleError) as raised:
        MinimalExecutionRole(stack, "Role", log_groups=[log_group])
    message = str(raised.value)
    assert message.startswith("S/Role: log_groups[0] (S/Logs) has the ARN ")
    assert problem in message


def test_fails_when_a_name_from_the_context_holds_a_wildcard() -> None:
    stack = _stack()
    stack.node.set_context("repository", "team*")
    name = stack.node.try_get_context("repository")
    with pytest.raises(ExecutionRoleError, match=r"repositories\[0\] .* IAM wildcard"):
        MinimalExecutionRole(
            stack, "Role", repositories=[ecr.Repository.from_repository_name(stack, "R", name)]
        )


# -- values resolved only at synth -------------------------------------------------------------


def _bucket(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "Bucket", "config-bucket")


# Each case: props built from a stack, with a value known only at synth that holds a wildcard,
# and the resource as the message shows it.
LAZY_CASES: list[tuple[str, Callable[[cdk.Stack], dict[str, Any]], str]] = [
    (
        "repository",
        lambda s: {"repositories": [ecr.Repository.from_repository_name(s, "R", lazy("team*"))]},
        f"arn:<AWS::Partition>:ecr:{REGION}:{ACCOUNT}:repository/team*",
    ),
    (
        "log-group",
        lambda s: {"log_groups": [logs.LogGroup.from_log_group_name(s, "L", lazy("/ecs/*"))]},
        f"arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:/ecs/*:*",
    ),
    (
        "log-group-to-create",
        lambda s: {
            "log_groups": [logs.LogGroup.from_log_group_name(s, "G", "/ecs/app")],
            "log_groups_to_create": [logs.LogGroup.from_log_group_name(s, "L", lazy("/ecs/*"))],
        },
        f"arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:/ecs/*",
    ),
    (
        "secret",
        lambda s: {
            "secrets": [secretsmanager.Secret.from_secret_name_v2(s, "Sec", lazy("prod/*"))]
        },
        f"arn:<AWS::Partition>:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/*-??????",
    ),
    (
        "parameter",
        lambda s: {
            "parameters": [
                ssm.StringParameter.from_string_parameter_attributes(
                    s, "P", parameter_name=lazy("/app/*"), simple_name=False
                )
            ]
        },
        f"arn:<AWS::Partition>:ssm:{REGION}:{ACCOUNT}:parameter/app/*",
    ),
    (
        "key",
        lambda s: {
            "keys": [kms.Key.from_key_arn(s, "K", lazy(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"))]
        },
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
    ),
    (
        "environment-file",
        lambda s: {"environment_files": [ecs.EnvironmentFile.from_bucket(_bucket(s), lazy("*"))]},
        "arn:<AWS::Partition>:s3:::config-bucket/*",
    ),
    (
        "firelens-config-file",
        lambda s: {"firelens_config_files": [S3File(bucket=_bucket(s), key=lazy("conf/*"))]},
        "arn:<AWS::Partition>:s3:::config-bucket/conf/*",
    ),
    (
        "credential-spec",
        lambda s: {
            "credential_specs": [
                ecs.DomainJoinedCredentialSpec.from_s3_bucket(_bucket(s), lazy("?"))
            ]
        },
        "arn:<AWS::Partition>:s3:::config-bucket/?",
    ),
    (
        "environment-file-policy-variable",
        lambda s: {
            "environment_files": [
                ecs.EnvironmentFile.from_bucket(_bucket(s), lazy("${aws:username}.env"))
            ]
        },
        "policy variable",
    ),
]


@pytest.mark.parametrize(("props", "shown"), [pytest.param(p, r, id=i) for i, p, r in LAZY_CASES])
@pytest.mark.parametrize("construct", [MinimalExecutionRole, SharedExecutionRole])
def test_fails_when_a_value_resolved_at_synth_holds_a_wildcard(
    construct: type[Any], props: Callable[[cdk.Stack], dict[str, Any]], shown: str
) -> None:
    stack = _stack()
    construct(stack, "Role", derive=False, **props(stack))
    message = _synth_error(stack)
    assert "S/Role: " in message
    assert shown in message
    assert "Name each resource exactly" in message


def test_a_lazy_exact_name_synthesizes() -> None:
    stack = _stack()
    repository = ecr.Repository.from_repository_name(stack, "R", lazy("team/api"))
    MinimalExecutionRole(stack, "Role", repositories=[repository])
    template = cdk.App.of(stack).synth().get_stack_by_name("S").template  # type: ignore[union-attr]
    assert "repository/team/api" in str(template)


# -- what derivation reads -------------------------------------------------------------------


def test_fails_when_a_derived_log_group_name_resolves_to_a_wildcard() -> None:
    stack = _stack()
    role = MinimalExecutionRole(stack, "Role")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="web",
            log_group=logs.LogGroup.from_log_group_name(stack, "L", lazy("*")),
        ),
    )
    message = _synth_error(stack)
    assert (
        "S/Role: container 'app' of task definition S/Task for awslogs resolves to the ARN "
        f"arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:*:log-stream:web/*, which "
        "holds the IAM wildcard" in message
    )
    # The grant aws-cdk-lib made on every log group is not derived: it is a gap.
    assert f"on arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:*:*: add the" in message


def test_fails_when_a_granted_repository_resolves_to_a_wildcard() -> None:
    stack = _stack()
    role = MinimalExecutionRole(stack, "Role")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    repository = ecr.Repository.from_repository_name(stack, "R", lazy("team*"))
    task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(repository))
    message = _synth_error(stack)
    assert "S/Role: the execution role does not cover" in message
    assert f":ecr:{REGION}:{ACCOUNT}:repository/team*" in message


def test_scoped_prefixes_and_tags_keep_their_own_wildcards() -> None:
    stack = _stack()
    SharedExecutionRole(
        stack,
        "Role",
        repository_prefixes=["team/"],
        log_group_prefixes=["/ecs/team/"],
        secret_prefixes=["team/"],
        parameter_prefixes=["/team/"],
        resource_tags={"team": "a"},
        pull_through_cache_prefixes=["docker-hub"],
    )
    cdk.App.of(stack).synth()  # type: ignore[union-attr]
