"""The needs of one call's props (``_prop_needs``): every kind, in a fixed order."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._prop_needs import needs_of_props
from ecs_exec_roles._props import ResourceProps


def test_needs_of_props_scope_log_writes_to_stream_prefixes_instead_of_the_group() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    group = logs.LogGroup.from_log_group_name(stack, "L", "/ecs/app")
    repository = ecr.Repository.from_repository_name(stack, "R", "app")
    whole = needs_of_props(
        stack,
        "S/Role",
        ResourceProps.checked("S/Role", log_groups=[group], repositories=[repository]),
    )
    assert [need.kind for need in whole] == [Kind.REPOSITORY, Kind.LOG_GROUP]
    scoped = needs_of_props(
        stack,
        "S/Role",
        ResourceProps.checked("S/Role", log_groups=[group], log_stream_prefixes=["web", "api"]),
    )
    assert [need.kind for need in scoped] == [Kind.LOG_STREAM, Kind.LOG_STREAM]
    assert all(need.grant_aliases == (group.log_group_arn,) for need in scoped)


def test_the_starter_writes_no_log_groups_but_still_checks_them() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    group = logs.LogGroup.from_log_group_name(stack, "L", "/ecs/app")
    props = ResourceProps.checked("S/Role", log_groups_to_create=[group], log_writes=False)
    assert [need.kind for need in needs_of_props(stack, "S/Role", props)] == [Kind.LOG_GROUP_CREATE]


def test_registry_credentials_are_read_as_secrets_and_named_by_their_own_prop() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    credentials = secretsmanager.Secret.from_secret_name_v2(stack, "C", "dockerhub/creds")
    props = ResourceProps.checked("S/Role", registry_credentials=[credentials])
    (need,) = needs_of_props(stack, "S/Role", props)
    assert need.kind is Kind.SECRET
