"""The pure checks of the verification (``_verify_roles``, ``_verify_tasks``, ``_verify``) over
templates written by hand as plain dicts: for each rule a compliant case that gives no finding
and non-compliant cases (``test_fails_when_...``) that give the rule's exact finding, its
description (the role's construct path first) and the resource it points at."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._role_view import (
    AwsManagedDocument,
    Check,
    Finding,
    PolicyRecord,
    RoleRecord,
    RoleView,
    task_definitions,
)
from ecs_exec_roles._template import Template
from ecs_exec_roles._verify import CHECKS, verify
from ecs_exec_roles._verify_roles import (
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_trust,
)
from ecs_exec_roles._verify_tasks import check_task_definitions

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PATH = "/a/S.template.json"
WHERE = "S/Role"
ROLE_ID = "Role1234"
ROLE_PATH = "S/Role/Resource/Resource"
POLICY_ID = "RolePolicy"
POLICY_PATH = "S/Role/Policy/Resource"
TASK_ID = "TaskDef"
TASK_PATH = "S/TaskDef/Resource"

REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:v1"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api"
STREAMS = f"{LOG_GROUP}:log-stream:api/app/*"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/flag"
PULL = "ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
STARTER_NAME = "service-role/AmazonECSTaskExecutionRolePolicy"
STARTER = AwsManagedDocument(
    STARTER_NAME,
    (
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
)

TRUST_STATEMENT: dict[str, Any] = {
    "Action": "sts:AssumeRole",
    "Effect": "Allow",
    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Condition": {
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    },
}
TRUST: dict[str, Any] = {"Statement": [TRUST_STATEMENT], "Version": "2012-10-17"}

TOKEN_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "ecr:GetAuthorizationToken",
    "Resource": "*",
}
PULL_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    ],
    "Resource": REPOSITORY,
}
LOGS_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": f"{LOG_GROUP}:log-stream:api/*",
}
SECRET_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": SECRET,
}
PARAMETER_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "ssm:GetParameters",
    "Resource": PARAMETER,
}
STATEMENTS = (TOKEN_STATEMENT, PULL_STATEMENT, LOGS_STATEMENT)
EVERY_STATEMENT = (*STATEMENTS, SECRET_STATEMENT, PARAMETER_STATEMENT)


# -- building templates -------------------------------------------------------------------------


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [copy.deepcopy(s) for s in statements]}


def role(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": copy.deepcopy(TRUST), **properties},
    }


def policy(
    *statements: dict[str, Any],
    roles: list[Any] | None = None,
    kind: str = "AWS::IAM::ManagedPolicy",
) -> dict[str, Any]:
    properties: dict[str, Any] = {"PolicyDocument": document(*statements)}
    if kind == "AWS::IAM::RolePolicy":
        properties["PolicyName"] = "extra"
        properties["RoleName"] = (roles or [{"Ref": ROLE_ID}])[0]
    else:
        properties["Roles"] = [{"Ref": ROLE_ID}] if roles is None else roles
        if kind == "AWS::IAM::Policy":
            properties["PolicyName"] = "extra"
    return {"Type": kind, "Properties": properties}


def container(name: str = "app", image: Any = IMAGE, **properties: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Image": image,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {"awslogs-group": "/ecs/api", "awslogs-stream-prefix": "api"},
        },
        **properties,
    }


def task_definition(
    *containers: dict[str, Any], role_arn: Any = None, family: str = "api"
) -> dict[str, Any]:
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "ExecutionRoleArn": role_arn or {"Fn::GetAtt": [ROLE_ID, "Arn"]},
            "Family": family,
            "ContainerDefinitions": list(containers) or [container()],
        },
    }


def resources(
    *,
    role_resource: dict[str, Any] | None = None,
    statements: tuple[dict[str, Any], ...] = STATEMENTS,
    task: dict[str, Any] | None = None,
    **extra: dict[str, Any],
) -> dict[str, Any]:
    """The role, its policy with ``statements``, a task definition, and ``extra``."""
    return {
        ROLE_ID: role_resource or role(),
        POLICY_ID: policy(*statements),
        TASK_ID: task or task_definition(),
        **extra,
    }


def template(
    body_resources: dict[str, Any],
    *,
    path: str = PATH,
    stack: str = "S",
    region: str | None = REGION,
    parameters: dict[str, Any] | None = None,
) -> Template:
    body: dict[str, Any] = {"Resources": body_resources}
    if parameters:
        body["Parameters"] = parameters
    return Template(path, body, stack, ACCOUNT, region)


def assembly_of(*templates: Template) -> Assembly:
    """The templates, with the role, its policy and the task definition of the first named."""
    assembly = Assembly(list(templates))
    first = templates[0]
    for logical_id, construct_path in (
        (ROLE_ID, ROLE_PATH),
        (POLICY_ID, POLICY_PATH),
        (TASK_ID, TASK_PATH),
    ):
        if logical_id in first.resources:
            assembly.name(first, logical_id, construct_path)
    return assembly


def record(
    statements: tuple[dict[str, Any], ...] = STATEMENTS,
    *,
    trust: Any = None,
    derive: bool = False,
    aws_managed: tuple[AwsManagedDocument, ...] = (),
    path: str = ROLE_PATH,
) -> RoleRecord:
    return RoleRecord(
        where=WHERE,
        path=path,
        trust=copy.deepcopy(TRUST) if trust is None else trust,
        derive=derive,
        policies=(PolicyRecord(POLICY_PATH, tuple(copy.deepcopy(s) for s in statements)),),
        aws_managed_policies=aws_managed,
    )


def run(check: Check, assembly: Assembly, role_record: RoleRecord) -> list[Finding]:
    """One check over the role of ``role_record`` (the first template's ``Role1234``)."""
    view = RoleView(assembly, role_record, assembly.templates[0], ROLE_ID)
    return check(view, task_definitions(assembly))


def check_of(
    check: Check,
    body_resources: dict[str, Any],
    role_record: RoleRecord | None = None,
    **options: Any,
) -> list[Finding]:
    return run(check, assembly_of(template(body_resources, **options)), role_record or record())


def rules(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, rules(findings)
    return findings[0]


def assert_points_at(finding: Finding, logical_id: str, path: str = PATH) -> None:
    assert finding.description.startswith(f"{WHERE}: ")
    assert (finding.template, finding.logical_id) == (path, logical_id)


# -- the whole verification -----------------------------------------------------------------------


def test_checks_run_in_order() -> None:
    assert tuple(CHECKS) == (
        check_trust,
        check_attachments,
        check_foreign_policies,
        check_own_policies,
        check_task_definitions,
    )


def test_compliant_role_has_no_finding() -> None:
    assert verify(assembly_of(template(resources())), [record()]) == []


def test_fails_when_the_role_is_not_in_the_assembly() -> None:
    assembly = assembly_of(template(resources()))
    findings = verify(assembly, [record(path="S/Gone/Resource/Resource")])
    finding = only(findings)
    assert finding.rule == f"NotVerified[{WHERE}]"
    assert finding.description.startswith(f"{WHERE}: ")
    assert "S/Gone/Resource/Resource" in finding.description
    assert (finding.template, finding.logical_id) == ("", "")


def test_fails_when_one_role_is_not_named_and_others_still_verified() -> None:
    assembly = assembly_of(template(resources()))
    unnamed = RoleRecord(where="S/Other", path="S/Other/Resource", trust=TRUST, derive=False)
    assert rules(verify(assembly, [unnamed, record()])) == ["NotVerified[S/Other]"]


def test_fails_when_several_checks_fail() -> None:
    body = resources(
        role_resource=role(ManagedPolicyArns=[ADMIN]),
        statements=(*STATEMENTS, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        Extra=policy(TOKEN_STATEMENT),
    )
    assert rules(verify(assembly_of(template(body)), [record()])) == [
        f"PolicyAttached[ManagedPolicyArns::{ADMIN}]",
        "PolicyAttached[S.template.json::Extra]",
        "PolicyChanged[s3:GetObject::*]",
    ]


def test_fails_when_a_policy_cannot_be_evaluated() -> None:
    numeric = {**TOKEN_STATEMENT, "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "1"}}}
    statements = (numeric, PULL_STATEMENT, LOGS_STATEMENT)
    body = resources(statements=statements)
    findings = verify(assembly_of(template(body)), [record(statements)])
    finding = only(findings)
    assert finding.rule == (
        "PolicyNotEvaluated[condition operator 'NumericLessThan' is not supported]"
    )
    assert_points_at(finding, ROLE_ID)


# -- check_trust ----------------------------------------------------------------------------------

SECOND_STATEMENT: dict[str, Any] = {
    "Action": ["sts:TagSession", "sts:AssumeRole"],
    "Effect": "Allow",
    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
}


@pytest.mark.parametrize(
    ("written", "deployed"),
    [
        pytest.param(TRUST, TRUST, id="identical"),
        pytest.param(
            {"Statement": [TRUST_STATEMENT, SECOND_STATEMENT]},
            {"Statement": [SECOND_STATEMENT, TRUST_STATEMENT]},
            id="statements-in-another-order",
        ),
        pytest.param(
            {"Statement": [SECOND_STATEMENT]},
            {"Statement": [{**SECOND_STATEMENT, "Action": ["sts:AssumeRole", "sts:TagSession"]}]},
            id="actions-in-another-order",
        ),
        pytest.param(
            TRUST,
            {
                "Statement": [
                    {
                        "Action": ["sts:AssumeRole"],
                        "Effect": "Allow",
                        "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
                            "ArnLike": {"aws:SourceArn": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"]},
                        },
                    }
                ],
                "Version": "2012-10-17",
            },
            id="single-values-as-lists",
        ),
        pytest.param(
            TRUST,
            {"Statement": [{**TRUST_STATEMENT, "Sid": "EcsTasks"}], "Version": "2012-10-17"},
            id="sid-added",
        ),
        pytest.param(
            TRUST,
            {"Statement": TRUST_STATEMENT, "Version": "2012-10-17"},
            id="one-statement-without-a-list",
        ),
        pytest.param(
            TRUST,
            {
                "Statement": [
                    {
                        **TRUST_STATEMENT,
                        "Condition": {
                            "ArnLike": {
                                "aws:SourceArn": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":ecs:",
                                            {"Ref": "AWS::Region"},
                                            ":",
                                            {"Ref": "AWS::AccountId"},
                                            ":*",
                                        ],
                                    ]
                                }
                            },
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                        },
                    }
                ]
            },
            id="pseudo-parameters-of-the-stack",
        ),
    ],
)
def test_trust_unchanged(written: dict[str, Any], deployed: dict[str, Any]) -> None:
    body = resources(role_resource=role(AssumeRolePolicyDocument=copy.deepcopy(deployed)))
    assert check_of(check_trust, body, record(trust=copy.deepcopy(written))) == []


def test_fails_when_a_trust_statement_is_added() -> None:
    other = {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    }
    body = resources(role_resource=role(AssumeRolePolicyDocument=document(TRUST_STATEMENT, other)))
    finding = only(check_of(check_trust, body))
    assert finding.rule == (
        'TrustChanged[{"Action":["sts:AssumeRole"],"Effect":"Allow",'
        '"Principal":{"AWS":["arn:aws:iam::123456789012:root"]}}]'
    )
    assert_points_at(finding, ROLE_ID)
    assert "which the library did not write" in finding.description


def test_fails_when_another_service_is_added_to_the_principal() -> None:
    widened = {
        **TRUST_STATEMENT,
        "Principal": {"Service": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]},
    }
    body = resources(role_resource=role(AssumeRolePolicyDocument=document(widened)))
    findings = check_of(check_trust, body)
    assert len(findings) == 2
    added, missing = findings
    assert '"Service":["ec2.amazonaws.com","ecs-tasks.amazonaws.com"]' in added.rule
    assert missing.rule.startswith('TrustChanged[missing {"Action":["sts:AssumeRole"]')
    for finding in findings:
        assert_points_at(finding, ROLE_ID)


def test_fails_when_the_trust_conditions_are_dropped() -> None:
    loose = {key: value for key, value in TRUST_STATEMENT.items() if key != "Condition"}
    body = resources(role_resource=role(AssumeRolePolicyDocument=document(loose)))
    findings = check_of(check_trust, body)
    assert rules(findings) == [
        'TrustChanged[{"Action":["sts:AssumeRole"],"Effect":"Allow",'
        '"Principal":{"Service":["ecs-tasks.amazonaws.com"]}}]',
        'TrustChanged[missing {"Action":["sts:AssumeRole"],'
        '"Condition":{"ArnLike":{"aws:SourceArn":["arn:aws:ecs:eu-west-1:123456789012:*"]},'
        '"StringEquals":{"aws:SourceAccount":["123456789012"]}},"Effect":"Allow",'
        '"Principal":{"Service":["ecs-tasks.amazonaws.com"]}}]',
    ]
    for finding in findings:
        assert_points_at(finding, ROLE_ID)
    assert "lacks" in findings[1].description


def test_fails_when_the_trust_policy_is_removed() -> None:
    bare = role()
    del bare["Properties"]["AssumeRolePolicyDocument"]
    finding = only(check_of(check_trust, resources(role_resource=bare)))
    assert finding.rule.startswith("TrustChanged[missing ")
    assert_points_at(finding, ROLE_ID)


def test_fails_when_the_source_account_changes() -> None:
    other = copy.deepcopy(TRUST_STATEMENT)
    other["Condition"]["StringEquals"]["aws:SourceAccount"] = "210987654321"
    body = resources(role_resource=role(AssumeRolePolicyDocument=document(other)))
    assert len(check_of(check_trust, body)) == 2


# -- check_attachments ----------------------------------------------------------------------------


def starter_arn(partition: Any = "aws") -> Any:
    return {"Fn::Join": ["", ["arn:", partition, f":iam::aws:policy/{STARTER_NAME}"]]}


@pytest.mark.parametrize(
    ("properties", "aws_managed"),
    [
        pytest.param({}, (), id="nothing-attached"),
        pytest.param({"ManagedPolicyArns": []}, (), id="empty-list"),
        pytest.param(
            {"ManagedPolicyArns": [starter_arn({"Ref": "AWS::Partition"})]},
            (STARTER,),
            id="starter-built-with-the-partition",
        ),
        pytest.param(
            {"ManagedPolicyArns": [f"arn:aws:iam::aws:policy/{STARTER_NAME}"]},
            (STARTER,),
            id="starter-written-out",
        ),
    ],
)
def test_attachments_as_written(properties: dict[str, Any], aws_managed: tuple[Any, ...]) -> None:
    body = resources(role_resource=role(**properties))
    assert check_of(check_attachments, body, record(aws_managed=aws_managed)) == []


def test_starter_arn_of_an_environment_agnostic_stack_passes() -> None:
    body = resources(role_resource=role(ManagedPolicyArns=[starter_arn({"Ref": "AWS::Partition"})]))
    found = check_of(check_attachments, body, record(aws_managed=(STARTER,)), region=None)
    assert found == []


def test_fails_when_an_inline_policy_is_added() -> None:
    inline = {"PolicyName": "x", "PolicyDocument": document(TOKEN_STATEMENT)}
    finding = only(check_of(check_attachments, resources(role_resource=role(Policies=[inline]))))
    assert finding.rule == "PolicyAttached[Policies::x]"
    assert_points_at(finding, ROLE_ID)
    assert "inline policy x" in finding.description


def test_fails_when_several_inline_policies_are_added() -> None:
    inline = [
        {"PolicyName": name, "PolicyDocument": document(TOKEN_STATEMENT)} for name in ("a", "b")
    ]
    findings = check_of(check_attachments, resources(role_resource=role(Policies=inline)))
    assert rules(findings) == ["PolicyAttached[Policies::a]", "PolicyAttached[Policies::b]"]


@pytest.mark.parametrize(
    ("arns", "aws_managed", "expected"),
    [
        pytest.param([ADMIN], (), [ADMIN], id="admin"),
        pytest.param(
            [starter_arn({"Ref": "AWS::Partition"}), ADMIN],
            (STARTER,),
            [ADMIN],
            id="admin-beside-the-starter",
        ),
        pytest.param(
            [starter_arn()],
            (),
            [f"arn:aws:iam::aws:policy/{STARTER_NAME}"],
            id="starter-the-record-does-not-hold",
        ),
        pytest.param(
            [starter_arn("aws-cn")],
            (STARTER,),
            [f"arn:aws-cn:iam::aws:policy/{STARTER_NAME}"],
            id="starter-of-another-partition",
        ),
        pytest.param(
            [f"arn:aws:iam::{ACCOUNT}:policy/team"],
            (STARTER,),
            [f"arn:aws:iam::{ACCOUNT}:policy/team"],
            id="customer-managed",
        ),
    ],
)
def test_fails_when_a_managed_policy_is_attached(
    arns: list[Any], aws_managed: tuple[AwsManagedDocument, ...], expected: list[str]
) -> None:
    body = resources(role_resource=role(ManagedPolicyArns=arns))
    findings = check_of(check_attachments, body, record(aws_managed=aws_managed))
    assert rules(findings) == [f"PolicyAttached[ManagedPolicyArns::{arn}]" for arn in expected]
    for finding in findings:
        assert_points_at(finding, ROLE_ID)


def test_fails_when_a_managed_policy_of_the_app_is_attached() -> None:
    body = resources(
        role_resource=role(ManagedPolicyArns=[{"Ref": "Team"}]),
        Team=policy(TOKEN_STATEMENT, roles=[]),
    )
    finding = only(check_of(check_attachments, body))
    assert finding.rule == "PolicyAttached[ManagedPolicyArns::<Team>]"
    assert_points_at(finding, ROLE_ID)


# -- check_foreign_policies -----------------------------------------------------------------------

NAMED_ROLE = role(RoleName="api-execution")


@pytest.mark.parametrize("kind", ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"])
@pytest.mark.parametrize(
    ("role_resource", "names"),
    [
        pytest.param(None, [{"Ref": ROLE_ID}], id="ref"),
        pytest.param(NAMED_ROLE, ["api-execution"], id="role-name"),
        pytest.param(NAMED_ROLE, [{"Ref": ROLE_ID}], id="ref-of-a-named-role"),
        pytest.param(NAMED_ROLE, [f"arn:aws:iam::{ACCOUNT}:role/api-execution"], id="arn"),
        pytest.param(
            NAMED_ROLE, [f"arn:aws:iam::{ACCOUNT}:role/teams/api-execution"], id="arn-with-path"
        ),
        pytest.param(None, ["other-role", {"Ref": ROLE_ID}], id="among-others"),
    ],
)
def test_fails_when_a_policy_names_the_role(
    kind: str, role_resource: dict[str, Any] | None, names: list[Any]
) -> None:
    body = resources(
        role_resource=role_resource, Extra=policy(TOKEN_STATEMENT, roles=names, kind=kind)
    )
    finding = only(check_of(check_foreign_policies, body))
    assert finding.rule == "PolicyAttached[S.template.json::Extra]"
    assert_points_at(finding, "Extra")
    short = kind.removeprefix("AWS::IAM::")
    assert finding.description.startswith(f"{WHERE}: the {short} S.template.json::Extra names")


@pytest.mark.parametrize(
    ("role_resource", "name"),
    [
        pytest.param(None, {"Ref": ROLE_ID}, id="ref"),
        pytest.param(NAMED_ROLE, "api-execution", id="role-name"),
        pytest.param(NAMED_ROLE, f"arn:aws:iam::{ACCOUNT}:role/api-execution", id="arn"),
    ],
)
def test_fails_when_a_role_policy_names_the_role(
    role_resource: dict[str, Any] | None, name: Any
) -> None:
    extra = policy(TOKEN_STATEMENT, roles=[name], kind="AWS::IAM::RolePolicy")
    body = resources(role_resource=role_resource, Extra=extra)
    finding = only(check_of(check_foreign_policies, body))
    assert finding.rule == "PolicyAttached[S.template.json::Extra]"
    assert_points_at(finding, "Extra")
    assert finding.description.startswith(f"{WHERE}: the RolePolicy S.template.json::Extra names")


def test_fails_when_a_policy_with_a_construct_path_names_the_role() -> None:
    body = resources(Extra=policy(TOKEN_STATEMENT))
    built = template(body)
    assembly = assembly_of(built)
    assembly.name(built, "Extra", "S/Grants/Resource")
    finding = only(run(check_foreign_policies, assembly, record()))
    assert finding.rule == "PolicyAttached[S/Grants]"
    assert_points_at(finding, "Extra")
    assert "the ManagedPolicy S/Grants names" in finding.description


def test_a_role_of_the_same_name_in_another_account_is_another_role() -> None:
    extra = policy(TOKEN_STATEMENT, roles=["arn:aws:iam::999999999999:role/api-execution"])
    body = resources(role_resource=NAMED_ROLE, Extra=extra)
    assert check_of(check_foreign_policies, body) == []
    other = task_definition(role_arn="arn:aws:iam::999999999999:role/api-execution")
    assert check_of(check_task_definitions, resources(role_resource=NAMED_ROLE, task=other)) == []


def test_fails_when_a_policy_of_another_template_names_the_role() -> None:
    first = template(resources(role_resource=NAMED_ROLE))
    other_path = "/a/T.template.json"
    second = template({"Extra": policy(TOKEN_STATEMENT, roles=["api-execution"])}, path=other_path)
    finding = only(run(check_foreign_policies, assembly_of(first, second), record()))
    assert finding.rule == "PolicyAttached[T.template.json::Extra]"
    assert_points_at(finding, "Extra", other_path)


@pytest.mark.parametrize("kind", ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"])
@pytest.mark.parametrize(
    "names",
    [
        pytest.param([{"Ref": "Other"}], id="ref-of-another-role"),
        pytest.param(["other-role"], id="another-name"),
        pytest.param([f"arn:aws:iam::{ACCOUNT}:role/other-role"], id="another-arn"),
        pytest.param([], id="no-role"),
    ],
)
def test_policies_of_other_roles_pass(kind: str, names: list[Any]) -> None:
    body = resources(
        role_resource=NAMED_ROLE,
        Other=role(),
        Extra=policy(TOKEN_STATEMENT, roles=names, kind=kind),
    )
    assert check_of(check_foreign_policies, body) == []


def test_role_policy_of_another_role_passes() -> None:
    extra = policy(TOKEN_STATEMENT, roles=[{"Ref": "Other"}], kind="AWS::IAM::RolePolicy")
    body = resources(Other=role(), Extra=extra)
    assert check_of(check_foreign_policies, body) == []


def test_own_policy_passes() -> None:
    assert check_of(check_foreign_policies, resources()) == []


def test_fails_when_the_own_policy_is_not_named_at_its_path() -> None:
    built = template(resources())
    assembly = Assembly([built])
    assembly.name(built, ROLE_ID, ROLE_PATH)
    finding = only(run(check_foreign_policies, assembly, record()))
    assert finding.rule == f"PolicyAttached[S.template.json::{POLICY_ID}]"
    assert_points_at(finding, POLICY_ID)


# -- check_own_policies ---------------------------------------------------------------------------

ADDED = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


@pytest.mark.parametrize(
    "deployed",
    [
        pytest.param(STATEMENTS, id="unchanged"),
        pytest.param(tuple(reversed(STATEMENTS)), id="reordered"),
        pytest.param(
            (*STATEMENTS, {"Effect": "Deny", "Action": "ecr:*", "Resource": "*"}),
            id="deny-added",
        ),
        pytest.param(
            (TOKEN_STATEMENT, {**PULL_STATEMENT, "Action": PULL_STATEMENT["Action"][:1]}),
            id="actions-removed",
        ),
        pytest.param(
            (*STATEMENTS, {**PULL_STATEMENT, "Sid": "Again"}),
            id="statement-repeated",
        ),
        pytest.param(
            (
                TOKEN_STATEMENT,
                {**PULL_STATEMENT, "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}},
                LOGS_STATEMENT,
            ),
            id="condition-added",
        ),
    ],
)
def test_own_policy_holds_no_more_than_written(deployed: tuple[dict[str, Any], ...]) -> None:
    assert check_of(check_own_policies, resources(statements=deployed)) == []


def test_written_statements_with_references_pass() -> None:
    pull = {
        **PULL_STATEMENT,
        "Resource": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ecr:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":repository/team/api",
                ],
            ]
        },
    }
    written = (TOKEN_STATEMENT, pull, LOGS_STATEMENT)
    assert check_of(check_own_policies, resources(), record(written)) == []


def test_fails_when_a_statement_is_added() -> None:
    finding = only(check_of(check_own_policies, resources(statements=(*STATEMENTS, ADDED))))
    assert finding.rule == "PolicyChanged[s3:GetObject::*]"
    assert_points_at(finding, POLICY_ID)
    assert finding.description == (
        f"{WHERE}: its policy S/Role/Policy allows s3:GetObject on *, which the library did "
        "not write there: an aspect or escape hatch widened it after the library built it."
    )


def test_fails_when_an_action_is_added_to_a_statement() -> None:
    pull = {**PULL_STATEMENT, "Action": [*PULL_STATEMENT["Action"], "ecr:PutImage"]}
    deployed = (TOKEN_STATEMENT, pull, LOGS_STATEMENT)
    finding = only(check_of(check_own_policies, resources(statements=deployed)))
    assert finding.rule == f"PolicyChanged[ecr:PutImage::{REPOSITORY}]"
    assert_points_at(finding, POLICY_ID)


def test_fails_when_a_resource_is_widened() -> None:
    deployed = (TOKEN_STATEMENT, {**PULL_STATEMENT, "Resource": "*"}, LOGS_STATEMENT)
    findings = check_of(check_own_policies, resources(statements=deployed))
    assert rules(findings) == [
        "PolicyChanged[ecr:BatchCheckLayerAvailability::*]",
        "PolicyChanged[ecr:GetDownloadUrlForLayer::*]",
        "PolicyChanged[ecr:BatchGetImage::*]",
    ]
    for finding in findings:
        assert_points_at(finding, POLICY_ID)


def test_fails_when_a_resource_is_added() -> None:
    other = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/other"
    pull = {**PULL_STATEMENT, "Resource": [REPOSITORY, other]}
    deployed = (TOKEN_STATEMENT, pull, LOGS_STATEMENT)
    findings = check_of(check_own_policies, resources(statements=deployed))
    assert rules(findings) == [
        f"PolicyChanged[ecr:BatchCheckLayerAvailability::{other}]",
        f"PolicyChanged[ecr:GetDownloadUrlForLayer::{other}]",
        f"PolicyChanged[ecr:BatchGetImage::{other}]",
    ]


def test_fails_when_a_written_condition_is_dropped() -> None:
    tagged = {**SECRET_STATEMENT, "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}}
    written = (*STATEMENTS, tagged)
    deployed = (*STATEMENTS, SECRET_STATEMENT)
    finding = only(check_of(check_own_policies, resources(statements=deployed), record(written)))
    assert finding.rule == f"PolicyChanged[secretsmanager:GetSecretValue::{SECRET}]"


def test_fails_when_a_not_action_statement_is_added() -> None:
    loose = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    finding = only(check_of(check_own_policies, resources(statements=(*STATEMENTS, loose))))
    assert finding.rule == "PolicyChanged[NotAction/NotResource ['iam:*']::['*']]"
    assert_points_at(finding, POLICY_ID)


def test_own_policy_missing_from_the_assembly_is_not_checked() -> None:
    built = template(resources(statements=(*STATEMENTS, ADDED)))
    assembly = Assembly([built])
    assembly.name(built, ROLE_ID, ROLE_PATH)
    assert run(check_own_policies, assembly, record()) == []


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


def boundary_policy(doc: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": doc}}


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
