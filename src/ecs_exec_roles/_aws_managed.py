"""The AWS managed policies the library knows by their published content.

The audit evaluates a role's AWS managed policies from this table; any other AWS managed
policy is named in a finding as not evaluated, never guessed. Each entry is the policy's
default version as the AWS Managed Policy Reference publishes it
(https://docs.aws.amazon.com/aws-managed-policy/latest/reference/), all on ``*``:

- ``service-role/AmazonECSTaskExecutionRolePolicy``: the ECR token, the three pull actions and
  the two log-writing actions (the policy ``StarterExecutionRole`` attaches).
- ``AmazonEC2ContainerRegistryReadOnly`` (v3): the ECR token, the pull actions, and eight ECR
  reads ECS never calls (repository policies, listings, lifecycle policies, tags, scan
  findings).
"""

from __future__ import annotations

from ._kinds import (
    ECR_PULL_ACTIONS,
    ECR_READ_ONLY_EXTRA_ACTIONS,
    ECR_TOKEN_ACTION,
    LOGS_WRITE_ACTIONS,
)

__all__ = ["AWS_MANAGED_POLICIES", "ECS_TASK_EXECUTION_POLICY", "aws_managed_name"]

ECS_TASK_EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"

AWS_MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    ECS_TASK_EXECUTION_POLICY: (ECR_TOKEN_ACTION, *ECR_PULL_ACTIONS, *LOGS_WRITE_ACTIONS),
    # Its policy lists the pull actions among the reads; the set is what counts.
    "AmazonEC2ContainerRegistryReadOnly": (
        ECR_TOKEN_ACTION,
        *ECR_PULL_ACTIONS,
        *ECR_READ_ONLY_EXTRA_ACTIONS,
    ),
}


def aws_managed_name(arn: str) -> str | None:
    """The name of an AWS managed policy from its ARN (``arn:<partition>:iam::aws:policy/``
    then the name, with its path), ``None`` for any other ARN. The partition may be shown in
    any form (``<AWS::Partition>`` too)."""
    if not arn.startswith("arn:") or _AWS_POLICY not in arn:
        return None
    return arn.split(_AWS_POLICY, 1)[1]


# What follows the partition in the ARN of every AWS managed policy.
_AWS_POLICY = ":iam::aws:policy/"
