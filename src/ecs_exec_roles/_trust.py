"""The trust policy: who may assume the execution role, and from where."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from constructs import Construct

__all__ = [
    "ASSUME_ROLE_ACTION",
    "ECS_TASKS_SERVICE",
    "confused_deputy_conditions",
    "ecs_tasks_principal",
    "stack_environment",
    "trust_document",
    "trust_policy",
]

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
# The action a trust policy lets a principal take to assume the role.
ASSUME_ROLE_ACTION = "sts:AssumeRole"


def _conditions(stack: cdk.Stack, trust_all_regions: bool) -> dict[str, dict[str, str]]:
    """The confused-deputy conditions for the stack's account (CDK strings).

    ``aws:SourceArn`` is matched account-wide (``arn:<partition>:ecs:<region>:<account>:*``):
    ECS does not support narrowing it to one cluster. ``trust_all_regions`` puts ``*`` in the
    region part for a role that tasks in several regions assume.
    """
    partition, region, account = stack_environment(stack)
    return confused_deputy_conditions(partition, "*" if trust_all_regions else region, account)


def confused_deputy_conditions(partition: str, region: str, account: str) -> dict[str, Any]:
    """The confused-deputy conditions for tasks of ``account`` in ``region`` (``*``: any)."""
    return {
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account}:*"},
        "StringEquals": {"aws:SourceAccount": account},
    }


def ecs_tasks_principal(
    scope: Construct, *, trust_conditions: bool, trust_all_regions: bool
) -> iam.IPrincipal:
    """``ecs-tasks.amazonaws.com``, with confused-deputy conditions for the scope's account
    when ``trust_conditions`` (see :func:`trust_policy`)."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    if not trust_conditions:
        return iam.ServicePrincipal(ECS_TASKS_SERVICE)
    return iam.ServicePrincipal(
        ECS_TASKS_SERVICE, conditions=_conditions(cdk.Stack.of(scope), trust_all_regions)
    )


def trust_policy(
    stack: cdk.Stack, *, trust_conditions: bool, trust_all_regions: bool
) -> dict[str, Any]:
    """The trust policy of a role of ``stack`` with these settings, as CDK strings: what
    ``iam.Role(assumed_by=ecs_tasks_principal(...))`` writes."""
    statement: dict[str, Any] = {
        "Action": ASSUME_ROLE_ACTION,
        "Effect": "Allow",
        "Principal": {"Service": ECS_TASKS_SERVICE},
    }
    if trust_conditions:
        statement["Condition"] = _conditions(stack, trust_all_regions)
    return {"Statement": [statement], "Version": "2012-10-17"}


def trust_document(principal: iam.IPrincipal) -> iam.PolicyDocument:
    """The trust policy that lets ``principal`` assume a role, as ``iam.Role(assumed_by=...)``
    writes it (for a role aws-cdk-lib made, whose trust policy is rewritten in place)."""
    from aws_cdk import aws_iam as iam

    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(actions=[principal.assume_role_action], principals=[principal])
        ]
    )


def stack_environment(stack: cdk.Stack) -> tuple[str, str, str]:
    """The stack's partition, region and account (tokens or literals), read once per stack."""
    from ._app import stack_state

    state = stack_state(stack)
    if state.environment is None:
        state.environment = (stack.partition, stack.region, stack.account)
    return state.environment


# Region name prefixes of the partitions other than "aws", longest first.
