"""Image pulls only through the app's ECR interface endpoints or VPCs (``ecr_pull_endpoints``,
``ecr_pull_vpcs``): ``aws:SourceVpce`` / ``aws:SourceVpc`` on the pull statement."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from iam_eval import is_allowed

from ecs_exec_roles import ExecutionRoleError, HardenExecutionRoles, MinimalExecutionRole

ACCOUNT = "123456789012"
REPOSITORY = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/api"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))


def _endpoint(stack: cdk.Stack, name: str, endpoint_id: str) -> ec2.IInterfaceVpcEndpoint:
    return ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        stack, name, vpc_endpoint_id=endpoint_id, port=443
    )


def _statements(stack: cdk.Stack, role: Any = None) -> dict[str, Any]:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    task.add_container("api", image=ecs.ContainerImage.from_ecr_repository(repository))
    template = cdk.App.of(stack).synth().get_stack_by_name("S").template  # type: ignore[union-attr]
    return {
        s["Sid"]: s
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    }


def _resolved(statement: dict[str, Any]) -> dict[str, Any]:
    resource = statement["Resource"]
    if isinstance(resource, dict):
        parts = resource["Fn::Join"][1]
        resource = "".join("aws" if isinstance(p, dict) else p for p in parts)
    return {**statement, "Resource": resource}


def test_pulls_come_only_through_the_endpoints_the_token_from_anywhere() -> None:
    stack = _stack()
    endpoints = [_endpoint(stack, "A", "vpce-0a"), _endpoint(stack, "B", "vpce-0b")]
    statements = _statements(
        stack, MinimalExecutionRole(stack, "Role", ecr_pull_endpoints=endpoints)
    )
    pull = statements["EcrImagePull"]
    assert pull["Condition"] == {"StringEquals": {"aws:SourceVpce": ["vpce-0a", "vpce-0b"]}}
    assert "Condition" not in statements["EcrAuthorizationToken"]
    policy = [{"Version": "2012-10-17", "Statement": [_resolved(pull)]}]
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        assert is_allowed(policy, action, REPOSITORY, {"aws:SourceVpce": "vpce-0b"})
        assert not is_allowed(policy, action, REPOSITORY, {"aws:SourceVpce": "vpce-0c"})
        assert not is_allowed(policy, action, REPOSITORY)


def test_pulls_from_a_vpc_and_under_the_aspect() -> None:
    stack = _stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1234", availability_zones=["eu-west-1a"]
    )
    cdk.Aspects.of(stack).add(HardenExecutionRoles(ecr_pull_vpcs=[vpc]))
    pull = _statements(stack)["EcrImagePull"]
    assert pull["Condition"] == {"StringEquals": {"aws:SourceVpc": "vpc-1234"}}


@pytest.mark.parametrize(
    ("prop", "value", "words"),
    [
        (
            "ecr_pull_endpoints",
            ["vpce-0a"],
            "ecr_pull_endpoints[0] is 'vpce-0a' (str), not an ec2.IInterfaceVpcEndpoint",
        ),
        ("ecr_pull_vpcs", ["vpc-1234"], "ecr_pull_vpcs[0] is 'vpc-1234' (str), not an ec2.IVpc"),
        ("ecr_pull_vpcs", "vpc-1234", "ecr_pull_vpcs is 'vpc-1234' (str), not a sequence"),
    ],
)
def test_ids_instead_of_objects_fail_at_construction(prop: str, value: Any, words: str) -> None:
    with pytest.raises(ExecutionRoleError, match="S/Role: ") as raised:
        MinimalExecutionRole(_stack(), "Role", **{prop: value})
    assert words in str(raised.value)
