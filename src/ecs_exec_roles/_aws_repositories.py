"""AWS-owned ECR repositories an execution role may pull from, by region: the image of
AWS's FireLens log router (aws-for-fluent-bit) and GuardDuty Runtime Monitoring's agent for
Fargate. A region missing here is named in the props instead."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "FLUENT_BIT",
    "FLUENT_BIT_ACCOUNTS",
    "FLUENT_BIT_REPOSITORY",
    "GUARDDUTY_AGENT",
    "GUARDDUTY_AGENT_ACCOUNTS",
    "GUARDDUTY_AGENT_REPOSITORY",
    "AwsOwnedRepository",
]


@dataclass(frozen=True)
class AwsOwnedRepository:
    """An AWS-owned repository whose account depends on the region, and the switch prop that
    allows it.

    :param mapping_id: the id of the CfnMapping of its accounts in an environment-agnostic
        stack.
    :param source: where its accounts are published, for a region missing here.
    """

    prop: str
    repository: str
    accounts: Mapping[str, str]
    mapping_id: str
    source: str


# AWS accounts whose ECR repository "aws-for-fluent-bit" holds the AWS for Fluent Bit image
# that aws-cdk-lib's default FireLens log router pulls (through the public SSM parameter
# /aws/service/aws-for-fluent-bit/latest), per region, as the aws-for-fluent-bit project
# publishes them: one account for its 17 original commercial regions, one for China, one for
# AWS GovCloud (US), and a replica account per opt-in region (only those it lists here).
_FLUENT_BIT_CLASSIC_ACCOUNT = "906394416424"
FLUENT_BIT_ACCOUNTS = {
    **{
        region: _FLUENT_BIT_CLASSIC_ACCOUNT
        for region in (
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "sa-east-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-north-1",
            "ap-south-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
        )
    },
    "ap-east-1": "449074385750",
    "me-south-1": "741863432321",
    "cn-north-1": "128054284489",
    "cn-northwest-1": "128054284489",
    "us-gov-east-1": "161423150738",
    "us-gov-west-1": "161423150738",
}
FLUENT_BIT_REPOSITORY = "aws-for-fluent-bit"


# AWS accounts whose ECR repository "aws-guardduty-agent-fargate" holds the GuardDuty
# Runtime Monitoring sidecar for Fargate, per region, as the GuardDuty User Guide lists them
# ("ECR Repository for GuardDuty agent on AWS Fargate (Amazon ECS only)"). For a region the
# guide adds later, pass the repository in ``repositories``.
GUARDDUTY_AGENT_ACCOUNTS = {
    "us-east-1": "593207742271",
    "us-east-2": "307168627858",
    "us-west-1": "684579721401",
    "us-west-2": "733349766148",
    "ca-central-1": "354763396469",
    "ca-west-1": "339712888787",
    "mx-central-1": "311141559934",
    "sa-east-1": "758426053663",
    "eu-west-1": "694911143906",
    "eu-west-2": "892757235363",
    "eu-west-3": "665651866788",
    "eu-central-1": "323658145986",
    "eu-central-2": "529164026651",
    "eu-north-1": "591436053604",
    "eu-south-1": "266869475730",
    "eu-south-2": "919611009337",
    "me-central-1": "000014521398",
    "me-south-1": "536382113932",
    "il-central-1": "870907303882",
    "af-south-1": "197869348890",
    "ap-south-1": "251508486986",
    "ap-south-2": "950823858135",
    "ap-southeast-1": "174946120834",
    "ap-southeast-2": "005257825471",
    "ap-southeast-3": "510637619217",
    "ap-southeast-4": "251357961535",
    "ap-southeast-5": "156041399949",
    "ap-southeast-7": "054037130133",
    "ap-northeast-1": "533107202818",
    "ap-northeast-2": "914738172881",
    "ap-northeast-3": "273192626886",
    "ap-east-1": "258348409381",
    "ap-east-2": "259886477082",
}
GUARDDUTY_AGENT_REPOSITORY = "aws-guardduty-agent-fargate"

FLUENT_BIT = AwsOwnedRepository(
    "firelens_default_router",
    FLUENT_BIT_REPOSITORY,
    FLUENT_BIT_ACCOUNTS,
    "FluentBitImageAccounts",
    "the aws-for-fluent-bit SSM parameter of the region",
)
GUARDDUTY_AGENT = AwsOwnedRepository(
    "guardduty_runtime_monitoring",
    GUARDDUTY_AGENT_REPOSITORY,
    GUARDDUTY_AGENT_ACCOUNTS,
    "GuardDutyAgentAccounts",
    "the GuardDuty User Guide",
)
