"""The checks of a role's own resource and policies (``_verify_roles``) over templates written
by hand as plain dicts: its trust policy as the library wrote it (``check_trust``), nothing
attached to it but the library's (``check_attachments``), no policy of any template naming it
but its own (``check_foreign_policies``), and its own policies holding only what the library
wrote (``check_own_policies``). For each rule a compliant case that gives no finding and
non-compliant cases (``test_fails_when_...``) that give the rule's exact finding, its
description (the role's construct path first) and the resource it points at."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from verify_templates import (
    ACCOUNT,
    ADMIN,
    LOGS_STATEMENT,
    NAMED_ROLE,
    POLICY_ID,
    PULL_STATEMENT,
    REGION,
    REPOSITORY,
    ROLE_ID,
    ROLE_PATH,
    SECRET,
    SECRET_STATEMENT,
    STARTER,
    STARTER_NAME,
    STATEMENTS,
    TOKEN_STATEMENT,
    TRUST,
    TRUST_STATEMENT,
    WHERE,
    assembly_of,
    assert_points_at,
    check_of,
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

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._role_view import AwsManagedDocument
from ecs_exec_roles._verify_roles import (
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_trust,
)
from ecs_exec_roles._verify_tasks import check_task_definitions

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
