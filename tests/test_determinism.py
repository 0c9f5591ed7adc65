"""The same app always gives the same template, whatever the order of props or neighbours."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole

ACCOUNT = "123456789012"
REGION = "eu-west-1"
OTHER = "210987654321"

Order = Callable[[list[Any]], list[Any]]


def keep(values: list[Any]) -> list[Any]:
    return list(values)


def shuffled(seed: int) -> Order:
    def order(values: list[Any]) -> list[Any]:
        values = list(values)
        random.Random(seed).shuffle(values)
        return values

    return order


def _resources(stack: cdk.Stack) -> dict[str, list[Any]]:
    """Resources of every kind, created in a fixed order; several are prefixes of others."""
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890a"
    keys = [kms.Key.from_key_arn(stack, f"Key{i}", f"{key_arn}{i}") for i in range(3)]
    own_key = kms.Key(stack, "OwnKey")
    names = ["app", "app-web", "app/web", "ap", "db", "db-x"]
    return {
        "repositories": [
            *(
                ecr.Repository.from_repository_name(stack, f"Repo{i}", n)
                for i, n in enumerate(names)
            ),
            ecr.Repository.from_repository_arn(
                stack, "RepoOther", f"arn:aws:ecr:us-east-1:{OTHER}:repository/app"
            ),
            ecr.Repository(stack, "OwnRepo"),
        ],
        "log_groups": [
            *(
                logs.LogGroup.from_log_group_name(stack, f"Logs{i}", f"/ecs/{n}")
                for i, n in enumerate(names)
            ),
            logs.LogGroup.from_log_group_arn(
                stack, "LogsOther", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/app:*"
            ),
            logs.LogGroup(stack, "OwnLogs"),
        ],
        "secrets": [
            *(
                secretsmanager.Secret.from_secret_name_v2(stack, f"Secret{i}", n)
                for i, n in enumerate(names)
                if "/" not in n
            ),
            secretsmanager.Secret.from_secret_complete_arn(
                stack,
                "SecretComplete",
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app-AbCdEf",
            ),
            secretsmanager.Secret.from_secret_attributes(
                stack,
                "SecretEncrypted",
                secret_partial_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:enc",
                encryption_key=keys[0],
            ),
            secretsmanager.Secret(stack, "OwnSecret", encryption_key=own_key),
        ],
        "parameters": [
            *(
                ssm.StringParameter.from_string_parameter_name(
                    stack, f"Param{i}", "/" + n if "/" in n else n
                )
                for i, n in enumerate(names)
            ),
            ssm.StringParameter(stack, "OwnParam", string_value="v"),
        ],
        "keys": [*keys, own_key],
    }


def build(
    app: cdk.App,
    order: Order = keep,
    *,
    before: Callable[[Construct], None] | None = None,
    after: Callable[[Construct], None] | None = None,
) -> cdk.Stack:
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    if before:
        before(stack)
    props = _resources(stack)
    ordered = {prop: order(values) for prop, values in props.items()}
    MinimalExecutionRole(stack, "Minimal", **ordered)
    many = [
        ecr.Repository.from_repository_name(stack, f"Many{i}", f"team/service-{i:03d}")
        for i in range(80)
    ]
    shared = SharedExecutionRole(
        stack,
        "Shared",
        **{prop: values[::2] for prop, values in ordered.items()},
        max_managed_policies=5,
    )
    shared.add_resources(**{prop: values[1::2] for prop, values in ordered.items()})
    shared.add_repositories(*order(many))
    StarterExecutionRole(
        stack,
        "Starter",
        secrets=order(props["secrets"]),
        parameters=order(props["parameters"]),
        keys=order(props["keys"]),
    )
    if after:
        after(stack)
    return stack


def template_text(stack: cdk.Stack) -> str:
    # No sort_keys: the order of resources and of keys is part of what must not change.
    return json.dumps(assertions.Template.from_stack(stack).to_json())


def test_two_apps_give_byte_identical_templates() -> None:
    first = template_text(build(cdk.App()))
    second = template_text(build(cdk.App()))
    assert first == second
    # The shared role overflowed into a second policy: packing is covered too.
    assert '"SharedPolicy2' in first


def test_synthesizing_one_app_twice_gives_the_same_template() -> None:
    app = cdk.App()
    stack = build(app)
    first = template_text(stack)
    assert template_text(stack) == first
    assembly = app.synth(force=True)
    on_disk = assembly.get_stack_by_name(stack.stack_name).template
    assert json.dumps(on_disk) == first


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_order_of_props_does_not_change_the_template(seed: int) -> None:
    assert template_text(build(cdk.App(), shuffled(seed))) == template_text(build(cdk.App()))


def test_reversed_props_do_not_change_the_template() -> None:
    assert template_text(build(cdk.App(), lambda v: v[::-1])) == template_text(build(cdk.App()))


def _our_logical_ids(stack: cdk.Stack) -> dict[str, str]:
    ids = {}
    for name in ("Minimal", "Shared", "Starter"):
        for child in stack.node.find_child(name).node.find_all():
            if isinstance(child, cdk.CfnElement):
                ids[child.node.path] = stack.resolve(child.logical_id)
    return ids


def _topic_and_role(scope: Construct) -> None:
    sns.Topic(scope, "Topic")
    iam.Role(scope, "OtherRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    sns.Topic(scope, "Minimal2")


@pytest.mark.parametrize("where", ["before", "after"])
def test_unrelated_resources_leave_our_logical_ids_and_policies_unchanged(where: str) -> None:
    plain = build(cdk.App())
    other = build(cdk.App(), **{where: _topic_and_role})  # type: ignore[arg-type]
    # Policies are built when synthesis starts: synthesize before listing logical IDs.
    plain_template = assertions.Template.from_stack(plain).to_json()
    other_template = assertions.Template.from_stack(other).to_json()
    plain_resources, other_resources = plain_template["Resources"], other_template["Resources"]
    ids = _our_logical_ids(plain)
    # Three roles, a policy each, and the shared role's overflow policies (and the outputs of
    # what other accounts must allow).
    assert len(ids) >= 7
    assert _our_logical_ids(other) == ids
    plain_elements = {**plain_resources, **plain_template.get("Outputs", {})}
    other_elements = {**other_resources, **other_template.get("Outputs", {})}
    for logical_id in ids.values():
        assert other_elements[logical_id] == plain_elements[logical_id]
    assert len(other_resources) == len(plain_resources) + 3
