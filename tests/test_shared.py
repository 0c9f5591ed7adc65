"""SharedExecutionRole: many families on one role, packed within IAM's size quotas."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from helpers import policy_statements, resources_of_type, role_logical_id, template_json

from ecs_exec_roles import ExecutionRoleError, SharedExecutionRole


def _family(stack: cdk.Stack, index: int) -> dict[str, list[object]]:
    return {
        "repositories": [
            ecr.Repository.from_repository_name(stack, f"Repo{index}", f"team/svc-{index:04d}")
        ],
        "log_groups": [
            logs.LogGroup.from_log_group_name(stack, f"Logs{index}", f"/ecs/team/svc-{index:04d}")
        ],
        "secrets": [
            secretsmanager.Secret.from_secret_name_v2(
                stack, f"Secret{index}", f"team/svc-{index:04d}"
            )
        ],
    }


def _policy_chars(policy: dict[str, object]) -> int:
    """Characters IAM counts, with the concrete partition substituted for its token."""
    text = json.dumps(policy["PolicyDocument"], separators=(",", ":"))  # type: ignore[index]
    # {"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ecr:..."]]} deploys as "arn:aws:ecr:..."
    text = text.replace('{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},"', '"arn:aws')
    return len(text.replace('"]]}', '"'))


def test_add_resources_after_construction(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Shared", **_family(env_stack, 1))  # type: ignore[arg-type]
    shared.add_resources(**_family(env_stack, 2))  # type: ignore[arg-type]
    shared.add_repositories(ecr.Repository.from_repository_name(env_stack, "Extra", "extra"))
    statements = policy_statements(template_json(env_stack), role_logical_id(env_stack, shared))
    pull = next(s for s in statements if s["Sid"] == "EcrImagePull")
    assert len(pull["Resource"]) == 3


def test_many_families_are_packed_into_several_policies_within_the_quota(
    env_stack: cdk.Stack,
) -> None:
    shared = SharedExecutionRole(env_stack, "Shared")
    for index in range(120):
        shared.add_resources(**_family(env_stack, index))  # type: ignore[arg-type]
    template = template_json(env_stack)
    policies = resources_of_type(template, "AWS::IAM::ManagedPolicy")
    assert 2 <= len(policies) <= 10
    for policy in policies.values():
        assert _policy_chars(policy["Properties"]) <= 6144
    # Every resource appears exactly once across the policies.
    statements = policy_statements(template, role_logical_id(env_stack, shared))
    pulled = [
        r
        for s in statements
        if s["Sid"] == "EcrImagePull"
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert len(pulled) == 120
    assert len({json.dumps(r) for r in pulled}) == 120


def test_policy_logical_ids_are_stable_when_families_are_added(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Shared")
    for index in range(3):
        shared.add_resources(**_family(env_stack, index))  # type: ignore[arg-type]
    first = sorted(resources_of_type(template_json(env_stack), "AWS::IAM::ManagedPolicy"))
    other_app = cdk.App()
    other = cdk.Stack(
        other_app, "EnvStack", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    bigger = SharedExecutionRole(other, "Shared")
    for index in range(150):
        bigger.add_resources(**_family(other, index))  # type: ignore[arg-type]
    second = sorted(resources_of_type(template_json(other), "AWS::IAM::ManagedPolicy"))
    assert set(first) <= set(second)
    assert len(second) > len(first)


def test_fails_when_families_need_more_than_max_managed_policies(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Shared", max_managed_policies=1)
    for index in range(60):
        shared.add_resources(**_family(env_stack, index))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "EnvStack/Shared: the role's statements need" in message
    assert "max_managed_policies is 1" in message
    assert "raise the IAM quota" in message and "split the task families" in message


def test_fails_when_resources_are_added_after_synthesis(env_stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(env_stack, "Shared", **_family(env_stack, 1))  # type: ignore[arg-type]
    Template.from_stack(env_stack)
    with pytest.raises(ExecutionRoleError, match="resources were added after synthesis began"):
        shared.add_resources(**_family(env_stack, 2))  # type: ignore[arg-type]
