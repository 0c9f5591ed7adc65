"""The audit's checks on plain templates: each finding decided by the evaluator for a role
written by hand, its trust policy, and what the audit says it cannot decide."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._audit import RoleAudit, audit
from ecs_exec_roles._evaluate import Decision, Evaluator, Request
from ecs_exec_roles._template import Template

ACCOUNT, REGION = "123456789012", "eu-west-1"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
CONDITIONS = {
    "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
    "StringEquals": {"aws:SourceAccount": ACCOUNT},
}
EXACT = [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {
        "Effect": "Allow",
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"],
        "Resource": REPOSITORY,
    },
    {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": REPOSITORY},
    {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{GROUP}:log-stream:web/*",
    },
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET},
]


def _template(
    statements: list[Any] | None = None,
    *,
    trust_condition: Any = CONDITIONS,
    managed: list[Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if trust_condition:
        trust["Condition"] = trust_condition
    role: dict[str, Any] = {"AssumeRolePolicyDocument": {"Statement": [trust]}}
    if managed is not None:
        role["ManagedPolicyArns"] = managed
    resources: dict[str, Any] = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": role},
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "web",
                "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "ContainerDefinitions": [
                    {
                        "Name": "web",
                        "Image": IMAGE,
                        "LogConfiguration": {
                            "LogDriver": "awslogs",
                            "Options": {
                                "awslogs-group": "/app",
                                "awslogs-region": REGION,
                                "awslogs-stream-prefix": "web",
                            },
                        },
                        "Secrets": [{"Name": "DB", "ValueFrom": SECRET}],
                    }
                ],
            },
        },
    }
    if statements is not None:
        resources["Policy"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                "Roles": [{"Ref": "Role"}],
            },
        }
    resources.update(extra or {})
    return {"Resources": resources}


def _audit(body: dict[str, Any]) -> RoleAudit:
    template = Template("app.json", body, account=ACCOUNT, region=REGION, stack_name="app")
    (role,) = audit(Assembly([template]))
    return role


def _rules(role: RoleAudit, category: str | None = None) -> list[str]:
    return [f.rule for f in role.findings if category is None or f.category == category]


def test_a_role_with_exactly_what_its_task_needs_is_clean() -> None:
    role = _audit(_template(EXACT))
    assert role.findings == []
    assert role.tasks == ["task family 'web' (app.json::Task)"]


@pytest.mark.parametrize(
    ("index", "missing"),
    [
        (1, "MissingPermission[ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer::"),
        (3, "MissingPermission[logs:CreateLogStream, logs:PutLogEvents::"),
        (4, f"MissingPermission[secretsmanager:GetSecretValue::{SECRET}]"),
    ],
)
def test_each_statement_removed_is_a_missing_permission_the_evaluator_denies(
    index: int, missing: str
) -> None:
    statements = copy.deepcopy(EXACT)
    removed = statements.pop(index)
    role = _audit(_template(statements))
    assert [rule[: len(missing)] for rule in _rules(role)] == [missing]
    # By construction: the evaluator over what is left denies the removed statement's action.
    action = removed["Action"] if isinstance(removed["Action"], str) else removed["Action"][0]
    resource = removed["Resource"].replace("web/*", "web/web/1")
    decision = Evaluator([{"Statement": statements}]).evaluate(Request(action, resource))
    assert decision is Decision.IMPLICIT_DENY


def test_wildcards_and_actions_ecs_never_calls_are_excess() -> None:
    statements = [
        *EXACT,
        {"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret"], "Resource": SECRET},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": "ecr:*", "Resource": REPOSITORY},
    ]
    role = _audit(_template(statements))
    assert _rules(role) == [
        "ExcessAction[secretsmanager:DescribeSecret]",
        "ExcessResource[secretsmanager:GetSecretValue::*]",
        "ExcessAction[ecr:*]",
    ]
    assert {f.category for f in role.findings} == {"excess"}


def test_a_deny_and_a_narrower_resource_are_not_excess() -> None:
    statements = [
        *EXACT,
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ]
    role = _audit(_template(statements))
    # The Deny takes everything away: each need is missing, nothing is excess.
    assert _rules(role, "excess") == []
    assert len(_rules(role, "missing")) == 4


def test_the_aws_managed_policy_is_evaluated_by_its_published_content() -> None:
    managed = ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    statements = [EXACT[4]]
    role = _audit(_template(statements, managed=managed))
    assert _rules(role, "missing") == []
    excess = _rules(role, "excess")
    assert "ExcessResource[ecr:BatchGetImage::*]" in excess
    assert "ExcessResource[logs:PutLogEvents::*]" in excess


def test_an_unknown_aws_managed_policy_is_named_not_guessed() -> None:
    managed = [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchLogsFullAccess"}]
    role = _audit(_template([EXACT[0], EXACT[1], EXACT[2], EXACT[4]], managed=managed))
    assert "ManagedPolicyNotEvaluated[CloudWatchLogsFullAccess]" in _rules(role, "unverified")
    (missing,) = [f for f in role.findings if f.category == "missing"]
    assert "unless CloudWatchLogsFullAccess, not evaluated, allows it" in missing.message


def test_a_customer_managed_policy_attached_by_arn_is_evaluated() -> None:
    body = _template(
        None,
        managed=[{"Ref": "Attached"}],
        extra={
            "Attached": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": EXACT}},
            }
        },
    )
    assert _audit(body).findings == []


def test_a_managed_policy_outside_the_templates_is_not_evaluated() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/platform-ecs"
    role = _audit(_template(EXACT, managed=[arn]))
    assert _rules(role) == [f"PolicyNotEvaluated[{arn}]"]


def test_inline_policies_are_findings_of_their_own() -> None:
    body = _template(None)
    body["Resources"]["Role"]["Properties"]["Policies"] = [
        {"PolicyName": "exec", "PolicyDocument": {"Statement": EXACT}}
    ]
    role = _audit(body)
    assert _rules(role) == ["InlinePolicy['exec']"]


@pytest.mark.parametrize(
    ("condition", "rules"),
    [
        (None, ["TrustWithoutConditions[aws:SourceAccount, aws:SourceArn]"]),
        (
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            ["TrustWithoutConditions[aws:SourceArn]"],
        ),
        (
            {"StringEquals": {"aws:SourceAccount": "210987654321"}},
            [
                "TrustWithoutConditions[aws:SourceArn]",
                "TrustDeniesTask[task family 'web' (app.json::Task)]",
            ],
        ),
        (
            {**CONDITIONS, "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"}},
            ["TrustDeniesTask[task family 'web' (app.json::Task)]"],
        ),
        ({**CONDITIONS, "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:*:{ACCOUNT}:*"}}, []),
    ],
)
def test_the_trust_policy_needs_both_conditions_and_must_let_the_task_in(
    condition: Any, rules: list[str]
) -> None:
    role = _audit(_template(EXACT, trust_condition=condition))
    assert _rules(role) == rules


def test_a_trust_policy_without_ecs_tasks_is_missing() -> None:
    body = _template(EXACT)
    trust = body["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Principal"] = {"Service": "ecs.amazonaws.com"}
    role = _audit(body)
    assert _rules(role) == ["TrustMissing[ecs-tasks.amazonaws.com]"]
    assert role.findings[0].category == "missing"


def test_a_role_outside_the_templates_is_said_with_the_policy_it_should_have() -> None:
    body = _template(EXACT)
    del body["Resources"]["Role"], body["Resources"]["Policy"]
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/shared-exec"
    body["Resources"]["Task"]["Properties"]["ExecutionRoleArn"] = role_arn
    role = _audit(body)
    assert role.template == ""
    assert _rules(role) == [f"RoleOutsideTemplates[{role_arn}]"]
    assert Evaluator([role.policy]).evaluate(Request("ecr:BatchGetImage", REPOSITORY)) is (
        Decision.ALLOW
    )


def test_an_image_the_template_does_not_tell_is_unverified() -> None:
    body = _template(EXACT)
    body["Parameters"] = {"Image": {"Type": "String"}}
    container = body["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]
    container["Image"] = {"Ref": "Image"}
    role = _audit(body)
    assert _rules(role, "unverified") == ["UnreadableValue[web::image]"]
    # The pull it allows may be for that image: the excess says so.
    assert all("UnreadableValue" in f.message for f in role.findings if f.category == "excess")


def test_a_role_a_batch_job_uses_is_not_asked_for_trust_conditions() -> None:
    body = _template(EXACT, trust_condition=None)
    body["Resources"]["Job"] = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "Type": "container",
            "JobDefinitionName": "nightly",
            "ContainerProperties": {
                "Image": IMAGE,
                "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
    }
    role = _audit(body)
    assert "TrustWithoutConditions" not in " ".join(_rules(role))
    assert "Condition" not in role.trust["Statement"][0]


def test_a_task_definition_that_needs_an_execution_role_and_has_none_is_missing() -> None:
    body = _template(EXACT)
    container = body["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]
    container["Image"] = "public.ecr.aws/docker/library/busybox:1"
    del container["LogConfiguration"], container["Secrets"]
    container["EnvironmentFiles"] = [{"Type": "s3", "Value": "arn:aws:s3:::config/app.env"}]
    bare = {"Name": "bare", "Image": "public.ecr.aws/docker/library/busybox:1"}
    body["Resources"]["Bare"] = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"ContainerDefinitions": [bare]},
    }
    del body["Resources"]["Task"]["Properties"]["ExecutionRoleArn"]
    template = Template("app.json", body, account=ACCOUNT, region=REGION, stack_name="app")
    # The task that needs nothing is not listed; the other has no role to audit but needs one.
    (role,) = audit(Assembly([template]))
    assert (role.role, role.arn, role.template) == ("(no execution role)", "", "")
    assert _rules(role) == ["ExecutionRoleMissing[task family 'web' (app.json::Task)]"]
    assert role.findings[0].category == "missing" and role.findings[0].logical_id == "Task"
    assert [s["Sid"] for s in role.policy["Statement"]] == ["S3FilesRead", "S3FilesBucketLocation"]


def test_a_role_that_is_also_the_task_role_is_excess() -> None:
    body = _template(EXACT)
    body["Resources"]["Task"]["Properties"]["TaskRoleArn"] = {"Fn::GetAtt": ["Role", "Arn"]}
    role = _audit(body)
    assert _rules(role) == ["AlsoTaskRole[Task]"]
    assert role.findings[0].category == "excess"


def test_a_policy_the_evaluator_cannot_read_decides_nothing() -> None:
    statements = [
        *EXACT,
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:userid}"},
    ]
    role = _audit(_template(statements))
    (finding,) = [f for f in role.findings if f.category != "inline"]
    assert finding.rule.startswith("PolicyNotEvaluated[policy variables are not supported")
    assert finding.category == "unverified"


@pytest.mark.parametrize(
    ("role_arn", "parameters", "said"),
    [
        ({"Fn::GetAtt": ["Maker", "Arn"]}, {}, "whose ARN comes from a resource of type Custom::X"),
        ({"Ref": "RoleArn"}, {"RoleArn": {"Type": "String"}}, "whose ARN is a parameter"),
        (
            {"Fn::ImportValue": "platform-role"},
            {},
            "which none of the templates audited defines",
        ),
    ],
)
def test_a_role_the_templates_do_not_show_says_where_its_arn_comes_from(
    role_arn: Any, parameters: dict[str, Any], said: str
) -> None:
    body = _template(EXACT)
    body["Parameters"] = parameters
    body["Resources"]["Maker"] = {"Type": "Custom::X", "Properties": {"ServiceToken": "x"}}
    body["Resources"]["Task"]["Properties"]["ExecutionRoleArn"] = role_arn
    role = _audit(body)
    (finding,) = role.findings
    assert finding.rule.startswith("RoleOutsideTemplates[")
    assert f"task family 'web' (app.json::Task) uses this execution role, {said}" in (
        finding.message
    )
