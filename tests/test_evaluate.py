"""The IAM evaluator (``_evaluate``), which the verification of templates and the property
tests rely on, and the test helper that gathers a role's policies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iam_eval import Environment, resolve, role_policies

from ecs_exec_roles._evaluate import (
    ANY_VALUE,
    Decision,
    Evaluator,
    Request,
    UnsupportedPolicyError,
    _Patterns,
    action_matches,
    arn_matches,
    evaluate,
    is_allowed,
    not_contained,
)
from testkit.cfn import UnresolvableError

REPO = "arn:aws:ecr:eu-west-1:123456789012:repository/app"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# -- actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("ecr:BatchGetImage", "ecr:BatchGetImage", True),
        ("ecr:BatchGetImage", "ECR:batchgetimage", True),
        ("ECR:BATCHGETIMAGE", "ecr:BatchGetImage", True),
        ("ecr:Batch*", "ecr:BatchCheckLayerAvailability", True),
        ("ecr:Batch*", "ecr:PutImage", False),
        ("ecr:*", "ecr:PutImage", True),
        ("*", "kms:Decrypt", True),
        ("ssm:GetParameter?", "ssm:GetParameters", True),
        ("ssm:GetParameter?", "ssm:GetParameter", False),
        ("ssm:GetParameters", "ssm:GetParameter", False),
        ("ssm:GetParameter", "ssm:GetParameters", False),
        ("secretsmanager:Get*", "secretsmanager:DescribeSecret", False),
        ("ecr:*", "ecrpublic:GetAuthorizationToken", False),
    ],
    ids=lambda v: str(v),
)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert is_allowed([policy(allow(pattern, "*"))], action, REPO) is expected


def test_not_action_allows_everything_else() -> None:
    policies = [policy({"Effect": "Allow", "NotAction": "ecr:Put*", "Resource": "*"})]
    assert is_allowed(policies, "ecr:BatchGetImage", REPO)
    assert not is_allowed(policies, "ecr:PutImage", REPO)
    assert not is_allowed(policies, "ECR:putimage", REPO)


# -- resources ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        (REPO, REPO, True),
        (REPO, REPO + "x", False),
        (REPO, REPO[:-1], False),
        (REPO, REPO.replace("app", "App"), False),
        (REPO.replace("app", "App"), REPO, False),
        (REPO + "/*", REPO, False),
        (REPO + "/*", REPO + "/sub", True),
        (REPO + "*", REPO + "-x", True),
        ("*", REPO, True),
        ("arn:aws:ecr:*:123456789012:repository/app", REPO, True),
        ("arn:aws:ecr:*:123456789012:repository/app", REPO.replace("eu-west-1", "us-east-1"), True),
        ("arn:aws:ecr:eu-west-1:*:repository/app", REPO, True),
        # A `*` that ends a segment may reach across colons, as IAM documents.
        ("arn:aws:ecr:*:repository/app", REPO, True),
        # Segments are compared one by one: `eu-*` cannot swallow the account.
        ("arn:aws:ecr:eu-*:repository/app:x", REPO, False),
        ("arn:aws:ecr:eu-west-1:123456789012:repository/ap?", REPO, True),
        ("arn:aws:ecr:eu-west-1:123456789012:repository/a?", REPO, False),
        # In the resource part a wildcard spans colons: log streams of a log group.
        (
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:log-stream:web/c/1",
            True,
        ),
        (
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app",
            False,
        ),
        (
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app2:log-stream:x",
            False,
        ),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-??????",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            True,
        ),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-??????",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-x-AbCdEf",
            False,
        ),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-*",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-x-AbCdEf",
            True,
        ),
    ],
    ids=lambda v: str(v),
)
def test_resource_matching(pattern: str, resource: str, expected: bool) -> None:
    assert is_allowed(
        [policy(allow("ecr:BatchGetImage", pattern))], "ecr:BatchGetImage", resource
    ) is (expected)


def test_not_resource_allows_everything_else() -> None:
    policies = [policy({"Effect": "Allow", "Action": "ecr:*", "NotResource": REPO})]
    assert not is_allowed(policies, "ecr:BatchGetImage", REPO)
    assert is_allowed(policies, "ecr:BatchGetImage", REPO + "2")


def test_arn_matches_handles_non_arn_values() -> None:
    assert arn_matches("*", "anything")
    assert arn_matches("a*", "abc")
    assert not arn_matches("a?", "abc")


# -- decisions ----------------------------------------------------------------------------------


def test_default_is_implicit_deny() -> None:
    assert evaluate([], Request("ecr:BatchGetImage", REPO)) is Decision.IMPLICIT_DENY
    assert evaluate([policy()], Request("ecr:BatchGetImage", REPO)) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_over_allow_in_any_order() -> None:
    statements = [allow("ecr:*", "*"), deny("ecr:BatchGetImage", REPO)]
    for ordered in (statements, statements[::-1]):
        assert evaluate([policy(*ordered)], Request("ecr:BatchGetImage", REPO)) is (
            Decision.EXPLICIT_DENY
        )
    split = [policy(statements[1]), policy(statements[0])]
    assert evaluate(split, Request("ecr:BatchGetImage", REPO)) is Decision.EXPLICIT_DENY
    assert evaluate(split, Request("ecr:GetDownloadUrlForLayer", REPO)) is Decision.ALLOW


def test_deny_with_unmet_condition_does_not_apply() -> None:
    policies = [
        policy(
            allow("kms:Decrypt", "*"),
            deny(
                "kms:Decrypt",
                "*",
                Condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            ),
        )
    ]
    assert is_allowed(
        policies, "kms:Decrypt", "k", {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}
    )
    assert not is_allowed(
        policies, "kms:Decrypt", "k", {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    )


def test_statement_may_be_a_single_object() -> None:
    document = {"Version": "2012-10-17", "Statement": allow("ecr:BatchGetImage", REPO)}
    assert is_allowed([document], "ecr:BatchGetImage", REPO)


# -- conditions ---------------------------------------------------------------------------------

VIA_SSM = "ssm.eu-west-1.amazonaws.com"
VIA_SECRETS = "secretsmanager.eu-west-1.amazonaws.com"


def decrypt(condition: dict[str, Any]) -> list[dict[str, Any]]:
    return [policy(allow("kms:Decrypt", "*", Condition=condition))]


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"kms:ViaService": VIA_SSM}}, {"kms:ViaService": VIA_SSM}, True),
        ({"StringEquals": {"kms:ViaService": VIA_SSM}}, {"kms:viaservice": VIA_SSM}, True),
        ({"StringEquals": {"kms:ViaService": VIA_SSM}}, {"kms:ViaService": VIA_SSM.upper()}, False),
        ({"StringEquals": {"kms:ViaService": VIA_SSM}}, {}, False),
        ({"StringEquals": {"kms:ViaService": VIA_SSM}}, {"kms:ViaService": VIA_SECRETS}, False),
        (
            {"StringEquals": {"kms:ViaService": [VIA_SSM, VIA_SECRETS]}},
            {"kms:ViaService": VIA_SECRETS},
            True,
        ),
        ({"StringEqualsIfExists": {"kms:ViaService": VIA_SSM}}, {}, True),
        (
            {"StringEqualsIfExists": {"kms:ViaService": VIA_SSM}},
            {"kms:ViaService": VIA_SECRETS},
            False,
        ),
        ({"StringLike": {"kms:ViaService": "ssm.*"}}, {"kms:ViaService": VIA_SSM}, True),
        ({"StringLike": {"kms:ViaService": "ssm.*"}}, {"kms:ViaService": VIA_SECRETS}, False),
        ({"StringLike": {"kms:ViaService": "ssm.eu-west-?.*"}}, {"kms:ViaService": VIA_SSM}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"}},
            {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:task/c/1"},
            True,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"}},
            {"aws:SourceArn": "arn:aws:ecs:eu-west-1:210987654321:task/c/1"},
            False,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:ecs:*:123456789012:task/c/1"}},
            {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:task/c/1"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:task/c/1"}},
            {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:task/C/1"},
            False,
        ),
        # Every operator and every key must hold.
        (
            {
                "StringEquals": {"kms:ViaService": VIA_SSM, "aws:SourceAccount": "123456789012"},
            },
            {"kms:ViaService": VIA_SSM},
            False,
        ),
        (
            {
                "StringEquals": {"kms:ViaService": VIA_SSM},
                "StringLike": {"aws:SourceAccount": "1234*"},
            },
            {"kms:ViaService": VIA_SSM, "aws:SourceAccount": "123456789012"},
            True,
        ),
        (
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}},
            {"aws:TagKeys": ["c", "b"]},
            True,
        ),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["c"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
            {"aws:TagKeys": ["a", "c"]},
            False,
        ),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["b"]}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {}, True),
    ],
    ids=lambda v: str(v),
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert is_allowed(decrypt(condition), "kms:Decrypt", "k", context) is expected


@pytest.mark.parametrize(
    "document",
    [
        policy(allow("kms:Decrypt", "*", Condition={"NumericEquals": {"a": "1"}})),
        policy(allow("kms:Decrypt", "*", Principal={"AWS": "*"})),
        policy({"Effect": "Allow", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "kms:Decrypt"}),
        policy({"Effect": "Maybe", "Action": "kms:Decrypt", "Resource": "*"}),
        policy(allow("kms:Decrypt", {"Fn::GetAtt": ["Key", "Arn"]})),
        policy(allow("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/${aws:username}")),
    ],
    ids=["operator", "principal", "no-action", "no-resource", "effect", "intrinsic", "variable"],
)
def test_fails_when_policy_is_not_understood(document: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicyError):
        evaluate([document], Request("kms:Decrypt", "k", {"a": "1"}))


def test_fails_when_single_valued_operator_meets_a_multi_valued_key() -> None:
    with pytest.raises(UnsupportedPolicyError, match="ForAnyValue"):
        is_allowed(
            decrypt({"StringEquals": {"aws:TagKeys": "a"}}),
            "kms:Decrypt",
            "k",
            {"aws:TagKeys": ["a"]},
        )


# -- intrinsics ---------------------------------------------------------------------------------

ENV = Environment(
    partition="aws-cn",
    region="cn-north-1",
    account="111122223333",
    url_suffix="amazonaws.com.cn",
    attributes={"Repo1234": {"Arn": "arn:aws-cn:ecr:cn-north-1:111122223333:repository/r"}},
    refs={"Repo1234": "r"},
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Partition"}, "aws-cn"),
        ({"Ref": "AWS::Region"}, "cn-north-1"),
        ({"Ref": "AWS::AccountId"}, "111122223333"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com.cn"),
        ({"Ref": "Repo1234"}, "r"),
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:x"]]},
            "arn:aws-cn:ecr:x",
        ),
        (
            {"Fn::Join": [".", ["ssm", {"Ref": "AWS::Region"}, {"Ref": "AWS::URLSuffix"}]]},
            "ssm.cn-north-1.amazonaws.com.cn",
        ),
        (
            {"Fn::GetAtt": ["Repo1234", "Arn"]},
            "arn:aws-cn:ecr:cn-north-1:111122223333:repository/r",
        ),
        ({"Fn::GetAtt": "Repo1234.Arn"}, "arn:aws-cn:ecr:cn-north-1:111122223333:repository/r"),
        ({"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:x"}, "arn:aws-cn:ssm:cn-north-1:x"),
        ({"Fn::Sub": "${Repo1234.Arn}/*"}, "arn:aws-cn:ecr:cn-north-1:111122223333:repository/r/*"),
        ({"Fn::Sub": ["${Name}-${!Literal}", {"Name": {"Ref": "Repo1234"}}]}, "r-${Literal}"),
        ({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}, "b"),
        ([{"Ref": "AWS::Region"}, "x"], ["cn-north-1", "x"]),
        ({"StringEquals": {"k": {"Ref": "AWS::Region"}}}, {"StringEquals": {"k": "cn-north-1"}}),
    ],
    ids=lambda v: str(v),
)
def test_resolve(value: Any, expected: Any) -> None:
    assert resolve(value, ENV) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Unknown"},
        {"Fn::GetAtt": ["Unknown", "Arn"]},
        {"Fn::GetAtt": ["Repo1234", "RepositoryUri"]},
        {"Fn::ImportValue": "Export"},
        {"Fn::If": ["C", "a", "b"]},
    ],
    ids=["ref", "getatt", "attribute", "import", "if"],
)
def test_fails_when_intrinsic_cannot_be_resolved(value: Any) -> None:
    with pytest.raises(UnresolvableError):
        resolve(value, ENV)


def _template() -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {
                            "PolicyName": "p",
                            "PolicyDocument": policy(allow("ssm:GetParameters", "*")),
                        }
                    ]
                },
            },
            "Mine": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": policy(
                        allow("ecr:BatchGetImage", {"Fn::GetAtt": ["Repo1234", "Arn"]})
                    ),
                    "Roles": [{"Ref": "Role"}],
                },
            },
            "Inline": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": policy(deny("ecr:BatchGetImage", "*")),
                    "Roles": [{"Ref": "Other"}],
                },
            },
        }
    }


def test_role_policies_gathers_only_the_roles_own_policies() -> None:
    policies = role_policies(_template(), "Role", ENV)
    assert len(policies) == 2
    arn = "arn:aws-cn:ecr:cn-north-1:111122223333:repository/r"
    assert is_allowed(policies, "ecr:BatchGetImage", arn)
    assert is_allowed(policies, "ssm:GetParameters", "any")


def test_fails_when_role_attaches_a_managed_policy_whose_document_is_unknown() -> None:
    template = _template()
    template["Resources"]["Role"]["Properties"]["ManagedPolicyArns"] = [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/P"]]}
    ]
    with pytest.raises(UnsupportedPolicyError, match="arn:aws-cn:iam::aws:policy/P"):
        role_policies(template, "Role", ENV)
    documents = {"arn:aws-cn:iam::aws:policy/P": policy(allow("logs:*", "*"))}
    policies = role_policies(template, "Role", ENV, managed_policy_documents=documents)
    assert is_allowed(policies, "logs:PutLogEvents", "x")


def test_fails_when_logical_id_is_not_a_role() -> None:
    with pytest.raises(UnsupportedPolicyError, match="Mine"):
        role_policies(_template(), "Mine", ENV)


# -- negated operators, Null and unknown values -------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringNotEquals": {"kms:ViaService": VIA_SSM}}, {"kms:ViaService": VIA_SECRETS}, True),
        ({"StringNotEquals": {"kms:ViaService": VIA_SSM}}, {"kms:ViaService": VIA_SSM}, False),
        # A missing key fails a negated operator too, as IAM documents.
        ({"StringNotEquals": {"kms:ViaService": VIA_SSM}}, {}, False),
        ({"StringNotLike": {"kms:ViaService": "ssm.*"}}, {"kms:ViaService": VIA_SECRETS}, True),
        (
            {"ArnNotLike": {"aws:SourceArn": "arn:aws:ecs:*"}},
            {"aws:SourceArn": "arn:aws:s3:::b"},
            True,
        ),
        ({"Null": {"kms:ViaService": "true"}}, {}, True),
        ({"Null": {"kms:ViaService": "true"}}, {"kms:ViaService": VIA_SSM}, False),
        ({"Null": {"kms:ViaService": "false"}}, {"kms:ViaService": VIA_SSM}, True),
        (
            {"StringEqualsIgnoreCase": {"kms:ViaService": VIA_SSM.upper()}},
            {"kms:ViaService": VIA_SSM},
            True,
        ),
        # A value the request carries but no template can tell holds every condition.
        (
            {"StringEquals": {"aws:ResourceTag/team": "api"}},
            {"aws:ResourceTag/team": ANY_VALUE},
            True,
        ),
    ],
    ids=lambda v: str(v),
)
def test_more_conditions(
    condition: dict[str, Any], context: dict[str, Any], expected: bool
) -> None:
    assert is_allowed(decrypt(condition), "kms:Decrypt", "k", context) is expected


# A part of a value CloudFormation fills in at deployment, as ``_template`` writes it.
UNKNOWN_NAME = "\x017\x02"


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        (f"{REPO[:-3]}{UNKNOWN_NAME}", f"{REPO[:-3]}{UNKNOWN_NAME}", True),
        (f"{REPO[:-3]}\x018\x02", f"{REPO[:-3]}{UNKNOWN_NAME}", False),
        (f"{REPO[:-3]}*", f"{REPO[:-3]}{UNKNOWN_NAME}", True),
        (f"{REPO[:-3]}a*", f"{REPO[:-3]}{UNKNOWN_NAME}", False),
        (
            "arn:aws:ecr:*:*:repository/*",
            f"arn:aws:ecr:{UNKNOWN_NAME}:{UNKNOWN_NAME}:repository/x",
            True,
        ),
        (REPO, UNKNOWN_NAME, False),
    ],
    ids=["same", "other", "star", "prefix", "fields", "whole"],
)
def test_unknown_parts_equal_only_themselves(pattern: str, resource: str, expected: bool) -> None:
    assert is_allowed(
        [policy(allow("ecr:BatchGetImage", pattern))], "ecr:BatchGetImage", resource
    ) is (expected)


def test_a_boundary_must_allow_the_request_too() -> None:
    policies = [policy(allow("ecr:*", "*"))]
    assert is_allowed(
        policies, "ecr:BatchGetImage", REPO, boundary=[policy(allow("ecr:Batch*", "*"))]
    )
    # A boundary of Deny statements only allows nothing.
    assert not is_allowed(policies, "ecr:BatchGetImage", REPO, boundary=[policy(deny("s3:*", "*"))])
    assert (
        evaluate(policies, Request("ecr:BatchGetImage", REPO), [policy(deny("ecr:*", "*"))])
        is Decision.EXPLICIT_DENY
    )
    # What the identity policies deny, the boundary cannot allow.
    assert not is_allowed([policy()], "ecr:BatchGetImage", REPO, boundary=policies)


# -- containment --------------------------------------------------------------------------------

INTENDED = [
    allow("ecr:GetAuthorizationToken", "*"),
    allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], REPO),
    allow(
        "kms:Decrypt",
        "arn:aws:kms:eu-west-1:123456789012:key/k",
        Condition={"StringEquals": {"kms:ViaService": VIA_SSM}},
    ),
]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow("ecr:BatchGetImage", REPO), []),
        (allow(["ecr:batchgetimage"], [REPO]), []),
        (allow("ecr:GetAuthorizationToken", "*"), []),
        (deny("*", "*"), []),
        (allow("ecr:PutImage", REPO), [("ecr:PutImage", REPO)]),
        (allow("ecr:BatchGetImage", REPO + "2"), [("ecr:BatchGetImage", REPO + "2")]),
        (allow("ecr:BatchGetImage", "*"), [("ecr:BatchGetImage", "*")]),
        (allow("ecr:Batch*", REPO), [("ecr:Batch*", REPO)]),
        (allow("s3:GetObject", "*"), [("s3:GetObject", "*")]),
        (
            allow("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k"),
            [("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k")],
        ),
        (
            allow(
                "kms:Decrypt",
                "arn:aws:kms:eu-west-1:123456789012:key/k",
                Condition={
                    "StringEquals": {"kms:ViaService": VIA_SSM, "aws:SourceAccount": "1"},
                },
            ),
            [],
        ),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            [("NotAction/NotResource ['iam:*']", "['*']")],
        ),
    ],
    ids=[
        "same",
        "case-and-lists",
        "token",
        "deny",
        "action",
        "resource",
        "star",
        "wider-action",
        "other-service",
        "condition-dropped",
        "condition-added",
        "not-action",
    ],
)
def test_not_contained(statement: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert not_contained(statement, INTENDED) == expected


# -- matching many patterns at once ---------------------------------------------------------------

_SEGMENT = st.sampled_from(["", "a", "ab", "a*", "*", "?", "a?", "*b", ":", "/", "x:y"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    patterns=st.lists(st.lists(_SEGMENT, min_size=1, max_size=7).map(":".join), max_size=6),
    value=st.lists(_SEGMENT, min_size=1, max_size=7).map(":".join),
    action=st.sampled_from(
        ["ecr:BatchGetImage", "ECR:batchgetimage", "logs:PutLogEvents", "logs:CreateLogStream"]
    ),
)
def test_a_statement_matches_as_each_of_its_patterns_would(
    patterns: list[str], value: str, action: str
) -> None:
    # Patterns are looked up by their text before the first wildcard; the decision is the
    # one each pattern gives alone, for resources (case-sensitive, by ARN segment) and for
    # actions (case-insensitive).
    resources = _Patterns(patterns, arn=True)
    assert resources.match(value) == any(arn_matches(p, value) for p in patterns)
    action_patterns = [
        *patterns,
        "ecr:Batch*",
        "logs:*Events",
        "ECR:?atch*",
        "LOGS:createlogstream",
    ]
    actions = _Patterns(action_patterns, arn=False)
    assert actions.match(action) == any(action_matches(p, action) for p in action_patterns)
    assert actions.match(value) == any(action_matches(p, value) for p in action_patterns)


def test_an_evaluator_reads_a_role_s_policies_once_for_every_request() -> None:
    policies = [
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ecr:BatchGetImage",
                    "Resource": f"arn:aws:ecr:r:1:repository/r{i}",
                }
            ]
        }
        for i in range(300)
    ]
    deny = {
        "Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecr:r:1:repository/r7"}
        ]
    }
    evaluator = Evaluator([*policies, deny])
    for i in range(300):
        request = Request("ecr:BatchGetImage", f"arn:aws:ecr:r:1:repository/r{i}")
        expected = Decision.EXPLICIT_DENY if i == 7 else Decision.ALLOW
        assert evaluator.evaluate(request) is expected
    other = Request("ecr:BatchGetImage", "arn:aws:ecr:r:1:repository/r300")
    assert evaluator.evaluate(other) is Decision.IMPLICIT_DENY
    # A boundary is read when a request gets that far, and must allow it too.
    bounded = Evaluator(
        policies,
        [
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ecr:*",
                        "Resource": "arn:aws:ecr:r:1:repository/r1?",
                    }
                ]
            }
        ],
    )
    allowed = [
        i
        for i in range(300)
        if bounded.evaluate(Request("ecr:BatchGetImage", f"arn:aws:ecr:r:1:repository/r{i}"))
        is Decision.ALLOW
    ]
    assert allowed == list(range(10, 20))
    with pytest.raises(UnsupportedPolicyError):
        Evaluator([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": {"Ref": "X"}}]}])
