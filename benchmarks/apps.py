"""The CDK apps every benchmark builds: task families on our roles and on aws-cdk-lib's.

A task family is one Fargate task definition whose only container pulls its image from one
ECR repository, ships ``awslogs`` output to one log group and reads one Secrets Manager
secret. All three are imported by name into a stack with a concrete account and region, the
way most services reference shared resources.

The realistic app (``SERVICE_SCENARIOS``) is what a team deploys: one VPC, one cluster and N
``ApplicationLoadBalancedFargateService``, each with its own ECR repository, log group, secret
and SSM parameter created in the same environment-agnostic stack.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

if TYPE_CHECKING:
    from ecs_exec_roles import SharedExecutionRole

__all__ = [
    "ACCOUNT",
    "PARTITION",
    "REGION",
    "SERVICE_SCENARIOS",
    "STACK_NAME",
    "Family",
    "build_app",
    "build_service_app",
    "family",
    "family_arns",
    "synth_template",
]

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
STACK_NAME = "Bench"
MINIMIZE_POLICIES_FLAG = "@aws-cdk/aws-iam:minimizePolicies"
# Each family is two resources (its task definition and the task role CDK creates for it),
# so 250 families reach CloudFormation's 500 resources per stack. The benchmarks measure the
# execution role, which does not depend on how the task definitions are spread over stacks,
# so the check is turned off (0) rather than splitting the app into several stacks.
STACK_RESOURCE_LIMIT_CONTEXT = "@aws-cdk/core:stackResourceLimit"

# What each kind of scenario gives the task definitions as execution role.
SCENARIOS = (
    "ours-shared",  # one SharedExecutionRole for all families, named in props (derive=False)
    "ours-minimal",  # one MinimalExecutionRole per family, named in props (derive=False)
    "ours-shared-derived",  # one SharedExecutionRole with no props, derived from the tasks
    "ours-minimal-derived",  # one MinimalExecutionRole per family, with no props
    "cdk-shared",  # one iam.Role for all families; CDK adds the grants to it
    "cdk-auto",  # no execution_role: CDK creates one role per task definition
)
# The most services of the realistic app one stack holds within CloudFormation's 500 resources.
_SERVICES_PER_STACK = 30
# The realistic app: N load-balanced services, each on its own execution role.
SERVICE_SCENARIOS = (
    "ours-service",  # a MinimalExecutionRole per service, naming its resources (derive=False)
    "ours-service-derived",  # a MinimalExecutionRole per service, with no props
    "ours-service-hardened",  # aws-cdk-lib's automatic roles, HardenExecutionRoles on the app
    "cdk-service",  # no execution_role: aws-cdk-lib's automatic role per service
)


@dataclass(frozen=True)
class Family:
    """The names one task family's resources are imported by."""

    index: int
    repository_name: str
    log_group_name: str
    secret_name: str


def family(index: int) -> Family:
    return Family(
        index,
        repository_name=f"service-{index:03d}",
        log_group_name=f"/ecs/service-{index:03d}",
        secret_name=f"service-{index:03d}/app",
    )


def family_arns(item: Family) -> tuple[str, str, str]:
    """The ARNs the execution role must name for one family, at their tightest.

    The log group ARN ends in ``:*`` (the streams of the group; ``awslogs`` names streams only
    at launch) and the secret imported by name ends in ``-??????`` (its random suffix).
    """
    prefix = f"arn:{PARTITION}"
    return (
        f"{prefix}:ecr:{REGION}:{ACCOUNT}:repository/{item.repository_name}",
        f"{prefix}:logs:{REGION}:{ACCOUNT}:log-group:{item.log_group_name}:*",
        f"{prefix}:secretsmanager:{REGION}:{ACCOUNT}:secret:{item.secret_name}-??????",
    )


def _ours() -> Any:
    """The library, imported only by the scenarios that use it: a process timing
    aws-cdk-lib's own roles loads nothing of it, as an app without it would not."""
    import ecs_exec_roles

    return ecs_exec_roles


def build_app(
    scenario: str,
    families: int,
    *,
    minimize_policies: bool = False,
    max_managed_policies: int | None = None,
    outdir: str | None = None,
) -> cdk.App:
    """An app with one stack holding ``families`` task families on the given scenario (for
    a scenario of ``SERVICE_SCENARIOS``, that many load-balanced services)."""
    if scenario in SERVICE_SCENARIOS:
        return build_service_app(scenario, families, outdir=outdir)
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r} is not one of {SCENARIOS + SERVICE_SCENARIOS}")
    app = cdk.App(
        outdir=outdir,
        context={MINIMIZE_POLICIES_FLAG: minimize_policies, STACK_RESOURCE_LIMIT_CONTEXT: 0},
        analytics_reporting=False,
    )
    stack = cdk.Stack(app, STACK_NAME, env=cdk.Environment(account=ACCOUNT, region=REGION))
    # The same reason: acknowledge aws-cdk-lib's built-in template check of the resource count.
    cdk.Validations.of(stack).acknowledge(
        cdk.Acknowledgment(
            id="CloudFormation-Validate::F0007",
            reason="benchmark stack: the execution role is measured, not the stack's size",
        )
    )
    shared_role: iam.IRole | None = None
    shared: SharedExecutionRole | None = None
    minimal_role = _ours().MinimalExecutionRole if scenario.startswith("ours-") else None
    derived = scenario.endswith("-derived")
    if scenario.startswith("ours-shared"):
        extra: dict[str, Any] = {"derive": derived}
        if max_managed_policies is not None:
            extra["max_managed_policies"] = max_managed_policies
        shared = _ours().SharedExecutionRole(stack, "ExecutionRole", **extra)
        shared_role = shared.role
    elif scenario == "cdk-shared":
        shared_role = iam.Role(
            stack, "ExecutionRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        )
    for index in range(families):
        names = family(index)
        repository = ecr.Repository.from_repository_name(
            stack, f"Repo{index}", names.repository_name
        )
        log_group = logs.LogGroup.from_log_group_name(stack, f"Logs{index}", names.log_group_name)
        secret = secretsmanager.Secret.from_secret_name_v2(
            stack, f"Secret{index}", names.secret_name
        )
        role: iam.IRole | None = shared_role
        if shared is not None and not derived:
            shared.add_resources(
                repositories=[repository], log_groups=[log_group], secrets=[secret]
            )
        elif scenario == "ours-minimal":
            role = minimal_role(
                stack,
                f"ExecutionRole{index}",
                repositories=[repository],
                log_groups=[log_group],
                secrets=[secret],
                derive=False,
            ).role
        elif scenario == "ours-minimal-derived":
            role = minimal_role(stack, f"ExecutionRole{index}").role
        task_definition = ecs.FargateTaskDefinition(
            stack, f"Task{index}", cpu=256, memory_limit_mib=512, execution_role=role
        )
        task_definition.add_container(
            "App",
            image=ecs.ContainerImage.from_ecr_repository(repository, tag="1.0.0"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=log_group),
            secrets={"APP_SECRET": ecs.Secret.from_secrets_manager(secret)},
        )
    return app


def build_service_app(scenario: str, services: int, *, outdir: str | None = None) -> cdk.App:
    """The realistic app: one VPC, one cluster and ``services`` load-balanced Fargate
    services, each with its own repository, log group, secret and parameter."""
    if scenario not in SERVICE_SCENARIOS:
        raise ValueError(f"scenario {scenario!r} is not one of {SERVICE_SCENARIOS}")
    minimal_role = _ours().MinimalExecutionRole if scenario.startswith("ours-") else None
    # A service is about 16 resources, so 31 reach CloudFormation's 500 per stack; the call
    # counts go further (50 services), on both sides alike.
    app = cdk.App(
        outdir=outdir,
        context={STACK_RESOURCE_LIMIT_CONTEXT: 0} if services > _SERVICES_PER_STACK else {},
        analytics_reporting=False,
    )
    # Environment-agnostic, as `cdk init` makes it.
    stack = cdk.Stack(app, STACK_NAME)
    if services > _SERVICES_PER_STACK:
        cdk.Validations.of(stack).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::F0007",
                reason="benchmark stack: the execution roles are measured, not the stack's size",
            )
        )
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2))
    for index in range(services):
        name = f"service-{index:03d}"
        repository = ecr.Repository(stack, f"Repo{index}", repository_name=name)
        log_group = logs.LogGroup(
            stack,
            f"Logs{index}",
            log_group_name=f"/ecs/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        secret = secretsmanager.Secret(stack, f"Secret{index}", secret_name=f"{name}/db")
        parameter = ssm.StringParameter(
            stack,
            f"Flag{index}",
            parameter_name=f"/{name}/feature-flag",
            string_value="on",
        )
        execution_role: iam.IRole | None = None
        if scenario == "ours-service":
            execution_role = minimal_role(
                stack,
                f"ExecutionRole{index}",
                repositories=[repository],
                log_groups=[log_group],
                secrets=[secret],
                parameters=[parameter],
                derive=False,
            ).role
        elif scenario == "ours-service-derived":
            execution_role = minimal_role(stack, f"ExecutionRole{index}").role
        ecs_patterns.ApplicationLoadBalancedFargateService(
            stack,
            f"Service{index}",
            cluster=cluster,
            cpu=256,
            memory_limit_mib=512,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(repository, tag="1.0.0"),
                container_port=8080,
                execution_role=execution_role,
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=log_group),
                secrets={
                    "DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password"),
                    "FEATURE_FLAG": ecs.Secret.from_ssm_parameter(parameter),
                },
            ),
        )
    if scenario == "ours-service-hardened":
        cdk.Aspects.of(app).add(_ours().HardenExecutionRoles())
    return app


def synth_template(app: cdk.App) -> dict[str, Any]:
    """Synthesize ``app`` and return the benchmark stack's template."""
    assembly = app.synth()
    return dict(assembly.get_stack_by_name(STACK_NAME).template)


def synth_scenario(scenario: str, families: int, **kwargs: Any) -> dict[str, Any]:
    """Build and synthesize a scenario into a throwaway directory; return the template."""
    with tempfile.TemporaryDirectory(prefix="bench-cdk-out-") as outdir:
        return synth_template(build_app(scenario, families, outdir=outdir, **kwargs))
