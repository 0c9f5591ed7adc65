"""StarterExecutionRole: the AWS managed policy plus exactly the extras it lacks."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Match, Template
from helpers import policy_statements, role_logical_id, template_json

from ecs_exec_roles import StarterExecutionRole

MANAGED_POLICY_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        ],
    ]
}


def test_attaches_the_aws_managed_policy_only(stack: cdk.Stack) -> None:
    StarterExecutionRole(stack, "Demo")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": [MANAGED_POLICY_ARN]})
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_extras_go_to_one_customer_managed_policy(env_stack: cdk.Stack) -> None:
    secret = secretsmanager.Secret.from_secret_name_v2(env_stack, "Db", "demo/db")
    parameter = ssm.StringParameter.from_string_parameter_name(env_stack, "Flag", "demo-flag")
    key = kms.Key.from_key_arn(
        env_stack,
        "Key",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    role = StarterExecutionRole(
        env_stack, "Demo", secrets=[secret], parameters=[parameter], keys=[key]
    )
    template = template_json(env_stack)
    statements = policy_statements(template, role_logical_id(env_stack, role))
    assert [s["Sid"] for s in statements] == [
        "SecretsRead",
        "ParametersRead",
        "KmsDecryptViaSecretsManagerAndSsm",
    ]
    assert all(
        "ecr:" not in str(s["Action"]) and "logs:" not in str(s["Action"]) for s in statements
    )
    Template.from_stack(env_stack).has_resource_properties(
        "AWS::IAM::Role",
        {"ManagedPolicyArns": Match.array_equals([MANAGED_POLICY_ARN])},
    )


def test_gov_cloud_partition_arn_comes_from_the_partition_token(app: cdk.App) -> None:
    stack = cdk.Stack(
        app, "Gov", env=cdk.Environment(account="123456789012", region="us-gov-west-1")
    )
    StarterExecutionRole(stack, "Demo")
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role", {"ManagedPolicyArns": [MANAGED_POLICY_ARN]}
    )
