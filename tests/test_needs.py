"""Reading CDK objects into needs (``_needs``): one need per resource, each read checked."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import ExecutionRoleError
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import (
    key_needs,
    log_group_needs,
    parameter_needs,
    read_attribute,
    repository_needs,
    secret_needs,
)

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def stack() -> cdk.Stack:
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    return cdk.Stack(cdk.App(), "S", env=env)


def _resolved(stack: cdk.Stack, value: str) -> str:
    flat = stack.resolve(value)
    if isinstance(flat, dict):
        parts = flat["Fn::Join"][1]
        return "".join("aws" if isinstance(p, dict) else p for p in parts)
    return str(flat)


def test_a_repository_is_named_by_its_arn(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "R", "team/api")
    (need,) = repository_needs("S/Role", "repositories", [repository])
    assert need.kind is Kind.REPOSITORY
    assert _resolved(stack, need.arn) == "arn:aws:ecr:eu-west-1:123456789012:repository/team/api"
    assert str(need.origin) == "S/R"


def test_a_secret_imported_by_name_matches_exactly_its_six_character_suffix(
    stack: cdk.Stack,
) -> None:
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "api/db")
    (need,) = secret_needs("S/Role", "secrets", [secret])
    assert _resolved(stack, need.arn).endswith(":secret:api/db-??????")


def test_a_secret_with_its_key_adds_the_key_through_secrets_manager_only(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Key")
    secret = secretsmanager.Secret(stack, "Db", encryption_key=key)
    secret_need, key_need = secret_needs("S/Role", "registry_credentials", [secret])
    assert (secret_need.kind, key_need.kind) == (Kind.SECRET, Kind.KEY)
    assert key_need.services == ("secretsmanager",)
    assert key_need.arn == key.key_arn


def test_keys_are_allowed_through_secrets_manager_and_ssm(stack: cdk.Stack) -> None:
    (need,) = key_needs("S/Role", "keys", [kms.Key.from_key_arn(stack, "K", KEY_ARN)])
    assert need.services == ("secretsmanager", "ssm")
    assert need.region == "eu-west-1"


def test_fails_when_a_key_is_an_alias(stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match=r"keys\[0\] is the KMS alias 'alias/app'"):
        key_needs("S/Role", "keys", [kms.Alias.from_alias_name(stack, "A", "alias/app")])


@pytest.mark.parametrize(
    ("read", "make"),
    [
        (repository_needs, lambda s: ecr.Repository.from_repository_name(s, "X", "app*")),
        (log_group_needs, lambda s: logs.LogGroup.from_log_group_name(s, "X", "/ecs/*")),
        (secret_needs, lambda s: secretsmanager.Secret.from_secret_name_v2(s, "X", "d?")),
        (parameter_needs, lambda s: ssm.StringParameter.from_string_parameter_name(s, "X", "/a*")),
    ],
    ids=["repository", "log_group", "secret", "parameter"],
)
def test_fails_when_a_name_holds_a_wildcard(stack: cdk.Stack, read: object, make: object) -> None:
    with pytest.raises(ExecutionRoleError, match=r"p\[0\] \(S/X\) has the ARN .*wildcard"):
        read("S/Role", "p", [make(stack)])  # type: ignore[operator]


def test_fails_when_an_object_is_of_another_kind_naming_the_prop_and_index(
    stack: cdk.Stack,
) -> None:
    repository = ecr.Repository.from_repository_name(stack, "R", "app")
    with pytest.raises(ExecutionRoleError, match=r"^S/Role: image_assets\[1\] is the construct"):
        secret_needs("S/Role", "image_assets", [secretsmanager.Secret(stack, "Ok"), repository])


def test_read_attribute_reads_a_proxy_property_once() -> None:
    reads: list[str] = []

    class Interface:
        @property
        def repository_arn(self) -> str:
            reads.append("arn")
            return "arn"

    class Proxy:
        def __init__(self) -> None:
            self._delegates = [Interface()]

    assert read_attribute(Proxy(), "repository_arn") == "arn"
    assert reads == ["arn"]
    assert read_attribute("a string", "repository_arn") is None


# -- secrets of another account ------------------------------------------------------------------

_OTHER_SECRET = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:db-AbCdEf"
_OTHER_KEY = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_secret_of_another_account_imported_without_its_key_fails(stack: cdk.Stack) -> None:
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "Db", _OTHER_SECRET)
    with pytest.raises(ExecutionRoleError) as raised:
        secret_needs("S/Role", "secrets", [secret], "123456789012")
    message = str(raised.value)
    assert message.startswith(
        "S/Role: secrets[0] (S/Db) is a secret of account 210987654321, imported without its key"
    )
    assert "or name the key in `keys`" in message


def test_a_secret_of_another_account_reads_with_its_key_given_either_way(
    stack: cdk.Stack,
) -> None:
    key = kms.Key.from_key_arn(stack, "Key", _OTHER_KEY)
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "Db", _OTHER_SECRET)
    with_keys = secret_needs("S/Role", "secrets", [secret], "123456789012", [key])
    assert [need.kind for need in with_keys] == [Kind.SECRET]
    imported = secretsmanager.Secret.from_secret_attributes(
        stack, "Keyed", secret_complete_arn=_OTHER_SECRET, encryption_key=key
    )
    keyed = secret_needs("S/Role", "secrets", [imported], "123456789012")
    assert [need.kind for need in keyed] == [Kind.SECRET, Kind.KEY]
    # A key of a third account does not do.
    third = kms.Key.from_key_arn(stack, "Third", _OTHER_KEY.replace("210987654321", "333333333333"))
    with pytest.raises(ExecutionRoleError, match="imported without its key"):
        secret_needs("S/Role", "secrets", [secret], "123456789012", [third])


def test_a_secret_of_the_roles_account_or_one_not_written_out_is_not_checked(
    stack: cdk.Stack,
) -> None:
    own = _OTHER_SECRET.replace("210987654321", "123456789012")
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "Own", own)
    assert secret_needs("S/Role", "secrets", [secret], "123456789012")
    other = secretsmanager.Secret.from_secret_complete_arn(stack, "Other", _OTHER_SECRET)
    assert secret_needs("S/Role", "secrets", [other], cdk.Aws.ACCOUNT_ID)
