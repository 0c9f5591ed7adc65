"""The owner each S3 read is pinned to (``_buckets``), and the role's statements that carry it."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from iam_eval import is_allowed

from ecs_exec_roles import (
    ExecutionRoleError,
    HardenExecutionRoles,
    MinimalExecutionRole,
    S3File,
    SharedExecutionRole,
)
from ecs_exec_roles._app import stack_state
from ecs_exec_roles._buckets import imported_owners, object_owner, with_owners
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._task_definitions import scan_task_definitions

ACCOUNT = "123456789012"
OTHER = "210987654321"
THIRD = "333333333333"
OWNER_KEY = "aws:ResourceAccount"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))


def _file_needs(bucket: str, owner: str = "") -> list[Need]:
    return [
        Need(Kind.S3_OBJECT, f"arn:aws:s3:::{bucket}/app.env", "x", owner=owner),
        Need(Kind.S3_BUCKET, f"arn:aws:s3:::{bucket}", "x", owner=owner),
    ]


def _owners(needs: list[Need]) -> list[str]:
    return [need.owner for need in needs]


# -- who owns a bucket ---------------------------------------------------------------------------


def test_the_named_owner_wins_then_the_objects_then_the_imports_then_the_roles_account() -> None:
    asked: list[int] = []

    def imported() -> dict[str, str]:
        asked.append(1)
        return {"imported": THIRD, "named": THIRD}

    needs = [
        *_file_needs("named"),
        *_file_needs("of-object", OTHER),
        # The same bucket read again without its object takes the owner its object gave.
        Need(Kind.S3_OBJECT, "arn:aws:s3:::of-object/other.env", "y"),
        *_file_needs("imported"),
        *_file_needs("unknown"),
        Need(Kind.SECRET, "arn:aws:secretsmanager:eu-west-1:1:secret:x", "z"),
    ]
    owned = with_owners(needs, {"named": OTHER}, ACCOUNT, imported)
    assert _owners(owned) == [OTHER, OTHER, OTHER, OTHER, OTHER, THIRD, THIRD, ACCOUNT, ACCOUNT, ""]
    assert len(asked) == 1  # the app is walked once, and only for a bucket no one names


def test_the_imports_are_not_read_when_every_owner_is_known() -> None:
    def imported() -> dict[str, str]:
        raise AssertionError("walked the app for nothing")

    owned = with_owners(
        [*_file_needs("named"), *_file_needs("x", OTHER)], {"named": THIRD}, "", imported
    )
    assert _owners(owned) == [THIRD, THIRD, OTHER, OTHER]


def test_without_the_condition_no_need_has_an_owner() -> None:
    owned = with_owners(_file_needs("x", OTHER), {}, ACCOUNT, dict, condition=False)
    assert _owners(owned) == ["", ""]


def test_a_bucket_object_names_its_account_and_the_imports_of_the_app_are_found() -> None:
    stack = _stack()
    own = s3.Bucket(stack, "Own")
    elsewhere = s3.Bucket.from_bucket_attributes(
        stack, "Elsewhere", bucket_name="their-config", account=OTHER
    )
    s3.Bucket.from_bucket_name(stack, "Plain", "plain-config")
    assert object_owner(own) == ACCOUNT
    assert object_owner(elsewhere) == OTHER
    assert object_owner(None) == ""
    # A bucket of the app has no name before deployment: the walk of the app keeps imports only.
    app = stack_state(stack).app
    scan_task_definitions(app)
    assert imported_owners(app.imported_bucket_constructs) == {
        "their-config": OTHER,
        "plain-config": ACCOUNT,
    }


# -- the statements ------------------------------------------------------------------------------


def _statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    template = cdk.App.of(stack).synth().get_stack_by_name(stack.stack_name).template  # type: ignore[union-attr]
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _s3_by_owner(statements: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The S3 resources the role allows, by the owner its statement pins them to ("" none)."""
    found: dict[str, list[str]] = {}
    for statement in statements:
        if not str(statement["Action"]).startswith("s3:"):
            continue
        owner = (statement.get("Condition") or {}).get("StringEquals", {}).get(OWNER_KEY, "")
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            found.setdefault(owner, []).append(json.dumps(resource))
    return found


def _env_files(stack: cdk.Stack) -> list[ecs.EnvironmentFile]:
    own = s3.Bucket(stack, "Own")
    elsewhere = s3.Bucket.from_bucket_attributes(
        stack, "Elsewhere", bucket_name="their-config", account=OTHER
    )
    plain = s3.Bucket.from_bucket_name(stack, "Plain", "plain-config")
    return [
        ecs.EnvironmentFile.from_bucket(own, "a.env"),
        ecs.EnvironmentFile.from_bucket(elsewhere, "b.env"),
        ecs.EnvironmentFile.from_bucket(plain, "c.env"),
    ]


def _task(stack: cdk.Stack, role: Any, files: list[ecs.EnvironmentFile]) -> ecs.TaskDefinition:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    # With awslogs where aws-cdk-lib makes the role: it makes none for environment files alone.
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("nginx"),
        environment_files=files,
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app") if role is None else None,
    )
    return task


@pytest.mark.parametrize("derive", [True, False])
def test_each_bucket_is_read_only_from_its_owner(derive: bool) -> None:
    stack = _stack()
    files = _env_files(stack)
    role = MinimalExecutionRole(
        stack,
        "Role",
        environment_files=files,
        bucket_owner_accounts={"plain-config": THIRD},
        derive=derive,
    )
    _task(stack, role, files)
    by_owner = _s3_by_owner(_statements(stack))
    assert sorted(by_owner) == [ACCOUNT, OTHER, THIRD]
    assert [len(resources) for _, resources in sorted(by_owner.items())] == [2, 2, 2]
    assert any("Own" in resource for resource in by_owner[ACCOUNT])
    assert all("their-config" in resource for resource in by_owner[OTHER])
    assert all("plain-config" in resource for resource in by_owner[THIRD])


def test_the_role_allows_the_read_of_the_owner_only() -> None:
    stack = _stack()
    elsewhere = s3.Bucket.from_bucket_attributes(
        stack, "Elsewhere", bucket_name="their-config", account=OTHER
    )
    files = [S3File(bucket=elsewhere, key="fluent-bit.conf")]
    MinimalExecutionRole(stack, "Role", firelens_config_files=files, derive=False)
    policy = [{"Version": "2012-10-17", "Statement": _statements(stack)}]
    resolved = json.loads(json.dumps(policy).replace('{"Ref": "AWS::Partition"}', '"aws"'))
    for statement in resolved[0]["Statement"]:
        resource = statement["Resource"]
        if isinstance(resource, dict):
            statement["Resource"] = "".join(resource["Fn::Join"][1])
    arn = "arn:aws:s3:::their-config/fluent-bit.conf"
    assert is_allowed(resolved, "s3:GetObject", arn, {OWNER_KEY: OTHER})
    assert not is_allowed(resolved, "s3:GetObject", arn, {OWNER_KEY: ACCOUNT})
    assert not is_allowed(resolved, "s3:GetObject", arn)
    bucket = "arn:aws:s3:::their-config"
    assert is_allowed(resolved, "s3:GetBucketLocation", bucket, {OWNER_KEY: OTHER})
    assert not is_allowed(resolved, "s3:GetBucketLocation", bucket, {OWNER_KEY: THIRD})


def test_the_condition_can_be_switched_off_for_a_role() -> None:
    stack = _stack()
    files = _env_files(stack)
    role = MinimalExecutionRole(stack, "Role", bucket_owner_condition=False)
    _task(stack, role, files)
    by_owner = _s3_by_owner(_statements(stack))
    assert list(by_owner) == [""]
    assert len(by_owner[""]) == 6


def test_a_shared_role_and_the_aspect_pin_reads_too() -> None:
    stack = _stack()
    files = _env_files(stack)
    role = SharedExecutionRole(stack, "Role", bucket_owner_accounts={"plain-config": THIRD})
    _task(stack, role, files)
    assert sorted(_s3_by_owner(_statements(stack))) == [ACCOUNT, OTHER, THIRD]

    hardened = _stack()
    _task(hardened, None, _env_files(hardened))
    cdk.Aspects.of(hardened).add(
        HardenExecutionRoles(bucket_owner_accounts={"plain-config": THIRD})
    )
    template = cdk.App.of(hardened).synth().get_stack_by_name("S").template  # type: ignore[union-attr]
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert sorted(_s3_by_owner(statements)) == [ACCOUNT, OTHER, THIRD]


@pytest.mark.parametrize(
    ("owners", "words"),
    [
        ("111122223333", "bucket_owner_accounts is '111122223333', not a mapping"),
        (
            {"arn:aws:s3:::x": ACCOUNT},
            "has the key 'arn:aws:s3:::x', which is not an S3 bucket name",
        ),
        ({"config": 111122223333}, "bucket_owner_accounts['config'] is 111122223333, not an AWS"),
        ({"config": "1111-2222-3333"}, "is '1111-2222-3333', not an AWS account ID"),
    ],
)
def test_bad_owners_fail_at_construction_naming_the_value(owners: Any, words: str) -> None:
    with pytest.raises(ExecutionRoleError, match="S/Role: ") as raised:
        MinimalExecutionRole(_stack(), "Role", bucket_owner_accounts=owners)
    assert words in str(raised.value)


def test_owners_and_no_condition_together_fail() -> None:
    with pytest.raises(ExecutionRoleError, match="Set only one of them"):
        MinimalExecutionRole(
            _stack(),
            "Role",
            bucket_owner_accounts={"x-config": OTHER},
            bucket_owner_condition=False,
        )
