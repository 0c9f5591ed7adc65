"""The table of kinds (``_kinds``): every action ECS calls, each kind's statement and bound."""

from __future__ import annotations

import pytest

from ecs_exec_roles._kinds import (
    ECS_EXECUTION_ACTIONS,
    KEY_SERVICES,
    Kind,
    Shape,
    arn_account,
    kind_of_action,
    log_group_elsewhere,
)

# The actions of the task execution role, from the table in DESIGN.md section 2.
DESIGN_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:CreateLogGroup",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameters",
    "kms:Decrypt",
    "s3:GetObject",
    "s3:GetBucketLocation",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:TagResource",
}


def test_ecs_execution_actions_are_exactly_the_design_table() -> None:
    assert set(ECS_EXECUTION_ACTIONS.values()) == DESIGN_ACTIONS
    assert all(key == action.lower() for key, action in ECS_EXECUTION_ACTIONS.items())


def test_labels_are_unique_and_kinds_sharing_a_statement_share_its_actions() -> None:
    assert len({kind.label for kind in Kind}) == len(Kind)
    for kind in Kind:
        for other in Kind:
            if kind.sid == other.sid:
                assert kind.actions == other.actions and kind.shape == other.shape


def test_the_ecr_token_is_fixed_by_repositories() -> None:
    assert kind_of_action("ecr:getauthorizationtoken") is Kind.REPOSITORY
    assert kind_of_action("ecr:batchgetimage") is Kind.REPOSITORY
    assert kind_of_action("s3:getobject") is Kind.S3_OBJECT
    assert kind_of_action("kms:decrypt") is Kind.KEY
    assert kind_of_action("secretsmanager:describesecret") is None


def test_only_keys_tagged_kinds_and_s3_reads_have_conditions() -> None:
    assert {kind for kind in Kind if kind.shape is not Shape.PLAIN} == {
        Kind.S3_OBJECT,
        Kind.S3_BUCKET,
        Kind.KEY,
        Kind.SECRET_BY_TAG,
        Kind.PARAMETER_BY_TAG,
        Kind.KEY_BY_TAG,
    }


# The longest ARN each kind can name, written out from the services' documented limits, in
# the longest partition and region.
_HEAD = "arn:aws-iso-b:{service}:ap-southeast-7:123456789012:"
LONGEST = {
    Kind.REPOSITORY: _HEAD.format(service="ecr") + "repository/" + "r" * 256,
    Kind.PULL_THROUGH: _HEAD.format(service="ecr") + "repository/" + "r" * 254 + "/*",
    Kind.PULL_THROUGH_TAGGING: _HEAD.format(service="ecr") + "repository/" + "r" * 254 + "/*",
    Kind.LOG_GROUP: _HEAD.format(service="logs") + "log-group:" + "g" * 512 + ":*",
    Kind.LOG_STREAM: _HEAD.format(service="logs")
    + "log-group:"
    + "g" * 512
    + ":log-stream:"
    + "s" * 512,
    Kind.LOG_GROUP_CREATE: _HEAD.format(service="logs") + "log-group:" + "g" * 512,
    Kind.SECRET: _HEAD.format(service="secretsmanager") + "secret:" + "s" * 512 + "-AbCdEf",
    Kind.KEY: _HEAD.format(service="kms") + "key/" + "k" * 36,
    Kind.S3_OBJECT: "arn:aws-iso-b:s3:::" + "b" * 63 + "/" + "k" * 1024,
    Kind.S3_BUCKET: "arn:aws-iso-b:s3:::" + "b" * 63,
}


@pytest.mark.parametrize("kind", sorted(LONGEST, key=lambda kind: kind.name))
def test_longest_arn_bounds_the_longest_name_of_the_kind(kind: Kind) -> None:
    assert len(LONGEST[kind]) <= kind.longest_arn


def test_parameter_arns_are_bounded_by_ssms_limit() -> None:
    # SSM documents 1,011 characters for a parameter's whole ARN.
    assert Kind.PARAMETER.longest_arn == 1011


def test_each_kind_has_one_service_for_its_actions_and_arns() -> None:
    services = {kind: kind.service for kind in Kind}
    assert services[Kind.REPOSITORY] == services[Kind.PULL_THROUGH] == "ecr"
    assert services[Kind.LOG_GROUP] == services[Kind.LOG_GROUP_CREATE] == "logs"
    assert services[Kind.SECRET] == services[Kind.SECRET_BY_TAG] == "secretsmanager"
    assert services[Kind.PARAMETER] == services[Kind.PARAMETER_BY_TAG] == "ssm"
    assert services[Kind.KEY] == services[Kind.KEY_BY_TAG] == "kms"
    assert services[Kind.S3_OBJECT] == services[Kind.S3_BUCKET] == "s3"
    for kind in Kind:
        assert {action.split(":")[0] for action in kind.actions} == {kind.service}, kind


def test_scoped_reasons_name_what_a_kind_covers() -> None:
    assert Kind.LOG_GROUP.what == "log group (and its streams)"
    assert [Kind.SECRET_BY_TAG.what, Kind.PARAMETER_BY_TAG.what, Kind.KEY_BY_TAG.what] == [
        "secret",
        "parameter",
        "key",
    ]
    assert Kind.REPOSITORY.what == "repository"


@pytest.mark.parametrize("kind", list(Kind), ids=lambda kind: kind.name)
def test_an_arn_built_by_a_kind_is_read_back_by_it_and_by_no_other_service(kind: Kind) -> None:
    arn = kind.arn("aws", "eu-west-1", "123456789012", "team/app")
    assert kind.name_in(arn) == "team/app"
    assert arn.startswith(f"arn:aws:{kind.service}:")
    for other in Kind:
        if other.service != kind.service or other.marker != kind.marker:
            assert other.name_in(arn) is None, (kind, other)


def test_kinds_build_the_arns_the_services_document() -> None:
    assert (
        Kind.SECRET.arn("aws", "eu-west-1", "123456789012", "db-AbCdEf")
        == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    )
    assert Kind.S3_BUCKET.arn("aws-cn", "cn-north-1", "123456789012", "b") == "arn:aws-cn:s3:::b"
    assert (
        Kind.LOG_GROUP.arn("aws", "eu-west-1", "123456789012", "app:*")
        == "arn:aws:logs:eu-west-1:123456789012:log-group:app:*"
    )


def test_what_follows_a_secrets_marker_keeps_its_json_key() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::"
    assert Kind.SECRET.name_in(arn) == "db-AbCdEf:password::"
    assert Kind.SECRET.name_in("arn:aws:secretsmanager:eu-west-1:123456789012:secretx:a") is None
    assert Kind.SECRET.name_in("secret:db") is None
    assert Kind.PARAMETER.name_in("arn:aws:ssm:eu-west-1:123456789012:document/x") is None


def test_the_decrypt_statements_name_each_service_a_key_is_used_through() -> None:
    assert {kind.via_sid for kind in Kind if kind.via_sid} == {"SecretsManager", "Ssm", "S3"}
    assert {kind.service for kind in Kind if kind.via_sid} >= set(KEY_SERVICES)


def test_a_log_group_of_another_account_is_told_in_each_form_an_arn_takes() -> None:
    role = "123456789012"
    other = "arn:aws:logs:eu-west-1:210987654321:log-group:/central/api:*"
    assert log_group_elsewhere(other, role) == ("/central/api", "210987654321")
    # Template text with the partition unknown, and a CDK string with it as a token.
    flat = "arn:<AWS::Partition>:logs:eu-west-1:210987654321:log-group:/central/api:*"
    assert log_group_elsewhere(flat, role) == ("/central/api", "210987654321")
    token = "arn:${Token[AWS.Partition.8]}:logs:eu-west-1:210987654321:log-group:/c:*"
    assert log_group_elsewhere(token, role) == ("/c", "210987654321")
    # The role's own account, an account not written out, or not a log group: nothing.
    assert log_group_elsewhere(other.replace("210987654321", role), role) is None
    assert log_group_elsewhere(other, "${Token[AWS.AccountId.3]}") is None
    assert log_group_elsewhere(flat.replace("210987654321", "<AWS::AccountId>"), role) is None
    assert log_group_elsewhere("arn:aws:ecr:eu-west-1:210987654321:repository/x", role) is None


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        ("arn:aws:secretsmanager:eu-west-1:210987654321:secret:db-AbCdEf", "210987654321"),
        # A part only deployment tells may hold colons of its own.
        ("arn:<AWS::Partition>:kms:<AWS::Region>:210987654321:key/k", "210987654321"),
        ("arn:${Token[AWS.Partition.8]}:ecr:eu-west-1:210987654321:repository/a", "210987654321"),
        ("arn:aws:kms:eu-west-1:<AWS::AccountId>:key/k", ""),
        ("arn:aws:s3:::bucket/key", ""),
        ("secret:db", ""),
    ],
)
def test_the_account_of_an_arn_is_read_only_when_written_out(arn: str, account: str) -> None:
    assert arn_account(arn) == account
