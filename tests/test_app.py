"""Per-app and per-stack state (``_app``): one :class:`StackState` per stack and one
:class:`AppState` per app, found by the construct's identity, and what each keeps.

Other modules' tests use ``stack_state`` only as a way in (``test_internals`` scans the task
definitions of an app state); the identity itself is tested in ``test_cdk_internals``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._app import AppState, StackState, stack_state
from ecs_exec_roles._cdk_internals import identity
from ecs_exec_roles._lifecycle import StackRoles


def _js_made_child(stack: cdk.Stack) -> tuple[object, object]:
    """Two Python objects jsii hands out for the one ``CfnRole`` aws-cdk-lib made."""
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    return role.node.default_child, role.node.default_child


# -- stack_state -------------------------------------------------------------------------------


def test_stack_state_is_made_once_per_stack_when_asked_again(stack: cdk.Stack) -> None:
    state = stack_state(stack)
    assert isinstance(state, StackState)
    assert stack_state(stack) is state
    assert state.stack is stack
    assert state.app.stacks == [state]
    # Nothing is read or made before another module asks for it.
    assert (state.environment, state.pseudo_lengths, state.roles, state.template_path) == (
        None,
        None,
        None,
        None,
    )


def test_stacks_of_one_app_share_its_state_in_the_order_they_were_met(app: cdk.App) -> None:
    first, second = cdk.Stack(app, "First"), cdk.Stack(app, "Second")
    second_state = stack_state(second)
    first_state = stack_state(first)
    stack_state(second)
    app_state = first_state.app
    assert second_state.app is app_state
    assert isinstance(app_state, AppState)
    assert app_state.root is app
    assert app_state.stacks == [second_state, first_state]


def test_stacks_of_different_apps_get_different_app_states() -> None:
    one = stack_state(cdk.Stack(cdk.App(), "Stack"))
    other = stack_state(cdk.Stack(cdk.App(), "Stack"))
    assert one.app is not other.app
    assert one.app.stacks == [one]
    assert other.app.stacks == [other]


def test_stack_state_is_shared_by_every_object_of_one_construct(stack: cdk.Stack) -> None:
    # stack_state reads only the construct's identity and root: two objects jsii made for
    # one construct find one state.
    first, second = _js_made_child(stack)
    assert first is not second
    state = stack_state(first)
    assert stack_state(second) is state
    assert state.stack is first
    assert state.path() == "Stack/Role/Resource"


def test_stack_in_a_stage_belongs_to_the_apps_state_and_knows_its_stage(app: cdk.App) -> None:
    outer = cdk.Stack(app, "Outer")
    stage = cdk.Stage(app, "Prod")
    inner = cdk.Stack(stage, "Inner")
    outer_state, inner_state = stack_state(outer), stack_state(inner)
    # One app state for the whole tree: its root is the app, not the stage.
    assert inner_state.app is outer_state.app
    assert inner_state.app.root is app
    assert identity(inner_state.stage()) == identity(stage)
    assert identity(outer_state.stage()) == identity(app)
    assert inner_state.path() == "Prod/Inner"
    assert outer_state.path() == "Outer"


def test_roles_or_makes_the_roles_once_from_the_stack(stack: cdk.Stack) -> None:
    state = stack_state(stack)
    calls: list[object] = []

    def make(made_for: object) -> object:
        calls.append(made_for)
        return f"roles of {len(calls)}"

    assert state.roles_or(make) == "roles of 1"
    assert state.roles_or(make) == "roles of 1"
    assert calls == [stack]
    assert state.roles == "roles of 1"


# -- AppState ----------------------------------------------------------------------------------


def test_each_role_stack_lists_only_stacks_with_roles_in_order_met(app: cdk.App) -> None:
    states = [stack_state(cdk.Stack(app, name)) for name in ("A", "B", "C")]
    states[2].roles = "roles of C"
    states[0].roles = "roles of A"
    assert states[0].app.each_role_stack() == ["roles of A", "roles of C"]


def test_forget_scan_drops_only_the_task_index_when_the_app_may_have_changed() -> None:
    state = AppState(root="app")
    state.task_index = "index"
    state.tasks_seen["task"] = "read"
    state.secrets.append("secret")
    state.forget_scan()
    assert state.task_index is None
    assert state.tasks_seen == {"task": "read"}
    assert state.secrets == ["secret"]


def test_app_state_starts_empty_with_verification_unregistered() -> None:
    state = AppState(root="app")
    assert (state.stacks, state.tasks_seen, state.task_index, state.secrets) == ([], {}, None, [])
    assert state.verification_registered is False
    assert state.after_aspects == {}
    assert state.each_role_stack() == []


# -- through the constructs --------------------------------------------------------------------


def test_roles_record_their_stacks_and_register_verification_once_per_app(app: cdk.App) -> None:
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    second, first, bare = (cdk.Stack(app, name, env=env) for name in ("B", "A", "Bare"))
    MinimalExecutionRole(second, "Role")
    MinimalExecutionRole(first, "Role")
    MinimalExecutionRole(first, "Other")
    app_state = stack_state(bare).app
    assert [state.path() for state in app_state.stacks] == ["B", "A", "Bare"]
    role_stacks = app_state.each_role_stack()
    assert all(isinstance(roles, StackRoles) for roles in role_stacks)
    assert [roles.stack for roles in role_stacks] == [second, first]
    assert [len(roles.entries) for roles in role_stacks] == [1, 2]
    assert app_state.verification_registered is True
