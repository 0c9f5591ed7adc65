"""The task definitions that use a role (``_task_definitions``): what is read of each one
(``IndexedTask``), the index of the app's task definitions by execution role (``TaskIndex``),
the walk of the construct tree that builds it (``scan_task_definitions``, which also finds the
app's secrets), and ``tasks_using``.

``tests/test_internals.py`` checks that the walk pairs each task definition with its own
``CfnTaskDefinition`` and that task definitions of a plain ``iam.Role`` are matched by ARN;
``tests/test_reach.py`` covers task definitions reaching a role through another role object.
"""

from __future__ import annotations

from types import SimpleNamespace

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._app import AppState, stack_state
from ecs_exec_roles._recorder import RecordingRole
from ecs_exec_roles._task_definitions import (
    IndexedTask,
    TaskIndex,
    scan_task_definitions,
    tasks_using,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/exec"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S")


def _state(stack: cdk.Stack) -> AppState:
    return stack_state(stack).app


def _plain_role(scope: cdk.Stack, id: str = "Plain") -> iam.Role:
    return iam.Role(scope, id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))


def _add_app(task: ecs.TaskDefinition, name: str = "app") -> ecs.ContainerDefinition:
    return task.add_container(
        name, image=ecs.ContainerImage.from_registry("nginx"), memory_limit_mib=64
    )


def _paths(tasks: list[IndexedTask]) -> list[str]:
    return [str(task.task.node.path) for task in tasks]


# -- IndexedTask -----------------------------------------------------------------------------------


def test_an_l1_task_definition_is_its_own_resource() -> None:
    stack = _stack()
    raw = ecs.CfnTaskDefinition(stack, "Raw")
    task = ecs.FargateTaskDefinition(stack, "Task")
    assert IndexedTask(raw, raw).is_l1
    assert not IndexedTask(task).is_l1
    # Without a resource from the walk, an L2's is its default child.
    entry = IndexedTask(task)
    assert entry.cfn.node.path == "S/Task/Resource"
    assert entry.resource is entry.cfn


@pytest.mark.parametrize(("arn", "expected"), [(ROLE_ARN, ROLE_ARN), (None, "")])
def test_an_l1_task_definitions_role_arn_is_its_execution_role_arn(
    arn: str | None, expected: str
) -> None:
    raw = ecs.CfnTaskDefinition(_stack(), "Raw", execution_role_arn=arn)
    assert IndexedTask(raw, raw).role_arn() == expected


def test_an_l2_task_definitions_role_arn_is_its_roles_arn_read_once() -> None:
    stack = _stack()
    role = _plain_role(stack)
    entry = IndexedTask(ecs.FargateTaskDefinition(stack, "Task"), execution_role=role)
    assert entry.role_arn() == str(role.role_arn)
    raw = ecs.CfnTaskDefinition(stack, "Raw", execution_role_arn=ROLE_ARN)
    l1 = IndexedTask(raw, raw)
    assert l1.role_arn() == ROLE_ARN
    raw.execution_role_arn = "arn:aws:iam::123456789012:role/changed"
    assert l1.role_arn() == ROLE_ARN


def test_names_role_itself_when_the_execution_role_is_the_recording_role_or_has_its_path() -> None:
    stack = _stack()
    construct = MinimalExecutionRole(stack, "Role")
    recording = construct.role
    assert isinstance(recording, RecordingRole)
    task = ecs.FargateTaskDefinition(stack, "Task")
    raw = ecs.CfnTaskDefinition(stack, "Raw")
    # An L1 names a role by its ARN only: whichever role it names, it names itself.
    assert IndexedTask(raw, raw).names_role_itself(SimpleNamespace())
    assert IndexedTask(task, execution_role=recording).names_role_itself(SimpleNamespace())
    made = _plain_role(stack, "Made")
    entry = IndexedTask(task, execution_role=made)
    # A role aws-cdk-lib made is known by its construct path.
    assert entry.names_role_itself(SimpleNamespace(path="S/Made"))
    assert not entry.names_role_itself(SimpleNamespace(path="S/Other"))
    assert not entry.names_role_itself(SimpleNamespace())
    imported = iam.Role.from_role_arn(stack, "Imported", ROLE_ARN)
    assert not IndexedTask(task, execution_role=imported).names_role_itself(recording)


def test_known_in_keeps_the_first_stack_and_stack_reads_the_tasks_otherwise() -> None:
    app = cdk.App()
    first, second = cdk.Stack(app, "First"), cdk.Stack(app, "Second")
    task = ecs.FargateTaskDefinition(second, "Task")
    assert IndexedTask(task).stack is second
    entry = IndexedTask(task)
    entry.known_in(first)
    entry.known_in(second)
    assert entry.stack is first


def test_container_definitions_are_the_same_value_every_time() -> None:
    stack = _stack()
    task = ecs.FargateTaskDefinition(stack, "Task")
    _add_app(task)
    entry = IndexedTask(task)
    definitions = entry.container_definitions
    assert entry.container_definitions is definitions
    assert [container["name"] for container in stack.resolve(definitions)] == ["app"]


# -- TaskIndex -------------------------------------------------------------------------------------


def _entry(role_arn: str) -> IndexedTask:
    return IndexedTask(SimpleNamespace(name=role_arn), _role_arn=role_arn)


def test_the_index_gives_a_roles_own_task_definitions_then_those_naming_its_arn() -> None:
    index = TaskIndex()
    role = SimpleNamespace(role_arn=ROLE_ARN)
    own = _entry("")
    same, other = _entry(ROLE_ARN), _entry("arn:aws:iam::123456789012:role/other")
    index.by_role[id(role)] = [own]
    index.others.extend([other, same])
    assert index.using(role) == [own, same]


def test_the_index_reads_no_arn_without_task_definitions_to_match_it_with() -> None:
    index = TaskIndex()
    role = SimpleNamespace()  # reading its ARN would fail
    assert index.using(role) == []


def test_the_index_answers_each_role_once() -> None:
    index = TaskIndex()
    role = SimpleNamespace(role_arn=ROLE_ARN)
    first = index.using(role)
    index.others.append(_entry(ROLE_ARN))
    assert index.using(role) is first
    assert first == []


# -- scan_task_definitions -------------------------------------------------------------------------


def test_task_definitions_of_a_recording_role_are_indexed_under_it() -> None:
    stack = _stack()
    construct = MinimalExecutionRole(stack, "Role")
    plain = _plain_role(stack)
    tasks = [
        ecs.FargateTaskDefinition(stack, "A", execution_role=construct),
        ecs.Ec2TaskDefinition(stack, "B", execution_role=construct.role),
        ecs.FargateTaskDefinition(stack, "C", execution_role=plain),
        ecs.FargateTaskDefinition(stack, "NoRole"),
    ]
    raw = ecs.CfnTaskDefinition(stack, "Raw", execution_role_arn=construct.role_arn)
    ecs.CfnTaskDefinition(stack, "RawOther", execution_role_arn=ROLE_ARN)
    index = scan_task_definitions(_state(stack))
    assert list(index.by_role) == [id(construct.role)]
    assert _paths(index.by_role[id(construct.role)]) == ["S/A", "S/B"]
    assert [entry.execution_role for entry in index.by_role[id(construct.role)]] == [
        construct.role,
        construct.role,
    ]
    assert _paths(index.others) == ["S/C", "S/Raw", "S/RawOther"]
    # The L1 naming the recording role's ARN is the role's too; the plain role's is its own.
    assert _paths(index.using(construct.role)) == ["S/A", "S/B", "S/Raw"]
    assert [entry.task for entry in index.using(plain)] == [tasks[2]]
    assert [entry.task for entry in index.using(construct.role) if entry.is_l1] == [raw]


def test_each_task_definition_counts_its_own_containers() -> None:
    stack = _stack()
    role = _plain_role(stack)
    first = ecs.FargateTaskDefinition(stack, "First", execution_role=role)
    second = ecs.Ec2TaskDefinition(stack, "Second", execution_role=role)
    for name in ("a", "b", "c"):
        _add_app(first, name)
    _add_app(second)
    second.add_firelens_log_router(
        "router",
        image=ecs.ContainerImage.from_registry("amazon/aws-for-fluent-bit"),
        memory_limit_mib=64,
        firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
    )
    index = scan_task_definitions(_state(stack))
    assert [(str(e.task.node.path), e.containers) for e in index.others] == [
        ("S/First", 3),
        ("S/Second", 2),
    ]


def test_a_second_walk_keeps_what_was_read_and_counts_containers_again() -> None:
    stack = _stack()
    role = _plain_role(stack)
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    _add_app(task)
    state = _state(stack)
    (entry,) = scan_task_definitions(state).others
    entry.rendered = 1
    _add_app(task, "late")
    (again,) = scan_task_definitions(state).others
    assert again is entry
    assert (again.rendered, again.containers) == (1, 2)
    assert state.tasks_seen == {next(iter(state.tasks_seen)): entry}


def test_a_task_definition_is_read_again_once_aws_cdk_lib_gives_it_a_role() -> None:
    stack = _stack()
    task = ecs.FargateTaskDefinition(stack, "Task")
    state = _state(stack)
    first = scan_task_definitions(state)
    assert (first.by_role, first.others) == ({}, [])
    # An awslogs container makes aws-cdk-lib create the task definition's execution role.
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("nginx"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
    )
    (entry,) = scan_task_definitions(state).others
    assert isinstance(entry.execution_role, iam.Role)
    assert str(entry.execution_role.node.path) == "S/Task/ExecutionRole"


def test_the_walk_gathers_the_apps_secrets_owned_and_imported() -> None:
    app = cdk.App()
    stack, data = cdk.Stack(app, "S"), cdk.Stack(app, "Data")
    secretsmanager.Secret(data, "Owned")
    secretsmanager.Secret.from_secret_name_v2(stack, "Imported", "db")
    ssm.StringParameter(stack, "NotASecret", string_value="x")
    logs.LogGroup(stack, "NorThis")
    state = _state(stack)
    scan_task_definitions(state)
    # In the walk's order; jsii hands back the imported one as a new object.
    assert [str(secret.node.path) for secret in state.secrets] == ["S/Imported", "Data/Owned"]


def test_in_an_app_of_one_stack_every_task_definition_is_the_stacks() -> None:
    stack = _stack()
    role = _plain_role(stack)
    ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    (entry,) = scan_task_definitions(_state(stack)).others
    assert entry.stack is stack


def test_task_definitions_of_a_stack_and_its_nested_stack_are_each_their_own_stacks() -> None:
    stack = _stack()
    nested = cdk.NestedStack(stack, "Nested")
    role = _plain_role(stack)
    ecs.FargateTaskDefinition(nested, "Task", execution_role=role)
    raw = ecs.CfnTaskDefinition(nested, "Raw", execution_role_arn=ROLE_ARN)
    ecs.FargateTaskDefinition(stack, "Parent", execution_role=role)
    entries = scan_task_definitions(_state(stack)).others
    assert _paths(entries) == ["S/Nested/Task", "S/Nested/Raw", "S/Parent"]
    assert [entry.stack for entry in entries] == [nested, nested, stack]
    assert entries[1].task is raw


# -- tasks_using -----------------------------------------------------------------------------------


def test_tasks_using_reads_the_last_walk_until_the_app_may_have_changed() -> None:
    stack = _stack()
    construct = MinimalExecutionRole(stack, "Role")
    ecs.FargateTaskDefinition(stack, "First", execution_role=construct)
    state = _state(stack)
    state.forget_scan()
    assert _paths(tasks_using(state, construct.role)) == ["S/First"]
    index = state.task_index
    ecs.FargateTaskDefinition(stack, "Second", execution_role=construct)
    assert _paths(tasks_using(state, construct.role)) == ["S/First"]
    assert state.task_index is index
    state.forget_scan()
    assert _paths(tasks_using(state, construct.role)) == ["S/First", "S/Second"]
