"""The Python twin of app.js: the same stack, constructs and construct IDs.

tests/test_js_app.py checks that the two synthesize the same template.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def build(app: cdk.App) -> cdk.Stack:
    """The ``JsAudit`` stack of app.js, in ``app``."""
    stack = cdk.Stack(app, "JsAudit", env=cdk.Environment(account=ACCOUNT, region=REGION))

    # A task definition whose execution role aws-cdk-lib makes, with the grants it adds.
    repo = ecr.Repository(stack, "Repo")
    secret = secretsmanager.Secret(stack, "Db")
    web = ecs.FargateTaskDefinition(stack, "Web")
    web.add_container(
        "web",
        image=ecs.ContainerImage.from_ecr_repository(repo, "1.0"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="web"),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )

    # A hand-written execution role: trust without conditions, the AWS managed policy and an
    # inline policy on every resource.
    hand_role = iam.Role(
        stack,
        "HandRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonECSTaskExecutionRolePolicy"
            )
        ],
        inline_policies={
            "Secrets": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        resources=["*"],
                    )
                ]
            )
        },
    )
    worker_logs = logs.LogGroup(stack, "WorkerLogs")
    token = ssm.StringParameter.from_secure_string_parameter_attributes(
        stack, "Token", parameter_name="/app/token", version=1
    )
    bucket = s3.Bucket(stack, "Config")
    worker = ecs.FargateTaskDefinition(stack, "Worker", execution_role=hand_role)
    worker.add_container(
        "worker",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:latest"),
        logging=ecs.LogDrivers.aws_logs(log_group=worker_logs, stream_prefix="worker"),
        secrets={"TOKEN": ecs.Secret.from_ssm_parameter(token)},
        environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "worker.env")],
    )
    return stack


if __name__ == "__main__":
    main_app = cdk.App()
    build(main_app)
    main_app.synth()
