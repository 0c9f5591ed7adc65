"""Needs in, statements out (``_statements``), directly: order, merging, conditions."""

from __future__ import annotations

from typing import Any

from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._statements import build_statements

ARN = "arn:aws:{service}:eu-west-1:123456789012:{resource}"


def _need(kind: Kind, resource: str, service: str = "", **kwargs: Any) -> Need:
    service = service or {"repository": "ecr", "secret": "secretsmanager"}.get(kind.label, "")
    return Need(kind, ARN.format(service=service, resource=resource), "test", **kwargs)


def _build(needs: list[Need]) -> list[Any]:
    return build_statements(needs, lambda value: value, url_suffix="amazonaws.com")


def test_statements_follow_the_kinds_table_whatever_the_order_of_needs() -> None:
    needs = [
        _need(Kind.PARAMETER, "parameter/app/flag", "ssm"),
        _need(Kind.SECRET, "secret:db-??????"),
        _need(Kind.LOG_GROUP, "log-group:/ecs/app:*", "logs"),
        _need(Kind.REPOSITORY, "repository/app"),
        Need(Kind.S3_OBJECT, "arn:aws:s3:::bucket/app.env", "t"),
        Need(Kind.S3_BUCKET, "arn:aws:s3:::bucket", "t"),
    ]
    expected = [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "ParametersRead",
        "S3FilesRead",
        "S3FilesBucketLocation",
    ]
    assert [s.sid for s in _build(needs)] == expected
    assert [s.sid for s in _build(list(reversed(needs)))] == expected


def test_the_ecr_token_comes_only_with_repositories() -> None:
    assert [s.sid for s in _build([_need(Kind.SECRET, "secret:db-??????")])] == ["SecretsRead"]
    assert _build([]) == []


def test_resources_are_sorted_and_duplicates_removed() -> None:
    needs = [_need(Kind.REPOSITORY, f"repository/{name}") for name in ("b", "a", "b", "c")]
    (_, pull) = _build(needs)
    assert [r.value.rsplit("/", 1)[1] for r in pull.resources] == ["a", "b", "c"]
    assert pull.actions == Kind.REPOSITORY.actions


def test_log_groups_and_their_stream_prefixes_share_one_statement() -> None:
    group = _need(Kind.LOG_GROUP, "log-group:/a:*", "logs")
    stream = _need(Kind.LOG_STREAM, "log-group:/b:log-stream:web/*", "logs")
    (statement,) = _build([stream, group])
    assert statement.sid == "LogsWrite"
    assert [r.value for r in statement.resources] == [group.arn, stream.arn]


def test_a_key_used_by_secrets_and_parameters_is_allowed_through_both_services() -> None:
    key = ARN.format(service="kms", resource="key/1")
    needs = [
        Need(Kind.KEY, key, "a", "eu-west-1", ("secretsmanager",)),
        Need(Kind.KEY, key, "b", "eu-west-1", ("ssm",)),
        Need(Kind.KEY, ARN.format(service="kms", resource="key/2"), "c", "eu-west-1", ("ssm",)),
    ]
    both, ssm_only = _build(needs)
    assert both.sid == "KmsDecryptViaSecretsManagerAndSsm"
    assert both.condition == {
        "StringEquals": {
            "kms:ViaService": [
                "secretsmanager.eu-west-1.amazonaws.com",
                "ssm.eu-west-1.amazonaws.com",
            ]
        }
    }
    assert [r.value for r in both.resources] == [key]
    assert ssm_only.sid == "KmsDecryptViaSsm"
    assert ssm_only.condition == {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}


def test_keys_of_two_regions_get_a_statement_each() -> None:
    needs = [
        Need(Kind.KEY, f"arn:aws:kms:{region}:1:key/k", "t", region, ("ssm",))
        for region in ("us-east-1", "eu-west-1")
    ]
    assert [s.sid for s in _build(needs)] == ["KmsDecryptViaSsm", "KmsDecryptViaSsm2"]


def test_tagged_kinds_carry_their_tag_conditions_and_reason() -> None:
    tags = (("team", "payments"),)
    needs = [
        Need(Kind.SECRET_BY_TAG, "arn:aws:secretsmanager:r:1:secret:*", "t", tags=tags),
        Need(Kind.KEY_BY_TAG, "arn:aws:kms:r:1:key/*", "t", "r", tags=tags),
    ]
    secrets, keys = _build(needs)
    assert secrets.condition == {"StringEquals": {"aws:ResourceTag/team": "payments"}}
    assert "every secret of the account" in secrets.reason
    assert keys.condition == {
        "StringEquals": {
            "aws:ResourceTag/team": "payments",
            "kms:ViaService": ["secretsmanager.r.amazonaws.com", "ssm.r.amazonaws.com"],
        }
    }


def test_an_unresolved_arn_is_sized_at_the_longest_arn_of_its_kind() -> None:
    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return {"Fn::GetAtt": ["Secret", "Arn"]} if value == "token" else value

    needs = [Need(Kind.SECRET, "token", "t"), _need(Kind.SECRET, "secret:db-??????")]
    (statement,) = build_statements(needs, resolve, url_suffix="amazonaws.com")
    sizes = {r.value: r.max_chars for r in statement.resources}
    assert sizes["token"] == Kind.SECRET.longest_arn + 2
    literal = ARN.format(service="secretsmanager", resource="secret:db-??????")
    assert sizes[literal] == len(literal) + 2
