"""cdk-nag acknowledgments for the findings a least-privilege execution role cannot avoid.

Each acknowledgment names exactly one finding, as cdk-nag prints it, with its reason, so a
wildcard the library did not intend still fails the user's checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._cfn import flatten
from ._statements import Statement

__all__ = ["acknowledge_managed_policy", "acknowledge_wildcards"]


def acknowledge_wildcards(policy: iam.ManagedPolicy, statements: Sequence[Statement]) -> None:
    """Acknowledge each unavoidable wildcard finding, one resource at a time, with its reason."""
    acknowledgments = [
        cdk.Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{flat}]",
            reason=resource.reason or statement.reason,
        )
        for statement in statements
        for resource, flat in ((r, flatten(r.resolved)) for r in statement.resources)
        if "*" in flat and (resource.reason or statement.reason)
    ]
    if acknowledgments:
        cdk.Validations.of(policy).acknowledge(*acknowledgments)


def acknowledge_managed_policy(role: IConstruct, managed_policy_arn: Any, reason: str) -> None:
    """Acknowledge the AWS managed policy finding (AwsSolutions-IAM4) for one policy ARN."""
    flat = flatten(cdk.Stack.of(role).resolve(managed_policy_arn))
    cdk.Validations.of(role).acknowledge(
        cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM4[Policy::{flat}]", reason=reason)
    )
