"""The trust policy of every construct: ecs-tasks with confused-deputy conditions."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole

CONSTRUCTS = [MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole]


def _trust(stack: cdk.Stack) -> dict[str, Any]:
    (role,) = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement  # type: ignore[no-any-return]


@pytest.mark.parametrize("construct", CONSTRUCTS, ids=lambda c: c.__name__)
def test_environment_agnostic_stack_uses_tokens(stack: cdk.Stack, construct: Any) -> None:
    construct(stack, "Role")
    assert _trust(stack) == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
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


@pytest.mark.parametrize("construct", CONSTRUCTS, ids=lambda c: c.__name__)
def test_concrete_environment_uses_its_account_and_region(
    env_stack: cdk.Stack, construct: Any
) -> None:
    construct(env_stack, "Role")
    condition = _trust(env_stack)["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert condition["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecs:eu-west-1:123456789012:*"]]
        }
    }


def test_trust_all_regions_puts_a_wildcard_in_the_region(env_stack: cdk.Stack) -> None:
    MinimalExecutionRole(env_stack, "Role", trust_all_regions=True)
    assert _trust(env_stack)["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecs:*:123456789012:*"]]
        }
    }


def test_trust_conditions_can_be_turned_off(env_stack: cdk.Stack) -> None:
    StarterExecutionRole(env_stack, "Role", trust_conditions=False)
    assert _trust(env_stack) == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    }


def test_china_partition_stack(app: cdk.App) -> None:
    stack = cdk.Stack(
        app, "China", env=cdk.Environment(account="123456789012", region="cn-north-1")
    )
    MinimalExecutionRole(stack, "Role")
    statement = _trust(stack)
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecs:cn-north-1:123456789012:*"]]
    }


def test_fails_when_all_regions_is_asked_without_conditions(stack: cdk.Stack) -> None:
    from ecs_exec_roles import ExecutionRoleError

    with pytest.raises(ExecutionRoleError, match="Set only one of them"):
        MinimalExecutionRole(stack, "Role", trust_conditions=False, trust_all_regions=True)
