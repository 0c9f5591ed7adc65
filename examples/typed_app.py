"""A small app written as a team with a type checker writes it: the constructs go where
aws-cdk-lib expects an ``iam.IRole``, and props it has no value for are ``None``.

``tests/test_user_typing.py`` checks it with mypy and pyright and synthesizes it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole


class ServiceStack(cdk.Stack):
    """An API task definition, a load-balanced worker service and a batch task definition,
    each given its execution role construct."""

    def __init__(self, scope: Construct, id: str, *, stream_prefix: str | None = None) -> None:
        super().__init__(scope, id)
        repository = ecr.Repository.from_repository_name(self, "Repo", "team/api")
        database = secretsmanager.Secret.from_secret_name_v2(self, "Db", "prod/api/db")

        # Props the app has no value for are None, as it would leave them in aws-cdk-lib.
        api = MinimalExecutionRole(
            self,
            "ApiExecutionRole",
            secrets=[database],
            log_groups=None,
            log_stream_prefixes=[stream_prefix] if stream_prefix else None,
        )
        task = ecs.FargateTaskDefinition(self, "Api", execution_role=api)
        task.add_container(
            "api",
            image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=stream_prefix or "api"),
            secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(database)},
        )

        workers = SharedExecutionRole(self, "WorkersExecutionRole", resource_tags=None)
        ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Workers",
            cluster=ecs.Cluster(self, "Cluster", vpc=ec2.Vpc(self, "Vpc", max_azs=2)),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
                execution_role=workers,
            ),
        )

        batch = StarterExecutionRole(self, "BatchExecutionRole", secrets=None)
        ecs.FargateTaskDefinition(self, "Batch", execution_role=batch).add_container(
            "batch", image=ecs.ContainerImage.from_ecr_repository(repository, "v1")
        )

        # Where the app hands roles around: a list of roles, a grant, PassRole for a deployer.
        roles: list[iam.IRole] = [api, workers, batch]
        repository.grant_pull(api)
        deployer = iam.User(self, "Deployer")
        for role in roles:
            role.grant_pass_role(deployer)
        batch.grant_pass_role(identity=deployer)


def build() -> cdk.App:
    app = cdk.App()
    ServiceStack(app, "Typed")
    return app


if __name__ == "__main__":
    build().synth()
