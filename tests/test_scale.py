"""SharedExecutionRole at scale: families, name-prefix and tag-scoped modes."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from helpers import policy_statements, resources_of_type, role_logical_id, template_json

from ecs_exec_roles import ExecutionRoleError, SharedExecutionRole

PARTITION = {"Ref": "AWS::Partition"}


def _arn(rest: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", PARTITION, rest]]}


def _by_sid(stack: cdk.Stack, role: Any) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s for s in policy_statements(template_json(stack), role_logical_id(stack, role))
    }


def _family_task(stack: cdk.Stack, role: Any, name: str, family: str | None = None) -> None:
    repository = ecr.Repository.from_repository_name(stack, f"{name}Repo", f"team/{name}")
    log_group = logs.LogGroup.from_log_group_name(stack, f"{name}Logs", f"/ecs/team/{name}")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, f"{name}Secret", f"team/{name}")
    parameter = ssm.StringParameter.from_string_parameter_name(
        stack, f"{name}Param", f"/team/{name}"
    )
    task = ecs.FargateTaskDefinition(
        stack, f"{name}Task", execution_role=role.role, family=family or name
    )
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=log_group),
        secrets={
            "S": ecs.Secret.from_secrets_manager(secret),
            "P": ecs.Secret.from_ssm_parameter(parameter),
        },
    )


# -- families ----------------------------------------------------------------------------------


def test_families_report_what_each_family_needs(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Workers")
    billing = ecr.Repository.from_repository_name(env_stack, "Billing", "team/billing")
    mailer = ecr.Repository.from_repository_name(env_stack, "Mailer", "team/mailer")
    shared.add_family("billing", repositories=[billing])
    shared.add_family("mailer", repositories=[mailer])
    shared.add_family(
        "billing", log_groups=[logs.LogGroup.from_log_group_name(env_stack, "L", "/ecs/billing")]
    )
    assert shared.families == {
        "billing": (
            "log_group: arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/ecs/billing:*",
            "repository: arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/team/billing",
        ),
        "mailer": (
            "repository: arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/team/mailer",
        ),
    }
    pull = _by_sid(env_stack, shared)["EcrImagePull"]
    assert len(pull["Resource"]) == 2


def test_fails_when_a_registered_family_lacks_a_resource(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Workers", derive=False)
    shared.add_family("billing")
    _family_task(env_stack, shared, "billing")
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "repository/team/billing" in message
    assert "(needed by task family 'billing' (EnvStack/billingTask))" in message
    assert "the family is registered: add it with add_family('billing', ...)" in message


def test_fails_when_a_family_name_is_not_an_ecs_family(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Workers")
    with pytest.raises(
        ExecutionRoleError, match=r"family 'billing v2' is not an ECS task definition family"
    ):
        shared.add_family("billing v2")


# -- name-prefix mode --------------------------------------------------------------------------


def test_prefix_mode_covers_every_family_under_the_prefixes(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(
        env_stack,
        "Team",
        repository_prefixes=["team/"],
        log_group_prefixes=["/ecs/team/"],
        secret_prefixes=["team/"],
        parameter_prefixes=["/team/"],
    )
    for name in ("billing", "mailer", "search"):
        _family_task(env_stack, shared, name)
    statements = _by_sid(env_stack, shared)
    assert statements["EcrImagePull"]["Resource"] == _arn(
        ":ecr:eu-west-1:123456789012:repository/team/*"
    )
    assert statements["LogsWrite"]["Resource"] == _arn(
        ":logs:eu-west-1:123456789012:log-group:/ecs/team/*"
    )
    assert statements["SecretsRead"]["Resource"] == _arn(
        ":secretsmanager:eu-west-1:123456789012:secret:team/*"
    )
    assert statements["ParametersRead"]["Resource"] == _arn(
        ":ssm:eu-west-1:123456789012:parameter/team/*"
    )


def test_prefix_mode_stays_one_size_whatever_the_number_of_families() -> None:
    sizes = []
    for count in (1, 40):
        stack = cdk.Stack(
            cdk.App(),
            f"Team{count}",
            env=cdk.Environment(account="123456789012", region="eu-west-1"),
        )
        shared = SharedExecutionRole(
            stack, "Team", repository_prefixes=["team/"], log_group_prefixes=["/ecs/team/"]
        )
        for index in range(count):
            task = ecs.FargateTaskDefinition(stack, f"T{index}", execution_role=shared.role)
            task.add_container(
                "app",
                image=ecs.ContainerImage.from_ecr_repository(
                    ecr.Repository.from_repository_name(stack, f"R{index}", f"team/svc-{index}")
                ),
            )
        policies = resources_of_type(template_json(stack), "AWS::IAM::ManagedPolicy")
        sizes.append(
            sum(len(json.dumps(p["Properties"]["PolicyDocument"])) for p in policies.values())
        )
    assert sizes[0] == sizes[1]


def test_fails_when_a_task_uses_a_repository_outside_the_prefix(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Team", derive=False, repository_prefixes=["team/"])
    task = ecs.FargateTaskDefinition(env_stack, "Task", execution_role=shared.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(env_stack, "Other", "teammate/app")
        ),
    )
    with pytest.raises(RuntimeError, match="repository/teammate/app"):
        Template.from_stack(env_stack)


@pytest.mark.parametrize("prefix", ["team*", "te?m/", "arn:aws:ecr", ""])
def test_fails_when_a_prefix_is_not_a_plain_name_prefix(env_stack: cdk.Stack, prefix: str) -> None:
    with pytest.raises(ExecutionRoleError, match=r"repository_prefixes\[0\] is"):
        SharedExecutionRole(env_stack, "Team", repository_prefixes=[prefix])


# -- tag-scoped mode -----------------------------------------------------------------------------


def test_tag_mode_reads_tagged_secrets_parameters_and_keys(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Team", resource_tags={"team": "payments"})
    statements = _by_sid(env_stack, shared)
    assert statements["SecretsReadByTag"] == {
        "Sid": "SecretsReadByTag",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": _arn(":secretsmanager:eu-west-1:123456789012:secret:*"),
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments"}},
    }
    assert statements["ParametersReadByTag"]["Resource"] == _arn(
        ":ssm:eu-west-1:123456789012:parameter/*"
    )
    assert statements["KmsDecryptByTag"]["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/team": "payments",
            "kms:ViaService": [
                {"Fn::Join": ["", ["secretsmanager.eu-west-1.", {"Ref": "AWS::URLSuffix"}]]},
                {"Fn::Join": ["", ["ssm.eu-west-1.", {"Ref": "AWS::URLSuffix"}]]},
            ],
        }
    }


def test_tag_mode_covers_secrets_and_parameters_of_every_family(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(
        env_stack,
        "Team",
        resource_tags={"team": "payments"},
        repository_prefixes=["team/"],
        log_group_prefixes=["/ecs/team/"],
    )
    for name in ("billing", "mailer"):
        _family_task(env_stack, shared, name)
    Template.from_stack(env_stack).resource_count_is("AWS::IAM::Policy", 0)


@pytest.mark.parametrize("tags", [{"team": "pay*"}, {"": "x"}, ["team", "payments"]])
def test_fails_when_resource_tags_are_not_plain_tags(env_stack: cdk.Stack, tags: Any) -> None:
    with pytest.raises(ExecutionRoleError, match="resource_tags"):
        SharedExecutionRole(env_stack, "Team", resource_tags=tags)
