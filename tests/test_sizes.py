"""Sizes: every managed policy, resolved as CloudFormation deploys it, within IAM's quota.

The packing bound must be sound (never below what IAM counts once every intrinsic has its
value) and tight (an unresolved ARN counts at most as its kind's longest ARN).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole
from ecs_exec_roles._packing import MANAGED_POLICY_MAX_CHARS
from testkit.cfn import Environment, resolve

ACCOUNT = "123456789012"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))


def _policy_sizes(stack: cdk.Stack, refs: dict[str, str] | None = None) -> list[int]:
    """The compact size of each managed policy of the stack, with every intrinsic resolved."""
    template = cdk.App.of(stack).synth().get_stack_by_name(stack.stack_name).template  # type: ignore[union-attr]
    environment = Environment(refs=refs or {})
    return [
        len(
            json.dumps(
                resolve(r["Properties"]["PolicyDocument"], environment), separators=(",", ":")
            )
        )
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def _key(stack: cdk.Stack, index: int, region: str) -> kms.IKey:
    key_id = f"{index:08d}-1111-2222-3333-444444444444"
    return kms.Key.from_key_arn(
        stack, f"Key{index}", f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"
    )


def test_many_keys_of_one_region_fit_with_their_condition_counted() -> None:
    stack = _stack()
    SharedExecutionRole(stack, "Role", keys=[_key(stack, i, "eu-west-1") for i in range(76)])
    sizes = _policy_sizes(stack)
    assert len(sizes) == 2
    assert max(sizes) <= MANAGED_POLICY_MAX_CHARS


def test_keys_of_many_regions_fit_with_a_condition_per_region() -> None:
    stack = _stack()
    regions = [f"ap-southeast-{i}" for i in range(30)]
    SharedExecutionRole(stack, "Role", keys=[_key(stack, i, r) for i, r in enumerate(regions)])
    sizes = _policy_sizes(stack)
    assert max(sizes) <= MANAGED_POLICY_MAX_CHARS


def _long_tags(count: int) -> dict[str, str]:
    return {f"k{index:02d}" + "x" * 125: "v" * 256 for index in range(count)}


def test_long_resource_tags_are_spread_over_policies_that_fit() -> None:
    stack = _stack()
    SharedExecutionRole(stack, "Role", resource_tags=_long_tags(8))
    sizes = _policy_sizes(stack)
    assert len(sizes) == 3
    assert max(sizes) <= MANAGED_POLICY_MAX_CHARS


def test_fails_when_one_tag_statement_is_larger_than_a_policy() -> None:
    stack = _stack()
    SharedExecutionRole(stack, "Role", resource_tags=_long_tags(16))
    with pytest.raises(RuntimeError) as raised:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]
    message = str(raised.value)
    assert "S/Role: the statement SecretsReadByTag for resource_tags {" in message
    assert "with the one resource arn:<AWS::Partition>:secretsmanager:eu-west-1:" in message
    assert "more than a managed policy holds (6144)" in message
    assert "Make it smaller through `resource_tags`: fewer or shorter tags." in message
    # One message for each statement too large, none about the number of policies.
    assert "ParametersReadByTag" in message and "KmsDecryptByTag" in message
    assert "managed policies of 6144" not in message


def _parameters_of_unresolved_parts(stack: cdk.Stack, parts: int) -> list[ssm.IParameter]:
    values = [cdk.CfnParameter(stack, f"Part{j}").value_as_string for j in range(parts)]
    return [
        ssm.StringParameter.from_string_parameter_attributes(
            stack,
            f"Param{index}",
            parameter_name="/" + "/".join(values) + f"/p{index}",
            simple_name=False,
        )
        for index in range(12)
    ]


@pytest.mark.parametrize("parts", [2, 7])
def test_a_name_of_several_unresolved_parts_counts_once_at_the_longest_arn(parts: int) -> None:
    stack = _stack()
    MinimalExecutionRole(stack, "Role", parameters=_parameters_of_unresolved_parts(stack, parts))
    # Each parameter ARN counts at most 1,011 characters (SSM's longest ARN), however many
    # parts are unknown: 12 of them take 3 policies, not one per 2 or a crash.
    refs = {f"Part{j}": "x" * (1011 // parts - 40) for j in range(parts)}
    sizes = _policy_sizes(stack, refs)
    assert len(sizes) == 3
    assert max(sizes) <= MANAGED_POLICY_MAX_CHARS
