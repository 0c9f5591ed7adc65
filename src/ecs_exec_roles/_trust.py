"""The trust policy: who may assume the execution role, and from where."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["ECS_TASKS_SERVICE", "ecs_tasks_principal"]

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


def ecs_tasks_principal(
    scope: Construct, *, trust_conditions: bool, trust_all_regions: bool
) -> iam.IPrincipal:
    """``ecs-tasks.amazonaws.com`` with confused-deputy conditions for the scope's account.

    ``aws:SourceArn`` is matched account-wide (``arn:<partition>:ecs:<region>:<account>:*``):
    ECS does not support narrowing it to one cluster. ``trust_all_regions`` puts ``*`` in the
    region part for a role that tasks in several regions assume.
    """
    if not trust_conditions:
        return iam.ServicePrincipal(ECS_TASKS_SERVICE)
    stack = cdk.Stack.of(scope)
    region = "*" if trust_all_regions else stack.region
    return iam.ServicePrincipal(
        ECS_TASKS_SERVICE,
        conditions={
            "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:ecs:{region}:{stack.account}:*"},
            "StringEquals": {"aws:SourceAccount": stack.account},
        },
    )
