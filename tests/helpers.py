"""Small helpers to read our roles out of synthesized templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs import IConstruct

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._props import RoleOptions

# Each way an app gets an execution role: a construct, its role derived or named by props only
# (``<kind>-derived``, ``<kind>-props``), or aws-cdk-lib's own role hardened by the aspect.
ROLE_MODES = [
    "minimal-derived",
    "minimal-props",
    "shared-derived",
    "shared-props",
    "starter-derived",
    "starter-props",
    "harden",
]
ROLE_CONSTRUCTS: dict[str, Any] = {
    "minimal": MinimalExecutionRole,
    "shared": SharedExecutionRole,
    "starter": StarterExecutionRole,
}


def template_json(stack: cdk.Stack) -> dict[str, Any]:
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def policy_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """All statements of the customer-managed policies attached to a role, in order."""
    statements: list[dict[str, Any]] = []
    for logical_id in sorted(resources_of_type(template, "AWS::IAM::ManagedPolicy")):
        properties = template["Resources"][logical_id]["Properties"]
        if {"Ref": role_logical_id} in properties.get("Roles", []):
            statements.extend(properties["PolicyDocument"]["Statement"])
    return statements


def role_logical_id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.role.node.default_child)


def role_options(max_managed_policies: int = 10) -> RoleOptions:
    """The default options of a role at ``Stack/Role``, checked."""
    return RoleOptions.checked(
        "Stack/Role",
        role_name=None,
        path=None,
        permissions_boundary=None,
        description=None,
        trust_conditions=True,
        trust_all_regions=False,
        max_managed_policies=max_managed_policies,
    )


# The request context of an S3 read of a bucket the tests' account (123456789012) owns: the
# library pins every S3 read to its bucket's owner (aws:ResourceAccount).
OWNED = {"aws:ResourceAccount": "123456789012"}

# Concrete values for the resources of a synthesized template, by type: what a deployment
# would give their Ref and Fn::GetAtt, for the IAM evaluator. Names are the logical IDs.
_ARN = "arn:aws:{service}:eu-west-1:123456789012:{resource}"
_CONCRETE: dict[str, tuple[str, str]] = {
    # type: (Ref, Arn)
    "AWS::Logs::LogGroup": ("{id}", _ARN.format(service="logs", resource="log-group:{id}:*")),
    "AWS::ECR::Repository": ("{lower}", _ARN.format(service="ecr", resource="repository/{lower}")),
    "AWS::SecretsManager::Secret": (
        _ARN.format(service="secretsmanager", resource="secret:{id}-AbCdEf"),
        "",
    ),
    "AWS::SSM::Parameter": ("{id}", ""),
    "AWS::KMS::Key": ("{id}", _ARN.format(service="kms", resource="key/{id}")),
    "AWS::S3::Bucket": ("{lower}", "arn:aws:s3:::{lower}"),
}


def concrete_environment(*templates: dict[str, Any]) -> Any:
    """An evaluator environment giving each resource of ``templates`` a concrete name/ARN."""
    from iam_eval import Environment

    refs: dict[str, str] = {}
    attributes: dict[str, dict[str, str]] = {}
    for template in templates:
        for logical_id, resource in template.get("Resources", {}).items():
            ref, arn = _CONCRETE.get(resource["Type"], ("{id}", "arn:aws:x:::{id}"))
            values = {"id": logical_id, "lower": logical_id.lower()}
            refs[logical_id] = ref.format(**values)
            attributes[logical_id] = {"Arn": arn.format(**values)} if arn else {}
        for logical_id in template.get("Parameters", {}):
            refs[logical_id] = f"parameter-{logical_id}"
    return Environment(refs=refs, attributes=attributes)


def concrete_name(logical_id: str, type_name: str) -> str:
    """The concrete Ref of a resource, as ``concrete_environment`` gives it."""
    ref = _CONCRETE.get(type_name, ("{id}", ""))[0]
    return ref.format(id=logical_id, lower=logical_id.lower())


@jsii.implements(cdk.IStableStringProducer)
class _Later:
    def __init__(self, value: str) -> None:
        self._value = value

    def produce(self) -> str:
        return self._value


def lazy(value: str) -> str:
    """``value`` as a string known only at synth (a ``Lazy`` token)."""
    return cdk.Lazy.string(_Later(value))


@jsii.implements(cdk.IAspect)
class AddAgent:
    """A sidecar injector: an X-Ray-like agent with its own log group, in every task."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ecs.TaskDefinition) and node.find_container("agent") is None:
            node.add_container(
                "agent",
                image=ecs.ContainerImage.from_registry(
                    "210987654321.dkr.ecr.eu-west-1.amazonaws.com/agents/trace:3"
                ),
                memory_limit_mib=128,
                logging=ecs.LogDrivers.aws_logs(
                    stream_prefix="agent",
                    log_group=logs.LogGroup.from_log_group_name(node, "AgentLogs", "/ecs/agent"),
                ),
            )


def api_task(stack: cdk.Stack, role: Any, family: str = "api") -> ecs.FargateTaskDefinition:
    """A task definition pulling from team/api and logging to /ecs/api under ``api``."""
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role, family=family)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(stack, "Repo", "team/api"), "v1"
        ),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="api",
            log_group=logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api"),
        ),
    )
    return task


def managed_policy_role(scope: IConstruct, id: str = "Role") -> iam.Role:
    """An execution role as many apps make it: ``AmazonECSTaskExecutionRolePolicy`` attached."""
    return iam.Role(
        scope,
        id,
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonECSTaskExecutionRolePolicy"
            )
        ],
    )


def role_allows(stack: cdk.Stack, role: Any) -> tuple[Callable[[str, str], bool], dict[str, Any]]:
    """Whether the synthesized ``role`` (a construct of the library, or an ``iam.Role``) allows
    an action on a resource, as the IAM evaluator decides; and the stack's template."""
    from iam_eval import is_allowed, role_policies

    template = Template.from_stack(stack).to_json()
    logical_id = (
        role_logical_id(stack, role)
        if hasattr(role, "role")
        else stack.get_logical_id(role.node.default_child)
    )
    policies = role_policies(template, logical_id, concrete_environment(template))
    return (lambda action, resource: is_allowed(policies, action, resource, {})), template


def l1_execution_role(how: str) -> tuple[cdk.App, cdk.Stack, Any]:
    """An app, its stack ``S`` (123456789012/eu-west-1) and an execution role for L1 resources
    that name it by ARN: ``derived`` (a ``MinimalExecutionRole``) or ``hardened`` (a role with
    the AWS managed policy, under ``HardenExecutionRoles``)."""
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    if how == "derived":
        return app, stack, MinimalExecutionRole(stack, "Role")
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    return app, stack, managed_policy_role(stack, "Role")


def fargate_job(
    stack: cdk.Stack,
    id: str,
    container_id: str,
    *,
    execution_role: Any = None,
    job_definition_name: str | None = None,
) -> batch.EcsJobDefinition:
    """An AWS Batch job on Fargate with a public image and Batch's default logging."""
    return batch.EcsJobDefinition(
        stack,
        id,
        job_definition_name=job_definition_name,
        container=batch.EcsFargateContainerDefinition(
            stack,
            container_id,
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
            cpu=1,
            memory=cdk.Size.gibibytes(2),
            execution_role=execution_role,
        ),
    )
