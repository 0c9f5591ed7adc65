"""MinimalExecutionRole: exactly the actions ECS needs, on exactly the given resources."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Match, Template
from helpers import policy_statements, resources_of_type, role_logical_id, template_json

from ecs_exec_roles import MinimalExecutionRole

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _imported(stack: cdk.Stack) -> dict[str, object]:
    return {
        "repositories": [ecr.Repository.from_repository_name(stack, "Repo", "api")],
        "log_groups": [logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")],
        "secrets": [secretsmanager.Secret.from_secret_name_v2(stack, "Db", "api/db")],
        "parameters": [ssm.StringParameter.from_string_parameter_name(stack, "Flag", "/api/flag")],
        "keys": [kms.Key.from_key_arn(stack, "Key", KEY_ARN)],
    }


def test_env_stack_statements_are_exact(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", **_imported(env_stack))  # type: ignore[arg-type]
    template = template_json(env_stack)
    statements = policy_statements(template, role_logical_id(env_stack, role))
    assert statements == [
        {
            "Sid": "EcrAuthorizationToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "EcrImagePull",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":ecr:eu-west-1:123456789012:repository/api",
                    ],
                ]
            },
        },
        {
            "Sid": "LogsWrite",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:eu-west-1:123456789012:log-group:/ecs/api:*",
                    ],
                ]
            },
        },
        {
            "Sid": "SecretsRead",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":secretsmanager:eu-west-1:123456789012:secret:api/db-??????",
                    ],
                ]
            },
        },
        {
            "Sid": "ParametersRead",
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":ssm:eu-west-1:123456789012:parameter/api/flag",
                    ],
                ]
            },
        },
        {
            "Sid": "KmsDecryptViaSecretsManagerAndSsm",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY_ARN,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [
                        {
                            "Fn::Join": [
                                "",
                                ["secretsmanager.eu-west-1.", {"Ref": "AWS::URLSuffix"}],
                            ]
                        },
                        {"Fn::Join": ["", ["ssm.eu-west-1.", {"Ref": "AWS::URLSuffix"}]]},
                    ]
                }
            },
        },
    ]


def test_permissions_live_in_one_customer_managed_policy(stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(stack, "Api", **_imported(stack))  # type: ignore[arg-type]
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy", {"Roles": [{"Ref": role_logical_id(stack, role)}]}
    )
    template.has_resource_properties("AWS::IAM::Role", {"Policies": Match.absent()})


def test_role_without_resources_has_no_policy(stack: cdk.Stack) -> None:
    MinimalExecutionRole(stack, "Empty")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::Role", 1)


def test_only_the_ecs_subset_of_each_service(stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(stack, "Api", **_imported(stack))  # type: ignore[arg-type]
    actions = set()
    for statement in policy_statements(template_json(stack), role_logical_id(stack, role)):
        value = statement["Action"]
        actions.update(value if isinstance(value, list) else [value])
    assert actions == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameters",
        "kms:Decrypt",
    }


def test_secret_with_key_adds_decrypt_through_secrets_manager_only(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    secret = secretsmanager.Secret(stack, "Db", encryption_key=key)
    role = MinimalExecutionRole(stack, "Api", secrets=[secret])
    statements = policy_statements(template_json(stack), role_logical_id(stack, role))
    assert statements[0] == {
        "Sid": "SecretsRead",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": stack.get_logical_id(secret.node.default_child)},  # type: ignore[arg-type]
    }
    assert statements[1]["Sid"] == "KmsDecryptViaSecretsManager"
    assert statements[1]["Resource"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]  # type: ignore[arg-type]
    }
    assert statements[1]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {
                "Fn::Join": [
                    "",
                    ["secretsmanager.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}],
                ]
            }
        }
    }


def test_partial_secret_arn_matches_exactly_the_six_character_suffix(env_stack: cdk.Stack) -> None:
    partial = secretsmanager.Secret.from_secret_partial_arn(
        env_stack, "Partial", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/pass"
    )
    complete = secretsmanager.Secret.from_secret_complete_arn(
        env_stack, "Complete", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf"
    )
    role = MinimalExecutionRole(env_stack, "Api", secrets=[partial, complete])
    (statement,) = policy_statements(template_json(env_stack), role_logical_id(env_stack, role))
    assert statement["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/pass-??????",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf",
    ]


def test_parameter_names_with_and_without_leading_slash(env_stack: cdk.Stack) -> None:
    with_slash = ssm.StringParameter.from_string_parameter_name(env_stack, "A", "/app/a")
    without_slash = ssm.StringParameter.from_string_parameter_name(env_stack, "B", "plain")
    role = MinimalExecutionRole(env_stack, "Api", parameters=[with_slash, without_slash])
    (statement,) = policy_statements(template_json(env_stack), role_logical_id(env_stack, role))
    flat = [
        "".join(p if isinstance(p, str) else "<P>" for p in r["Fn::Join"][1])
        for r in statement["Resource"]
    ]
    assert flat == [
        "arn:<P>:ssm:eu-west-1:123456789012:parameter/app/a",
        "arn:<P>:ssm:eu-west-1:123456789012:parameter/plain",
    ]


def test_duplicates_are_removed(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    same = ecr.Repository.from_repository_name(stack, "Again", "api")
    role = MinimalExecutionRole(stack, "Api", repositories=[repository, same, repository])
    statements = policy_statements(template_json(stack), role_logical_id(stack, role))
    assert not isinstance(statements[1]["Resource"], list)


def test_fargate_task_definition_adds_nothing_to_the_role(stack: cdk.Stack) -> None:
    resources = _imported(stack)
    role = MinimalExecutionRole(stack, "Api", **resources)  # type: ignore[arg-type]
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(resources["repositories"][0]),  # type: ignore[index]
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=resources["log_groups"][0]),  # type: ignore[index]
        secrets={
            "DB": ecs.Secret.from_secrets_manager(resources["secrets"][0], "password"),  # type: ignore[index]
            "FLAG": ecs.Secret.from_ssm_parameter(resources["parameters"][0]),  # type: ignore[index]
        },
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    assert len(resources_of_type(template.to_json(), "AWS::IAM::ManagedPolicy")) == 1
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ExecutionRoleArn": {"Fn::GetAtt": [role_logical_id(stack, role), "Arn"]}},
    )
    statements = policy_statements(template.to_json(), role_logical_id(stack, role))
    assert [s["Sid"] for s in statements] == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "ParametersRead",
        "KmsDecryptViaSecretsManagerAndSsm",
    ]


def test_ec2_task_definition_adds_nothing_to_the_role(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    role = MinimalExecutionRole(stack, "Api", repositories=[repository])
    task = ecs.Ec2TaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app", image=ecs.ContainerImage.from_ecr_repository(repository), memory_limit_mib=256
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)


def test_role_options_are_passed_to_the_role(stack: cdk.Stack) -> None:
    from aws_cdk import aws_iam as iam

    boundary = iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "ecs-boundary")
    MinimalExecutionRole(
        stack,
        "Api",
        role_name="api-execution",
        path="/ecs/",
        permissions_boundary=boundary,
        description="Execution role of the API service",
    )
    # A boundary the app does not define cannot be evaluated: the finding is acknowledged.
    boundary_arn = "arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/ecs-boundary"
    cdk.Validations.of(stack).acknowledge(
        cdk.Acknowledgment(
            id=f"ecs-exec-roles::BoundaryNotEvaluated[{boundary_arn}]",
            reason="The account's boundary allows what ECS needs.",
        )
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "api-execution",
            "Path": "/ecs/",
            "Description": "Execution role of the API service",
            "PermissionsBoundary": Match.any_value(),
        },
    )


def test_role_arn_name_and_grant_pass_role(stack: cdk.Stack) -> None:
    from aws_cdk import aws_iam as iam

    role = MinimalExecutionRole(stack, "Api")
    logical_id = role_logical_id(stack, role)
    assert stack.resolve(role.role_arn) == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert stack.resolve(role.role_name) == {"Ref": logical_id}
    deployer = iam.User(stack, "Deployer")
    grant = role.grant_pass_role(deployer)
    assert grant.success
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "iam:PassRole",
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [logical_id, "Arn"]},
                    }
                ],
                "Version": "2012-10-17",
            },
            "Users": [{"Ref": Match.any_value()}],
        },
    )
