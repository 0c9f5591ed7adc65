"""The checks of the task definitions that use a role (``_verify_tasks``) over templates
written by hand as plain dicts: each need of their containers allowed by the role's policies
(its own, the AWS managed policies the library attaches) and through its permissions boundary,
values the verification cannot read, and the region of each task definition against the role's
trust policy. For each rule a compliant case that gives no finding and non-compliant cases
(``test_fails_when_...``) that give the rule's exact finding, its fix, its description (the
role's construct path first) and the resource it points at."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from verify_templates import (
    ACCOUNT,
    EVERY_STATEMENT,
    LOG_GROUP,
    LOGS_STATEMENT,
    NAMED_ROLE,
    PARAMETER,
    PARAMETER_STATEMENT,
    POLICY_ID,
    PULL,
    PULL_STATEMENT,
    REGION,
    REPOSITORY,
    ROLE_ID,
    SECRET,
    SECRET_STATEMENT,
    STARTER,
    STATEMENTS,
    STREAMS,
    TOKEN_STATEMENT,
    TRUST,
    WHERE,
    assembly_of,
    assert_points_at,
    boundary_policy,
    check_of,
    container,
    document,
    only,
    policy,
    record,
    resources,
    role,
    rules,
    run,
    starter_arn,
    task_definition,
    template,
)

from ecs_exec_roles._role_view import Finding
from ecs_exec_roles._verify_tasks import check_task_definitions

# -- check_task_definitions -----------------------------------------------------------------------


def secrets_container(**properties: Any) -> dict[str, Any]:
    return container(
        Secrets=[
            {"Name": "DB", "ValueFrom": SECRET},
            {"Name": "FLAG", "ValueFrom": PARAMETER},
        ],
        **properties,
    )


def test_task_with_every_need_allowed_passes() -> None:
    body = resources(statements=EVERY_STATEMENT, task=task_definition(secrets_container()))
    assert check_of(check_task_definitions, body, record(EVERY_STATEMENT)) == []


def test_task_allowed_by_the_starter_policy_passes() -> None:
    body = resources(
        role_resource=role(ManagedPolicyArns=[starter_arn({"Ref": "AWS::Partition"})]),
        statements=(),
    )
    assert check_of(check_task_definitions, body, record((), aws_managed=(STARTER,))) == []


def test_task_of_a_parameter_by_its_name_passes() -> None:
    task = task_definition(container(Secrets=[{"Name": "FLAG", "ValueFrom": "/app/flag"}]))
    statements = (*STATEMENTS, PARAMETER_STATEMENT)
    body = resources(statements=statements, task=task)
    assert check_of(check_task_definitions, body, record(statements)) == []


@pytest.mark.parametrize(
    ("dropped", "rule", "fix"),
    [
        pytest.param(
            PULL_STATEMENT,
            f"MissingPermission[{PULL}::{REPOSITORY}]",
            "add the resource to `repositories`",
            id="pull",
        ),
        pytest.param(
            TOKEN_STATEMENT,
            "MissingPermission[ecr:GetAuthorizationToken::*]",
            "add the resource to `repositories`",
            id="token",
        ),
        pytest.param(
            LOGS_STATEMENT,
            f"MissingPermission[logs:CreateLogStream, logs:PutLogEvents::{STREAMS}]",
            "add the resource to `log_groups`",
            id="log-write",
        ),
        pytest.param(
            SECRET_STATEMENT,
            f"MissingPermission[secretsmanager:GetSecretValue::{SECRET}]",
            "add the resource to `secrets`",
            id="secret-read",
        ),
        pytest.param(
            PARAMETER_STATEMENT,
            f"MissingPermission[ssm:GetParameters::{PARAMETER}]",
            "add the resource to `parameters`",
            id="parameter-read",
        ),
    ],
)
def test_fails_when_a_need_is_not_allowed(dropped: dict[str, Any], rule: str, fix: str) -> None:
    statements = tuple(s for s in EVERY_STATEMENT if s is not dropped)
    body = resources(statements=statements, task=task_definition(secrets_container()))
    finding = only(check_of(check_task_definitions, body, record(statements)))
    assert finding.rule == rule
    assert finding.fix == f"{fix}."
    assert_points_at(finding, ROLE_ID)
    assert "of task family 'api' (S/TaskDef) needs" in finding.description
    assert finding.description.endswith(": ECS would fail to start the task.")


def test_fails_when_registry_credentials_are_not_allowed() -> None:
    task = task_definition(container(RepositoryCredentials={"CredentialsParameter": SECRET}))
    finding = only(check_of(check_task_definitions, resources(task=task)))
    assert finding.rule == f"MissingPermission[secretsmanager:GetSecretValue::{SECRET}]"
    assert finding.fix == "add the resource to `registry_credentials`."


def test_fails_when_the_log_group_is_not_created() -> None:
    logs = {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": "/ecs/api",
            "awslogs-stream-prefix": "api",
            "awslogs-create-group": "true",
        },
    }
    task = task_definition(container(LogConfiguration=logs))
    finding = only(check_of(check_task_definitions, resources(task=task)))
    assert finding.rule == f"MissingPermission[logs:CreateLogGroup::{LOG_GROUP}]"
    assert finding.fix == "add the resource to `log_groups_to_create`."


def test_fails_when_a_derived_role_lacks_a_need() -> None:
    statements = (TOKEN_STATEMENT, LOGS_STATEMENT)
    body = resources(statements=statements)
    finding = only(check_of(check_task_definitions, body, record(statements, derive=True)))
    assert finding.rule == f"MissingPermission[{PULL}::{REPOSITORY}]"
    assert finding.fix.startswith("add the resource to `repositories` (derivation did not see it")
    assert finding.fix.endswith(".")


def test_fails_when_a_stream_is_outside_the_role_prefixes() -> None:
    logs = {
        "LogDriver": "awslogs",
        "Options": {"awslogs-group": "/ecs/api", "awslogs-stream-prefix": "web"},
    }
    task = task_definition(container(LogConfiguration=logs))
    finding = only(check_of(check_task_definitions, resources(task=task)))
    assert finding.rule == (
        "MissingPermission[logs:CreateLogStream, logs:PutLogEvents::"
        f"{LOG_GROUP}:log-stream:web/app/*]"
    )
    assert finding.fix == "add the stream prefix 'web' to `log_stream_prefixes`."


def test_fails_when_streams_have_no_prefix() -> None:
    logs = {"LogDriver": "awslogs", "Options": {"awslogs-group": "/ecs/api"}}
    task = task_definition(container(LogConfiguration=logs))
    finding = only(check_of(check_task_definitions, resources(task=task)))
    assert finding.rule == (
        f"MissingPermission[logs:CreateLogStream, logs:PutLogEvents::{LOG_GROUP}:log-stream:*]"
    )
    assert finding.fix == "add the stream prefix '' to `log_stream_prefixes`."


def test_fails_when_one_container_of_several_is_not_allowed() -> None:
    other = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/web:v1"
    task = task_definition(container(), container("web", other))
    findings = check_of(check_task_definitions, resources(task=task))
    finding = only(findings)
    assert finding.rule == (
        f"MissingPermission[{PULL}::arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/web]"
    )
    assert finding.description.startswith(f"{WHERE}: container 'web' of task family 'api'")


def test_image_of_another_registry_needs_nothing() -> None:
    task = task_definition(container(image="public.ecr.aws/nginx/nginx:1"))
    assert (
        check_of(check_task_definitions, resources(statements=(LOGS_STATEMENT,), task=task)) == []
    )


def test_task_of_another_role_is_not_checked() -> None:
    task = task_definition(container(image="nginx:1"), role_arn={"Fn::GetAtt": ["Other", "Arn"]})
    unknown = task_definition(
        container(image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/secret:v1"),
        role_arn={"Fn::GetAtt": ["Other", "Arn"]},
    )
    body = resources(Other=role(), Unknown=unknown, task=task)
    assert check_of(check_task_definitions, body) == []


def test_task_without_execution_role_is_not_checked() -> None:
    task = task_definition()
    del task["Properties"]["ExecutionRoleArn"]
    body = resources(statements=(), task=task)
    assert check_of(check_task_definitions, body, record(())) == []


ROLE_ARN_JOINED = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":iam::",
            {"Ref": "AWS::AccountId"},
            ":role/",
            {"Ref": ROLE_ID},
        ],
    ]
}


@pytest.mark.parametrize(
    ("role_resource", "role_arn"),
    [
        pytest.param(None, {"Fn::GetAtt": [ROLE_ID, "Arn"]}, id="get-att"),
        pytest.param(None, ROLE_ARN_JOINED, id="joined-arn"),
        pytest.param(None, {"Fn::GetAtt": f"{ROLE_ID}.Arn"}, id="get-att-dotted"),
        pytest.param(None, {"Ref": ROLE_ID}, id="ref"),
        pytest.param(NAMED_ROLE, f"arn:aws:iam::{ACCOUNT}:role/api-execution", id="literal-arn"),
        pytest.param(NAMED_ROLE, ROLE_ARN_JOINED, id="joined-arn-of-a-named-role"),
    ],
)
def test_fails_when_a_task_naming_the_role_is_not_allowed(
    role_resource: dict[str, Any] | None, role_arn: Any
) -> None:
    statements = (TOKEN_STATEMENT, LOGS_STATEMENT)
    task = task_definition(role_arn=role_arn)
    body = resources(role_resource=role_resource, statements=statements, task=task)
    finding = only(check_of(check_task_definitions, body, record(statements)))
    assert finding.rule == f"MissingPermission[{PULL}::{REPOSITORY}]"
    assert_points_at(finding, ROLE_ID)


def test_task_naming_the_role_by_a_joined_arn_passes_when_allowed() -> None:
    body = resources(task=task_definition(role_arn=ROLE_ARN_JOINED))
    assert check_of(check_task_definitions, body) == []


def test_fails_when_a_task_of_another_template_is_not_allowed() -> None:
    first = template({ROLE_ID: NAMED_ROLE, POLICY_ID: policy(*STATEMENTS)})
    other_path = "/a/T.template.json"
    task = task_definition(
        container(image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/web:v1"),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/api-execution",
    )
    second = template({"Web": task}, path=other_path, stack="T")
    findings = run(check_task_definitions, assembly_of(first, second), record())
    assert rules(findings)[0] == (
        f"MissingPermission[{PULL}::arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/web]"
    )
    assert "task family 'api' (T.template.json::Web)" in findings[0].description
    assert_points_at(findings[0], ROLE_ID)


# -- permissions boundary

DENY_ECR = document(
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "ecr:*", "Resource": "*"},
)


def test_boundary_allowing_every_need_passes() -> None:
    allow_all = document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    body = resources(
        role_resource=role(PermissionsBoundary={"Ref": "Boundary"}),
        Boundary=boundary_policy(allow_all),
    )
    assert check_of(check_task_definitions, body) == []


def test_fails_when_the_boundary_denies_the_pull() -> None:
    body = resources(
        role_resource=role(PermissionsBoundary={"Ref": "Boundary"}),
        Boundary=boundary_policy(DENY_ECR),
    )
    findings = check_of(check_task_definitions, body)
    assert rules(findings) == [
        "MissingPermission[ecr:GetAuthorizationToken::*]",
        f"MissingPermission[{PULL}::{REPOSITORY}]",
    ]
    for finding in findings:
        assert_points_at(finding, ROLE_ID)
        assert "(its permissions boundary included): ECS would fail" in finding.description
        assert finding.fix == (
            "add the resource to `repositories`, and let the permissions boundary allow it."
        )


def test_fails_when_the_boundary_allows_less_than_the_role() -> None:
    logs_only = document({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    body = resources(
        role_resource=role(PermissionsBoundary={"Ref": "Boundary"}),
        Boundary=boundary_policy(logs_only),
    )
    assert rules(check_of(check_task_definitions, body)) == [
        "MissingPermission[ecr:GetAuthorizationToken::*]",
        f"MissingPermission[{PULL}::{REPOSITORY}]",
    ]


def test_a_boundary_named_by_its_policy_arn_attribute_is_evaluated() -> None:
    body = resources(
        role_resource=role(PermissionsBoundary={"Fn::GetAtt": ["Boundary", "PolicyArn"]}),
        Boundary=boundary_policy(DENY_ECR),
    )
    assert rules(check_of(check_task_definitions, body)) == [
        "MissingPermission[ecr:GetAuthorizationToken::*]",
        f"MissingPermission[{PULL}::{REPOSITORY}]",
    ]


def test_fails_when_the_boundary_is_not_in_the_assembly() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/org-boundary"
    body = resources(role_resource=role(PermissionsBoundary=arn))
    finding = only(check_of(check_task_definitions, body))
    assert finding.rule == f"BoundaryNotEvaluated[{arn}]"
    assert_points_at(finding, ROLE_ID)


def test_fails_when_a_boundary_parameter_is_not_evaluated() -> None:
    body = resources(role_resource=role(PermissionsBoundary={"Ref": "BoundaryArn"}))
    parameters = {"BoundaryArn": {"Type": "String"}}
    finding = only(check_of(check_task_definitions, body, parameters=parameters))
    assert finding.rule == "BoundaryNotEvaluated[<BoundaryArn>]"


# -- unreadable values


def test_fails_when_the_image_is_a_stack_parameter() -> None:
    task = task_definition(container(image={"Ref": "ImageUri"}))
    parameters = {"ImageUri": {"Type": "String"}}
    finding = only(check_of(check_task_definitions, resources(task=task), parameters=parameters))
    assert finding.rule == "UnreadableValue[app::image]"
    assert_points_at(finding, ROLE_ID)
    assert "has the image <ImageUri>, whose registry and repository" in finding.description
    assert finding.fix.startswith("Name the image with ecs.ContainerImage.from_ecr_repository")


def test_image_with_a_tag_parameter_passes() -> None:
    image = {
        "Fn::Join": [
            "",
            [f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:", {"Ref": "ImageTag"}],
        ]
    }
    parameters = {"ImageTag": {"Type": "String"}}
    body = resources(task=task_definition(container(image=image)))
    assert check_of(check_task_definitions, body, parameters=parameters) == []


def test_fails_when_a_secret_is_a_stack_parameter() -> None:
    task = task_definition(container(Secrets=[{"Name": "DB", "ValueFrom": {"Ref": "DbArn"}}]))
    parameters = {"DbArn": {"Type": "String"}}
    finding = only(check_of(check_task_definitions, resources(task=task), parameters=parameters))
    assert finding.rule == "UnreadableValue[app::secrets DB]"
    assert finding.fix.startswith("Name the resource in the template")


# -- regions

OTHER_REGION = "us-east-1"


def region_case(trust_region: str) -> list[Finding]:
    """The role in eu-west-1 trusting ``trust_region``, its task definition in us-east-1."""
    trust = copy.deepcopy(TRUST)
    trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] = (
        f"arn:aws:ecs:{trust_region}:{ACCOUNT}:*"
    )
    first = template(
        {
            ROLE_ID: role(AssumeRolePolicyDocument=copy.deepcopy(trust), RoleName="api-execution"),
            POLICY_ID: policy(*STATEMENTS),
        }
    )
    other_path = "/a/T.template.json"
    task = task_definition(role_arn=f"arn:aws:iam::{ACCOUNT}:role/api-execution")
    second = template({"Web": task}, path=other_path, stack="T", region=OTHER_REGION)
    assembly = assembly_of(first, second)
    assembly.name(second, "Web", "T/Web/Resource")
    return run(check_task_definitions, assembly, record(trust=trust))


def test_fails_when_the_task_is_in_a_region_the_trust_does_not_name() -> None:
    findings = [f for f in region_case(REGION) if f.rule.startswith("RegionNotTrusted")]
    finding = only(findings)
    assert finding.rule == f"RegionNotTrusted[task family 'api' (T/Web)::{OTHER_REGION}]"
    assert_points_at(finding, ROLE_ID)
    assert finding.description == (
        f"{WHERE}: task family 'api' (T/Web) is in {OTHER_REGION}, but the role's trust policy "
        f"names only {REGION} in aws:SourceArn, so ECS would be refused the role when it "
        "launches the task."
    )


@pytest.mark.parametrize("trust_region", ["*", OTHER_REGION])
def test_task_in_a_trusted_region_passes(trust_region: str) -> None:
    assert not [f for f in region_case(trust_region) if f.rule.startswith("RegionNotTrusted")]


def test_task_of_an_environment_agnostic_stack_is_not_region_checked() -> None:
    body = resources()
    findings = check_of(check_task_definitions, body, region=None)
    assert not [f for f in findings if f.rule.startswith("RegionNotTrusted")]


def test_task_family_generated_from_the_path_is_not_shown() -> None:
    statements = (TOKEN_STATEMENT, LOGS_STATEMENT)
    body = resources(statements=statements, task=task_definition(family="STaskDefABCDEF12"))
    finding = only(check_of(check_task_definitions, body, record(statements)))
    assert "of task definition S/TaskDef needs" in finding.description
