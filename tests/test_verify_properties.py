"""Property tests of the verification: generated apps whose task definitions are then changed
by an escape hatch or by a later aspect, and generated roles widened from outside.

After a change, either synth passes and the deployed role allows every need the synthesized
task definition has (by a model of ECS's requests written here, independent of the library's
reader, evaluated with IAM's evaluation), or synth fails naming a need the role does not
allow. An extra attachment or trust statement always fails synth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import IConstruct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._assembly import load_assembly
from ecs_exec_roles._evaluate import ANY_VALUE, is_allowed

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
MODES = ["minimal-derived", "minimal-props", "shared-props", "starter-derived", "harden"]
_NAMES = st.sampled_from(["api", "web", "api/v2", "jobs"])


@dataclass(frozen=True)
class Container:
    """What a generated container uses: an image of ECR or not, awslogs, secrets."""

    repository: str | None
    log_group: str
    prefix: str
    secret: str | None
    parameter: str | None


_CONTAINER = st.builds(
    Container,
    repository=st.one_of(st.none(), _NAMES),
    log_group=_NAMES.map(lambda name: f"/ecs/{name}"),
    prefix=st.sampled_from(["api", "web"]),
    secret=st.one_of(st.none(), _NAMES.map(lambda name: f"prod/{name}")),
    parameter=st.one_of(st.none(), _NAMES.map(lambda name: f"/cfg/{name}")),
)


@dataclass(frozen=True)
class Change:
    """A change to the first container, made after the library built the role.

    :param path: the property under ``ContainerDefinitions.0.`` that is overridden.
    :param by_aspect: made by an aspect that runs after the library's, not in the app code.
    """

    path: str
    value: Any
    by_aspect: bool


_CHANGE = st.builds(
    Change,
    path=st.sampled_from(
        [
            "LogConfiguration.Options.awslogs-create-group",
            "LogConfiguration.Options.awslogs-stream-prefix",
            "LogConfiguration.Options.awslogs-group",
            "Image",
            "Secrets",
        ]
    ),
    value=st.sampled_from(["jobs", "/ecs/jobs", "api"]),
    by_aspect=st.booleans(),
)


def _change_value(change: Change) -> Any:
    if change.path.endswith("awslogs-create-group"):
        return "true"
    if change.path.endswith("awslogs-group"):
        return f"/ecs/{change.value.strip('/').split('/')[-1]}-changed"
    if change.path == "Image":
        return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/changed/{change.value.strip('/')}:1"
    if change.path == "Secrets":
        return [{"Name": "CHANGED", "ValueFrom": f"/changed/{change.value.strip('/')}"}]
    return change.value.strip("/")


@jsii.implements(cdk.IAspect)
class _Override:
    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self.value = value

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ecs.CfnTaskDefinition):
            node.add_property_override(self.path, self.value)


def _build(mode: str, containers: list[Container], change: Change | None) -> cdk.App:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    # What each container uses, imported by name (also the props of a role that does not
    # derive).
    used: list[dict[str, Any]] = []
    for index, spec in enumerate(containers):
        used.append(
            {
                "repository": spec.repository
                and ecr.Repository.from_repository_name(stack, f"Repo{index}", spec.repository),
                "group": logs.LogGroup.from_log_group_name(stack, f"Logs{index}", spec.log_group),
                "secret": spec.secret
                and secretsmanager.Secret.from_secret_name_v2(stack, f"S{index}", spec.secret),
                "parameter": spec.parameter
                and ssm.StringParameter.from_string_parameter_name(
                    stack, f"P{index}", spec.parameter
                ),
            }
        )
    role: Any = None
    kind, _, how = mode.partition("-")
    if kind == "harden":
        cdk.Aspects.of(app).add(HardenExecutionRoles())
    elif how == "derived":
        role = {"minimal": MinimalExecutionRole, "starter": StarterExecutionRole}[kind](
            stack, "Role"
        )
    else:
        construct = {"minimal": MinimalExecutionRole, "shared": SharedExecutionRole}[kind]
        role = construct(
            stack,
            "Role",
            derive=False,
            repositories=[u["repository"] for u in used if u["repository"]],
            log_groups=[u["group"] for u in used],
            secrets=[u["secret"] for u in used if u["secret"]],
            parameters=[u["parameter"] for u in used if u["parameter"]],
        )
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role, family="gen")
    for index, (spec, resources) in enumerate(zip(containers, used, strict=True)):
        image = ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1")
        if resources["repository"]:
            image = ecs.ContainerImage.from_ecr_repository(resources["repository"], "v1")
        secrets = {}
        if resources["secret"]:
            secrets["SECRET"] = ecs.Secret.from_secrets_manager(resources["secret"])
        if resources["parameter"]:
            secrets["PARAMETER"] = ecs.Secret.from_ssm_parameter(resources["parameter"])
        task.add_container(
            f"c{index}",
            image=image,
            memory_limit_mib=128,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=spec.prefix, log_group=resources["group"]
            ),
            secrets=secrets,
        )
    if change is not None:
        path, value = f"ContainerDefinitions.0.{change.path}", _change_value(change)
        if change.by_aspect:
            cdk.Aspects.of(app).add(_Override(path, value))
        else:
            task.node.default_child.add_property_override(path, value)  # type: ignore[union-attr]
    return app


def _requests(template: dict[str, Any]) -> list[tuple[str, str]]:
    """ECS's requests for the task definition of ``template``: a model of what the ECS agent
    calls, read from the template's literal values."""
    (task,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    found = []
    for container in task["Properties"]["ContainerDefinitions"]:
        image = container["Image"]
        if isinstance(image, dict):
            image = "".join(
                part if isinstance(part, str) else _PSEUDO[part["Ref"]]
                for part in image["Fn::Join"][1]
            )
        if ".dkr.ecr." in image:
            host, _, rest = image.partition("/")
            account, _, region = host.split(".")[0], None, host.split(".")[3]
            name = rest.split(":")[0]
            found.append(("ecr:GetAuthorizationToken", "*"))
            found.append(("ecr:BatchGetImage", f"arn:aws:ecr:{region}:{account}:repository/{name}"))
        options = container["LogConfiguration"]["Options"]
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{options['awslogs-group']}"
        stream = f"{options['awslogs-stream-prefix']}/{container['Name']}/0123456789abcdef"
        found.append(("logs:PutLogEvents", f"{group}:log-stream:{stream}"))
        if options.get("awslogs-create-group") == "true":
            found.append(("logs:CreateLogGroup", group))
        for secret in container.get("Secrets", []):
            value = secret["ValueFrom"]
            if isinstance(value, dict):
                value = "".join(
                    part if isinstance(part, str) else _PSEUDO[part["Ref"]]
                    for part in value["Fn::Join"][1]
                )
            if ":secretsmanager:" in value:
                found.append(("secretsmanager:GetSecretValue", f"{value}-AbCdEf"))
            else:
                name = value.split(":parameter/")[-1].removeprefix("/")
                found.append(
                    ("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}")
                )
    return found


_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


def _policies(app: cdk.App, role_path: str) -> list[Any]:
    """The role's deployed identity policies, with concrete values for this test's names."""
    cloud_assembly = app.synth()
    assembly = load_assembly([s.template_full_path for s in cloud_assembly.stacks_recursively])
    template, logical_id = assembly.by_path[role_path]
    name = assembly.text(template, {"Ref": logical_id})
    documents = []
    for resource_id, resource in template.resources.items():
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            properties = template.properties(resource_id)
            if name in assembly.resolve(template, properties.get("Roles")):
                documents.append(assembly.resolve(template, properties["PolicyDocument"]))
    arns = assembly.resolve(template, template.properties(logical_id).get("ManagedPolicyArns"))
    if arns:
        managed = ["ecr:*", "logs:CreateLogStream", "logs:PutLogEvents"]
        documents.append({"Statement": [{"Effect": "Allow", "Action": managed, "Resource": "*"}]})
    return documents


def _role_path(mode: str) -> str:
    return "S/Task/ExecutionRole/Resource" if mode == "harden" else "S/Role/Resource/Resource"


@SETTINGS
@given(
    mode=st.sampled_from(MODES),
    containers=st.lists(_CONTAINER, min_size=1, max_size=2),
    change=_CHANGE,
)
def test_a_changed_task_definition_is_allowed_or_synth_fails_naming_a_need(
    mode: str, containers: list[Container], change: Change
) -> None:
    app = _build(mode, containers, change)
    try:
        policies = _policies(app, _role_path(mode))
    except RuntimeError as error:
        message = str(error)
        # A finding of the verification names the need the role does not allow.
        assert "MissingPermission[" in message or "got a container after" in message, message
        assert "which the role does not allow" in message, message
        return
    template = app.synth().get_stack_by_name("S").template
    tags = {"aws:ResourceTag/*": ANY_VALUE}
    for action, resource in _requests(template):
        assert is_allowed(policies, action, resource, tags), (mode, change, action, resource)


@SETTINGS
@given(mode=st.sampled_from(MODES), containers=st.lists(_CONTAINER, min_size=1, max_size=2))
def test_an_unchanged_generated_app_passes_and_is_allowed(
    mode: str, containers: list[Container]
) -> None:
    app = _build(mode, containers, None)
    policies = _policies(app, _role_path(mode))
    template = app.synth().get_stack_by_name("S").template
    tags = {"aws:ResourceTag/*": ANY_VALUE}
    for action, resource in _requests(template):
        assert is_allowed(policies, action, resource, tags), (mode, action, resource)


_STATEMENTS = st.builds(
    lambda action, resource: {"Effect": "Allow", "Action": action, "Resource": resource},
    action=st.sampled_from(["s3:GetObject", "ecr:*", "logs:*", "kms:Decrypt", "*"]),
    resource=st.sampled_from(["*", "arn:aws:s3:::bucket/*", f"arn:aws:logs:{REGION}:{ACCOUNT}:*"]),
)
_WAYS = st.sampled_from(["inline", "managed-arn", "policy-resource", "trust", "own-policy"])


@SETTINGS
@given(mode=st.sampled_from(MODES), statement=_STATEMENTS, way=_WAYS)
def test_fails_when_anything_is_attached_to_the_role_or_added_to_its_trust(
    mode: str, statement: dict[str, Any], way: str
) -> None:
    containers = [Container("api", "/ecs/api", "api", "prod/api", None)]
    app = _build(mode, containers, None)

    @jsii.implements(cdk.IAspect)
    class Widen:
        def visit(self, node: IConstruct) -> None:
            owner = _role_path(mode).rsplit("/Resource", 2)[0]
            if way == "own-policy":
                # Every managed policy the library made for the role, as aspects reach it.
                if isinstance(node, iam.CfnManagedPolicy) and node.node.path.startswith(
                    f"{owner}/"
                ):
                    node.add_property_override("PolicyDocument.Statement.99", statement)
                return
            if not (isinstance(node, iam.CfnRole) and node.node.path == _role_path(mode)):
                return
            document = {"Version": "2012-10-17", "Statement": [statement]}
            if way == "inline":
                node.add_property_override(
                    "Policies", [{"PolicyName": "x", "PolicyDocument": document}]
                )
            elif way == "managed-arn":
                node.add_property_override(
                    "ManagedPolicyArns", ["arn:aws:iam::aws:policy/PowerUserAccess"]
                )
            elif way == "policy-resource":
                iam.CfnPolicy(
                    node.stack, "Extra", policy_name="x", policy_document=document, roles=[node.ref]
                )
            else:
                node.add_property_override(
                    "AssumeRolePolicyDocument.Statement.1",
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                    },
                )

    # An aspect of the role's stack: aws-cdk-lib invokes it on the library's policies too, once
    # they exist (aspects visit the constructs added while they run).
    cdk.Aspects.of(app.node.find_child("S")).add(Widen(), priority=cdk.AspectPriority.READONLY)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    expected = {
        "inline": "PolicyAttached[Policies::",
        "managed-arn": "PolicyAttached[ManagedPolicyArns::",
        "policy-resource": "PolicyAttached[S/Extra]",
        "trust": "TrustChanged[",
        "own-policy": "PolicyChanged[",
    }[way]
    assert f"ecs-exec-roles::{expected}" in message, message
