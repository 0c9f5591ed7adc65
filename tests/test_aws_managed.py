"""The AWS managed policies known by their published content."""

from __future__ import annotations

import pytest

from ecs_exec_roles._aws_managed import AWS_MANAGED_POLICIES, aws_managed_name
from ecs_exec_roles._starter import STARTER_MANAGED_POLICY


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            "service-role/AmazonECSTaskExecutionRolePolicy",
        ),
        (
            "arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "AmazonEC2ContainerRegistryReadOnly",
        ),
        (
            "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            "service-role/AmazonECSTaskExecutionRolePolicy",
        ),
        ("arn:aws:iam::123456789012:policy/AmazonEC2ContainerRegistryReadOnly", None),
        ("arn:aws:iam::aws:role/x", None),
        ("not an arn", None),
    ],
)
def test_an_aws_managed_policy_is_named_by_its_arn(arn: str, name: str | None) -> None:
    assert aws_managed_name(arn) == name


def test_the_starter_attaches_the_policy_the_audit_evaluates() -> None:
    assert AWS_MANAGED_POLICIES[STARTER_MANAGED_POLICY.name] == STARTER_MANAGED_POLICY.actions
    assert len(AWS_MANAGED_POLICIES[STARTER_MANAGED_POLICY.name]) == 6


def test_the_registry_read_only_policy_has_its_twelve_actions_once() -> None:
    actions = AWS_MANAGED_POLICIES["AmazonEC2ContainerRegistryReadOnly"]
    assert len(actions) == len(set(actions)) == 12
