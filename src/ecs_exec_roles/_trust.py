"""The trust policy: who may assume the execution role, and from where."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = [
    "ECS_TASKS_SERVICE",
    "ecs_tasks_principal",
    "partition_of_region",
    "stack_environment",
    "trust_document",
]

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
    partition, region, account = stack_environment(cdk.Stack.of(scope))
    if trust_all_regions:
        region = "*"
    return iam.ServicePrincipal(
        ECS_TASKS_SERVICE,
        conditions={
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account}:*"},
            "StringEquals": {"aws:SourceAccount": account},
        },
    )


def trust_document(principal: iam.IPrincipal) -> iam.PolicyDocument:
    """The trust policy that lets ``principal`` assume a role, as ``iam.Role(assumed_by=...)``
    writes it (for a role aws-cdk-lib made, whose trust policy is rewritten in place)."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(actions=[principal.assume_role_action], principals=[principal])
        ]
    )


_ENVIRONMENT_ATTRIBUTE = "_ecs_exec_roles_environment"


def stack_environment(stack: cdk.Stack) -> tuple[str, str, str]:
    """The stack's partition, region and account (tokens or literals), read once per stack."""
    environment: tuple[str, str, str] | None = getattr(stack, _ENVIRONMENT_ATTRIBUTE, None)
    if environment is None:
        environment = (stack.partition, stack.region, stack.account)
        setattr(stack, _ENVIRONMENT_ATTRIBUTE, environment)
    return environment


# Region name prefixes of the partitions other than "aws", longest first.
_PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)
_COMMERCIAL_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d+$")


def partition_of_region(region: str) -> str | None:
    """The partition of a region name, or ``None`` for a name of no known shape.

    Read from the name (as aws-cdk-lib's region facts do) rather than asked of aws-cdk-lib:
    a call into it per stack costs more than the lookup.
    """
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    if _COMMERCIAL_REGION.match(region) and "iso" not in region:
        return "aws"
    return None
