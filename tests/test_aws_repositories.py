"""The AWS-owned ECR repositories by region (``_aws_repositories``): the aws-for-fluent-bit
image of the default FireLens log router and GuardDuty's Fargate agent, their accounts per
region and partition, and what a role pulls from them in a known, a missing and an unknown
(environment-agnostic) region.

``test_features`` checks a few GuardDuty regions and the errors for one missing region of each
repository; ``test_requests`` checks the region lookup of the verification.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from helpers import policy_statements, role_logical_id

from ecs_exec_roles import ExecutionRoleError, MinimalExecutionRole
from ecs_exec_roles import _aws_repositories as repositories
from ecs_exec_roles._aws_repositories import (
    FLUENT_BIT_ACCOUNTS,
    FLUENT_BIT_REPOSITORY,
    GUARDDUTY_AGENT_ACCOUNTS,
    GUARDDUTY_AGENT_REPOSITORY,
)
from ecs_exec_roles._declarations import switches
from ecs_exec_roles._regions import partition_of_region

ACCOUNT = "123456789012"
FLUENT_BIT_CLASSIC_REGIONS = {
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
}


def _regions_by_partition(accounts: dict[str, str]) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for region in accounts:
        found.setdefault(partition_of_region(region), set()).add(region)
    return found


# -- the tables --------------------------------------------------------------------------------


def test_module_exports_the_two_repositories_and_their_accounts() -> None:
    assert sorted(repositories.__all__) == [
        "AwsOwnedRepository",
        "FLUENT_BIT",
        "FLUENT_BIT_ACCOUNTS",
        "FLUENT_BIT_REPOSITORY",
        "GUARDDUTY_AGENT",
        "GUARDDUTY_AGENT_ACCOUNTS",
        "GUARDDUTY_AGENT_REPOSITORY",
    ]
    assert FLUENT_BIT_REPOSITORY == "aws-for-fluent-bit"
    assert GUARDDUTY_AGENT_REPOSITORY == "aws-guardduty-agent-fargate"
    # Each record holds its repository's name and accounts, and the switch that allows it.
    for record, repository, accounts in (
        (repositories.FLUENT_BIT, FLUENT_BIT_REPOSITORY, FLUENT_BIT_ACCOUNTS),
        (repositories.GUARDDUTY_AGENT, GUARDDUTY_AGENT_REPOSITORY, GUARDDUTY_AGENT_ACCOUNTS),
    ):
        assert (record.repository, record.accounts) == (repository, accounts)
        assert record.prop in switches()


@pytest.mark.parametrize(
    "accounts", [FLUENT_BIT_ACCOUNTS, GUARDDUTY_AGENT_ACCOUNTS], ids=["fluent-bit", "guardduty"]
)
def test_every_account_is_twelve_digits_as_text_when_it_starts_with_zeros(
    accounts: dict[str, str],
) -> None:
    # An account held as a number would lose its leading zeros in the ARN.
    assert all(isinstance(a, str) and re.fullmatch(r"\d{12}", a) for a in accounts.values())


@pytest.mark.parametrize(
    "accounts", [FLUENT_BIT_ACCOUNTS, GUARDDUTY_AGENT_ACCOUNTS], ids=["fluent-bit", "guardduty"]
)
def test_every_region_has_the_shape_of_a_known_partitions_region(
    accounts: dict[str, str],
) -> None:
    assert None not in _regions_by_partition(accounts)


def test_fluent_bit_uses_one_account_for_its_original_commercial_regions() -> None:
    classic = {r for r, a in FLUENT_BIT_ACCOUNTS.items() if a == "906394416424"}
    assert classic == FLUENT_BIT_CLASSIC_REGIONS


@pytest.mark.parametrize(
    ("region", "account"),
    [
        # Opt-in regions: a replica account each.
        ("ap-east-1", "449074385750"),
        ("me-south-1", "741863432321"),
        # China and AWS GovCloud (US): one account per partition.
        ("cn-north-1", "128054284489"),
        ("cn-northwest-1", "128054284489"),
        ("us-gov-east-1", "161423150738"),
        ("us-gov-west-1", "161423150738"),
    ],
)
def test_fluent_bit_account_of_a_region_outside_the_original_ones(
    region: str, account: str
) -> None:
    assert FLUENT_BIT_ACCOUNTS[region] == account


def test_fluent_bit_covers_the_commercial_china_and_govcloud_partitions() -> None:
    assert _regions_by_partition(FLUENT_BIT_ACCOUNTS) == {
        "aws": FLUENT_BIT_CLASSIC_REGIONS | {"ap-east-1", "me-south-1"},
        "aws-cn": {"cn-north-1", "cn-northwest-1"},
        "aws-us-gov": {"us-gov-east-1", "us-gov-west-1"},
    }


@pytest.mark.parametrize(
    "accounts", [FLUENT_BIT_ACCOUNTS, GUARDDUTY_AGENT_ACCOUNTS], ids=["fluent-bit", "guardduty"]
)
def test_no_account_serves_regions_of_two_partitions(accounts: dict[str, str]) -> None:
    # An AWS account lives in one partition.
    partitions: dict[str, set[str | None]] = {}
    for region, account in accounts.items():
        partitions.setdefault(account, set()).add(partition_of_region(region))
    assert all(len(found) == 1 for found in partitions.values())


def test_guardduty_agent_has_its_own_account_in_each_commercial_region() -> None:
    assert set(_regions_by_partition(GUARDDUTY_AGENT_ACCOUNTS)) == {"aws"}
    assert len(set(GUARDDUTY_AGENT_ACCOUNTS.values())) == len(GUARDDUTY_AGENT_ACCOUNTS)


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("us-east-1", "593207742271"),
        ("eu-west-1", "694911143906"),
        ("me-central-1", "000014521398"),
        ("ap-southeast-2", "005257825471"),
        ("ap-east-2", "259886477082"),
    ],
)
def test_guardduty_agent_account_of_a_region(region: str, account: str) -> None:
    assert GUARDDUTY_AGENT_ACCOUNTS[region] == account


@pytest.mark.parametrize(
    ("accounts", "region"),
    [
        (FLUENT_BIT_ACCOUNTS, "ap-east-2"),
        (FLUENT_BIT_ACCOUNTS, "eu-south-1"),
        (FLUENT_BIT_ACCOUNTS, "ca-west-1"),
        (GUARDDUTY_AGENT_ACCOUNTS, "us-gov-west-1"),
        (GUARDDUTY_AGENT_ACCOUNTS, "cn-north-1"),
    ],
)
def test_a_region_the_source_does_not_list_is_missing(
    accounts: dict[str, str], region: str
) -> None:
    assert region not in accounts


# -- the roles that pull from them -------------------------------------------------------------

# (stack id, region or None for an environment-agnostic stack, the role's props)
_STACKS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("China", "cn-north-1", {"firelens_default_router": True}),
    ("GovCloud", "us-gov-west-1", {"firelens_default_router": True}),
    ("HongKong", "ap-east-1", {"firelens_default_router": True}),
    ("Sydney", "ap-southeast-2", {"guardduty_runtime_monitoring": True}),
    ("Both", "eu-west-1", {"firelens_default_router": True, "guardduty_runtime_monitoring": True}),
    ("Agnostic", None, {"firelens_default_router": True, "guardduty_runtime_monitoring": True}),
]


@pytest.fixture(scope="module")
def templates() -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each stack's template and its role's statements, from one synthesized app."""
    app = cdk.App()
    roles = {}
    for name, region, props in _STACKS:
        env = cdk.Environment(account=ACCOUNT, region=region) if region else None
        stack = cdk.Stack(app, name, env=env)
        roles[name] = (stack, MinimalExecutionRole(stack, "Role", **props))
    assembly = app.synth()
    found = {}
    for name, (stack, role) in roles.items():
        template = assembly.get_stack_by_name(stack.stack_name).template
        found[name] = (template, policy_statements(template, role_logical_id(stack, role)))
    return found


def _pull_resources(statements: list[dict[str, Any]]) -> list[Any]:
    (pull,) = (s for s in statements if s["Sid"] == "EcrImagePull")
    resource = pull["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _repository_arn(region: str, account: str, repository: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":ecr:{region}:{account}:repository/{repository}"],
        ]
    }


@pytest.mark.parametrize(
    ("name", "region", "accounts", "repository"),
    [
        ("China", "cn-north-1", FLUENT_BIT_ACCOUNTS, FLUENT_BIT_REPOSITORY),
        ("GovCloud", "us-gov-west-1", FLUENT_BIT_ACCOUNTS, FLUENT_BIT_REPOSITORY),
        ("HongKong", "ap-east-1", FLUENT_BIT_ACCOUNTS, FLUENT_BIT_REPOSITORY),
        ("Sydney", "ap-southeast-2", GUARDDUTY_AGENT_ACCOUNTS, GUARDDUTY_AGENT_REPOSITORY),
    ],
)
def test_role_pulls_from_the_repository_of_its_stacks_region_and_partition(
    templates: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]],
    name: str,
    region: str,
    accounts: dict[str, str],
    repository: str,
) -> None:
    template, statements = templates[name]
    # The partition stays AWS::Partition: aws-cn in China, aws-us-gov in GovCloud.
    assert _pull_resources(statements) == [_repository_arn(region, accounts[region], repository)]
    assert "Mappings" not in template


def test_role_pulls_from_both_repositories_of_the_region_when_both_are_asked_for(
    templates: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]],
) -> None:
    _, statements = templates["Both"]
    assert sorted(map(str, _pull_resources(statements))) == sorted(
        str(_repository_arn("eu-west-1", account, repository))
        for account, repository in (
            ("906394416424", FLUENT_BIT_REPOSITORY),
            ("694911143906", GUARDDUTY_AGENT_REPOSITORY),
        )
    )


def test_environment_agnostic_role_maps_every_listed_region_to_its_account(
    templates: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]],
) -> None:
    template, statements = templates["Agnostic"]
    mappings = template["Mappings"]
    expected = [
        {region: {"account": account} for region, account in accounts.items()}
        for accounts in (FLUENT_BIT_ACCOUNTS, GUARDDUTY_AGENT_ACCOUNTS)
    ]
    assert sorted(mappings.values(), key=len) == sorted(expected, key=len)
    # Each repository's account is looked up in its own mapping, by the deploy-time region.
    for mapping_id, mapping in mappings.items():
        repository = FLUENT_BIT_REPOSITORY if mapping == expected[0] else GUARDDUTY_AGENT_REPOSITORY
        assert {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ecr:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "account"]},
                    f":repository/{repository}",
                ],
            ]
        } in _pull_resources(statements)


def test_role_fails_when_the_region_has_no_known_fluent_bit_repository(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Milan", env=cdk.Environment(account=ACCOUNT, region="eu-south-1"))
    with pytest.raises(ExecutionRoleError) as raised:
        MinimalExecutionRole(stack, "Role", firelens_default_router=True)
    assert str(raised.value) == (
        "Milan/Role: firelens_default_router=True, but the aws-for-fluent-bit repository of "
        f"region 'eu-south-1' is not known to this library (it knows "
        f"{', '.join(sorted(FLUENT_BIT_ACCOUNTS))}). Pass the repository from the "
        "aws-for-fluent-bit SSM parameter of the region in repositories instead, for example "
        "ecr.Repository.from_repository_arn(scope, 'Repo', "
        "'arn:aws:ecr:eu-south-1:<account>:repository/aws-for-fluent-bit')."
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"), ("ap-southeast-6", "aws")],
)
def test_the_repository_a_missing_region_needs_is_shown_in_its_partition(
    app: cdk.App, region: str, partition: str
) -> None:
    assert region not in GUARDDUTY_AGENT_ACCOUNTS
    stack = cdk.Stack(app, "Far", env=cdk.Environment(account=ACCOUNT, region=region))
    with pytest.raises(ExecutionRoleError) as raised:
        MinimalExecutionRole(stack, "Role", guardduty_runtime_monitoring=True)
    assert str(raised.value).endswith(
        f"'arn:{partition}:ecr:{region}:<account>:repository/aws-guardduty-agent-fargate')."
    )
