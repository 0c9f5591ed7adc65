"""What the app shows of a role when its policies are built (``_usage``): the task definitions
that use it with their containers rendered in template form and read, the grants made to it
(as CDK strings and in template form), and the keys of the app's secrets by ARN.

One app serves the module; ``gather_usages`` runs once over it (rendering a task definition
happens once). ``tests/test_derive.py`` and ``tests/test_verify.py`` cover what derivation and
the checks make of a usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._reader import Registry, TaskRead
from ecs_exec_roles._recorder import RecordedGrant, RecordingRole
from ecs_exec_roles._task_definitions import IndexedTask
from ecs_exec_roles._usage import RoleUsage, SecretKeys, StackValues, gather_usages

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
ECR_PULL = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]
LOGS_WRITE = ["logs:CreateLogStream", "logs:PutLogEvents"]


class FakeRole:
    """A role as ``gather_usages`` reads one: its grants, and the tasks rendered for it."""

    def __init__(self, *grants: RecordedGrant) -> None:
        self.recorded_grants = list(grants)
        self.rendered: list[Any] = []

    @contextmanager
    def rendering(self, task: Any) -> Iterator[None]:
        self.rendered.append(task)
        yield


@dataclass
class Gathered:
    service: cdk.Stack
    other: cdk.Stack
    construct: MinimalExecutionRole
    local: IndexedTask
    raw: IndexedTask
    empty: IndexedTask
    remote: IndexedTask
    granted: FakeRole
    grants: list[RecordedGrant]
    group: logs.LogGroup
    idle: FakeRole
    rendering: FakeRole
    rendering_local: IndexedTask
    rendering_remote: IndexedTask
    values: StackValues
    usages: list[RoleUsage]


def _firelens_task(scope: cdk.Stack, id: str, role: Any) -> ecs.Ec2TaskDefinition:
    """A task definition logging through FireLens without a router: aws-cdk-lib adds its
    default router when it renders the containers."""
    task = ecs.Ec2TaskDefinition(scope, id, execution_role=role)
    task.add_container(
        "web",
        image=ecs.ContainerImage.from_registry("nginx"),
        memory_limit_mib=256,
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    return task


@pytest.fixture(scope="module")
def gathered() -> Gathered:
    app = cdk.App()
    service = cdk.Stack(app, "Service", env=ENV)
    other = cdk.Stack(app, "Other", env=ENV)
    construct = MinimalExecutionRole(service, "Role")
    local = IndexedTask(_firelens_task(service, "Local", construct), execution_role=construct.role)
    remote = IndexedTask(_firelens_task(other, "Remote", construct), execution_role=construct.role)
    container = ecs.CfnTaskDefinition.ContainerDefinitionProperty(name="raw", image="nginx:1")
    raw_task = ecs.CfnTaskDefinition(service, "Raw", container_definitions=[container])
    raw = IndexedTask(raw_task, raw_task)
    # Without containers, in another stack: it renders on its own.
    empty_task = ecs.CfnTaskDefinition(other, "Empty")
    empty = IndexedTask(empty_task, empty_task)

    group = logs.LogGroup(service, "Logs")
    grants = [
        RecordedGrant(
            iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[group.log_group_arn]),
            None,
        ),
        RecordedGrant(
            iam.PolicyStatement(
                actions=["ssm:GetParameters"],
                resources=[f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/token"],
            ),
            None,
        ),
    ]
    granted, idle = FakeRole(*grants), FakeRole()

    plain = iam.Role(service, "Plain", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    rendering = FakeRole()
    plain_local = ecs.Ec2TaskDefinition(service, "PlainLocal", execution_role=plain)
    plain_local.add_container(
        "app", image=ecs.ContainerImage.from_registry("nginx"), memory_limit_mib=64
    )
    rendering_local = IndexedTask(plain_local)
    rendering_remote = IndexedTask(
        ecs.Ec2TaskDefinition(other, "PlainRemote", execution_role=plain)
    )
    # Already rendered once: what was counted then stays.
    rendering_local.rendered = 7

    tasks: dict[int, list[IndexedTask]] = {
        # Listed with the other stack's task definition first.
        id(construct.role): [remote, local, raw, empty],
        id(granted): [],
        id(idle): [],
        id(rendering): [rendering_remote, rendering_local],
    }

    def tasks_of(role: Any) -> list[IndexedTask]:
        return tasks[id(role)]

    values = StackValues(service.resolve, service.url_suffix, lambda name: f"pattern:{name}")
    roles = [(construct.role, construct), (granted, service), (idle, other), (rendering, service)]
    usages = gather_usages(service, [], cast(Any, roles), tasks_of, values)
    return Gathered(
        service,
        other,
        construct,
        local,
        raw,
        empty,
        remote,
        granted,
        grants,
        group,
        idle,
        rendering,
        rendering_local,
        rendering_remote,
        values,
        usages,
    )


def _usage_of(gathered: Gathered, role: Any) -> RoleUsage:
    (usage,) = [usage for usage in gathered.usages if usage.role is role]
    return usage


# -- gather_usages ---------------------------------------------------------------------------------


def test_each_role_has_a_usage_in_the_order_given_sharing_one_reading(gathered: Gathered) -> None:
    roles = [usage.role for usage in gathered.usages]
    assert roles == [gathered.construct.role, gathered.granted, gathered.idle, gathered.rendering]
    first = gathered.usages[0]
    assert first.stack is gathered.service
    assert first.owner is gathered.construct
    assert gathered.usages[2].owner is gathered.other
    assert all(usage.stack_values is gathered.values for usage in gathered.usages)
    assert all(usage.symbols is first.symbols for usage in gathered.usages)
    assert all(usage.secret_keys is None for usage in gathered.usages)


def test_the_roles_stacks_task_definitions_come_first_then_those_of_other_stacks(
    gathered: Gathered,
) -> None:
    usage = _usage_of(gathered, gathered.construct.role)
    entries = [view.entry for view in usage.tasks]
    assert entries == [gathered.local, gathered.raw, gathered.remote, gathered.empty]
    assert [view.home for view in usage.tasks] == [None, None, gathered.other, gathered.other]


def test_containers_are_rendered_with_aws_cdk_libs_default_firelens_router(
    gathered: Gathered,
) -> None:
    usage = _usage_of(gathered, gathered.construct.role)
    local, remote = usage.tasks[0], usage.tasks[2]
    for view in (local, remote):
        assert [container["name"] for container in view.containers] == ["web", "log-router"]
        assert view.containers[0]["image"] == "nginx"
        # The reader saw them: the router's image is AWS's FireLens image.
        assert [image.source.registry for image in view.read.images] == [
            Registry.OTHER,
            Registry.FLUENT_BIT,
        ]
        assert [stream.prefix for stream in view.read.logs] == ["firelens"]


def test_a_remote_task_definitions_resources_are_unknowns_named_by_their_logical_id(
    gathered: Gathered,
) -> None:
    usage = _usage_of(gathered, gathered.construct.role)
    (router_logs,) = usage.tasks[2].read.logs
    log_group = gathered.remote.task.node.find_child("log-router").node.find_child("LogGroup")
    logical_id = gathered.other.get_logical_id(log_group.node.default_child)
    assert usage.symbols.display(router_logs.group) == f"<{logical_id}>"


def test_an_l1_task_definition_is_read_as_written_and_one_without_containers_has_none(
    gathered: Gathered,
) -> None:
    usage = _usage_of(gathered, gathered.construct.role)
    raw, empty = usage.tasks[1], usage.tasks[3]
    assert list(raw.containers) == [{"image": "nginx:1", "name": "raw"}]
    assert [(image.container, image.text) for image in raw.read.images] == [("raw", "nginx:1")]
    assert list(empty.containers) == []
    assert empty.read == TaskRead()


def test_the_containers_rendered_are_counted_once_for_l2_task_definitions_only(
    gathered: Gathered,
) -> None:
    assert gathered.local.rendered == 2
    assert gathered.remote.rendered == 2
    assert gathered.raw.rendered is None
    assert gathered.empty.rendered is None
    # Counted before: kept.
    assert gathered.rendering_local.rendered == 7
    assert gathered.rendering_remote.rendered == 0


def test_only_a_task_definition_of_another_stack_renders_under_the_roles_rendering(
    gathered: Gathered,
) -> None:
    assert gathered.rendering.rendered == [gathered.rendering_remote.task]
    assert gathered.granted.rendered == []


def test_the_grants_include_those_aws_cdk_lib_made_while_rendering(gathered: Gathered) -> None:
    usage = _usage_of(gathered, gathered.construct.role)

    def router_logs(task: IndexedTask, stack: cdk.Stack) -> str:
        group = task.task.node.find_child("log-router").node.find_child("LogGroup")
        return stack.get_logical_id(group.node.default_child)

    local_logs = router_logs(gathered.local, gathered.service)
    remote_logs = router_logs(gathered.remote, gathered.other)
    assert [grant.resolved for grant in usage.grants] == [
        {"Action": ECR_PULL, "Effect": "Allow", "Resource": "*"},
        {"Action": LOGS_WRITE, "Effect": "Allow", "Resource": {"Fn::GetAtt": [local_logs, "Arn"]}},
        {"Action": ECR_PULL, "Effect": "Allow", "Resource": "*"},
        {"Action": LOGS_WRITE, "Effect": "Allow", "Resource": {"Fn::GetAtt": [remote_logs, "Arn"]}},
    ]
    recording = cast(RecordingRole, gathered.construct.role)
    assert [grant.record for grant in usage.grants] == recording.recorded_grants
    # Rendered under the role's rendering, the remote task definition's grants are its own.
    for grant in usage.grants[2:]:
        assert grant.record.task_definition is gathered.remote.task
        assert grant.record.owner is gathered.remote.task
    assert usage.grant_document == {
        "Version": "2012-10-17",
        "Statement": [grant.tokens for grant in usage.grants],
    }


def test_a_roles_grants_are_its_own_as_cdk_strings_and_in_template_form(
    gathered: Gathered,
) -> None:
    usage = _usage_of(gathered, gathered.granted)
    group_id = gathered.service.get_logical_id(
        cast(cdk.CfnElement, gathered.group.node.default_child)
    )
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/token"
    tokens = [
        {
            "Action": "logs:PutLogEvents",
            "Effect": "Allow",
            "Resource": gathered.group.log_group_arn,
        },
        {"Action": "ssm:GetParameters", "Effect": "Allow", "Resource": parameter},
    ]
    assert [grant.tokens for grant in usage.grants] == tokens
    assert [grant.resolved for grant in usage.grants] == [
        {
            "Action": "logs:PutLogEvents",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        },
        {"Action": "ssm:GetParameters", "Effect": "Allow", "Resource": parameter},
    ]
    assert [grant.record for grant in usage.grants] == gathered.grants
    assert usage.grant_document == {"Version": "2012-10-17", "Statement": tokens}
    assert usage.tasks == []


def test_a_role_without_grants_has_no_grant_document(gathered: Gathered) -> None:
    for role in (gathered.idle, gathered.rendering):
        usage = _usage_of(gathered, role)
        assert usage.grants == []
        assert usage.grant_document is None


# -- SecretKeys ------------------------------------------------------------------------------------


@dataclass
class Secrets:
    service: cdk.Stack
    key: kms.Key
    owned: secretsmanager.Secret
    imported: secretsmanager.ISecret
    all: list[Any]


@pytest.fixture(scope="module")
def secrets() -> Secrets:
    app = cdk.App()
    service = cdk.Stack(app, "Service", env=ENV)
    other = cdk.Stack(app, "Other", env=ENV)
    far = cdk.Stack(app, "Far", env=cdk.Environment(account="210987654321", region="us-east-1"))
    key = kms.Key(service, "Key")
    owned = secretsmanager.Secret(service, "Owned", encryption_key=key)
    plain = secretsmanager.Secret(service, "Plain")
    imported = secretsmanager.Secret.from_secret_attributes(
        other,
        "Imported",
        secret_partial_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db",
        encryption_key=key,
    )
    # Another environment: aws-cdk-lib refuses to name it in the service's stack.
    far_secret = secretsmanager.Secret(far, "Far", encryption_key=kms.Key(far, "FarKey"))
    return Secrets(service, key, owned, imported, [owned, plain, imported, far_secret])


class CountingResolve:
    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self.calls: list[Any] = []

    def __call__(self, value: Any) -> Any:
        self.calls.append(value)
        return self.stack.resolve(value)


def test_secret_keys_are_by_the_canonical_arn_of_secrets_with_a_key_in_the_environment(
    secrets: Secrets,
) -> None:
    keys = SecretKeys(secrets.all, secrets.service.resolve, secrets.service).by_arn()
    owned_id = secrets.service.get_logical_id(
        cast(cdk.CfnElement, secrets.owned.node.default_child)
    )
    partial = f"arn:<AWS::Partition>:secretsmanager:{REGION}:{ACCOUNT}:secret:db-??????"
    assert list(keys) == [f"<{owned_id}>", partial]
    assert keys[f"<{owned_id}>"][0] is secrets.owned
    assert keys[partial][0] is secrets.imported
    assert all(key is secrets.key for _, key in keys.values())


def test_secret_keys_are_resolved_once_together_and_only_when_asked(secrets: Secrets) -> None:
    resolve = CountingResolve(secrets.service)
    keys = SecretKeys(secrets.all, resolve, secrets.service)
    assert resolve.calls == []
    first = keys.by_arn()
    assert keys.by_arn() is first
    (call,) = resolve.calls
    assert len(call) == 2


def test_an_app_without_secrets_has_no_keys(secrets: Secrets) -> None:
    assert SecretKeys([], CountingResolve(secrets.service), secrets.service).by_arn() == {}


@pytest.mark.parametrize("l1", [False, True], ids=["l2", "l1"])
def test_a_task_definition_without_containers_among_others_reads_as_none(l1: bool) -> None:
    # aws-cdk-lib resolves a task definition without containers to nothing, and drops it from
    # a list resolved at once: the others keep their own containers.
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    role = MinimalExecutionRole(stack, "Role")
    if l1:
        ecs.CfnTaskDefinition(stack, "Empty", execution_role_arn=role.role_arn)
    else:
        ecs.FargateTaskDefinition(stack, "Empty", execution_role=role)
    full = ecs.FargateTaskDefinition(stack, "Full", execution_role=role)
    full.add_container(
        "web",
        image=ecs.ContainerImage.from_registry("nginx"),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="web", log_group=logs.LogGroup.from_log_group_name(stack, "L", "/web")
        ),
    )
    assembly = app.synth()
    policies = [
        resource["Properties"]["PolicyDocument"]["Statement"]
        for resource in assembly.get_stack_by_name("S").template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    resources = [statement["Resource"] for document in policies for statement in document]
    assert resources == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":logs:eu-west-1:123456789012:log-group:/web:log-stream:web/*",
                ],
            ]
        }
    ]
