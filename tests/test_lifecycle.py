"""The synth lifecycle of a stack's execution roles (``_lifecycle``): one registry per stack,
one finalizer aspect and one validation for all its roles, what finalizing does (once per
role) and the unused-role warning. The resolver is tested in ``test_cfn.py``, what the checks
are given in ``test_check_facts.py``.

The checks' messages themselves are tested in ``test_checks.py``, ``test_synth_check.py``,
``test_attached.py`` and ``test_reach.py``; ``MUTATING_ASPECT_PRIORITY`` and
``StackRoles.child_path`` for nested scopes in ``test_internals.py``; the role a scheduled
task leaves unused in ``test_derive.py``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from helpers import api_task, role_options

from ecs_exec_roles import ExecutionRoleError, MinimalExecutionRole
from ecs_exec_roles._after_aspects import STABILIZATION_FLAG, pending_work
from ecs_exec_roles._app import stack_state
from ecs_exec_roles._check_facts import _finalize_document
from ecs_exec_roles._lifecycle import (
    MUTATING_ASPECT_PRIORITY,
    RoleEntry,
    StackRoles,
    _Finalize,
    _need_values,
    _scope_in,
    _Validate,
)
from ecs_exec_roles._plan import Plan

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)

PULL = {"Action": "ecr:BatchGetImage", "Effect": "Allow", "Resource": "arn:aws:ecr:::r"}


# -- the registry of a stack ----------------------------------------------------------------------


def test_each_stack_has_one_registry_kept_in_its_state() -> None:
    app = cdk.App()
    first, second = cdk.Stack(app, "First"), cdk.Stack(app, "Second")
    registry = StackRoles.of(first)
    assert StackRoles.of(first) is registry
    assert stack_state(first).roles is registry
    assert StackRoles.of(second) is not registry
    assert registry.stack is first
    assert registry.app is stack_state(second).app


def test_the_first_role_installs_the_one_finalizer_at_mutating_priority() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    first, second = MinimalExecutionRole(stack, "First"), MinimalExecutionRole(stack, "Second")
    (applied,) = cdk.Aspects.of(first).applied
    assert isinstance(applied.aspect, _Finalize)
    assert applied.priority == MUTATING_ASPECT_PRIORITY
    assert cdk.Aspects.of(second).applied == []
    assert [entry.plan.where for entry in StackRoles.of(stack).entries] == [
        "Stack/First",
        "Stack/Second",
    ]


def test_a_role_registered_without_finalizer_leaves_it_to_the_next_role() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    registry = StackRoles.of(stack)
    adopted, later = Construct(stack, "Adopted"), Construct(stack, "Later")
    plan = Plan("Stack/Adopted", role_options())
    registry.register(RoleEntry(plan, None, adopted, None, "Stack/Adopted"), finalizer=False)  # type: ignore[arg-type]
    assert cdk.Aspects.of(adopted).applied == []
    registry.register(RoleEntry(plan, None, later, None, "Stack/Later"))  # type: ignore[arg-type]
    assert [type(a.aspect) for a in cdk.Aspects.of(later).applied] == [_Finalize]
    # The verification is registered by the first role, finalizer or not.
    assert len(registry.entries) == 2
    assert stack_state(stack).app.verification_registered


def test_one_validation_checks_every_role_of_the_stack() -> None:
    # Before synthesis no plan is sealed: each role gets the one message of an unbuilt role,
    # once, from the stack's single validation.
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    MinimalExecutionRole(stack, "First")
    MinimalExecutionRole(stack, "Second")
    expected = [
        f"Stack/{name}: the role was created after its policies were built (by an aspect?); "
        "create it while building the app, before synthesis."
        for name in ("First", "Second")
    ]
    assert stack.node.validate() == expected
    assert _Validate(StackRoles.of(stack)).validate() == expected


def test_the_first_role_of_any_stack_registers_the_verification_with_the_app() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    state = stack_state(stack).app
    assert not state.verification_registered
    MinimalExecutionRole(stack, "Role")
    assert state.verification_registered


def test_the_trust_principal_is_made_once_per_setting() -> None:
    registry = StackRoles.of(cdk.Stack(cdk.App(), "Stack", env=ENV))
    settings = [(True, False), (True, True), (False, False), (False, True)]
    principals = [registry.principal(*setting) for setting in settings]
    assert len({id(p) for p in principals}) == 4
    assert [registry.principal(*setting) for setting in settings] == principals


def test_region_account_and_stream_pattern_of_a_stack_with_an_environment() -> None:
    registry = StackRoles.of(cdk.Stack(cdk.App(), "Stack", env=ENV))
    assert registry.region_account() == (REGION, ACCOUNT)
    assert registry.stream_pattern("/ecs/api") == (
        f"arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api:*"
    )


def test_region_account_and_stream_pattern_of_an_environment_agnostic_stack() -> None:
    registry = StackRoles.of(cdk.Stack(cdk.App(), "Stack"))
    assert registry.region_account() == ("<AWS::Region>", "<AWS::AccountId>")
    assert registry.stream_pattern("/ecs/api") == (
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/ecs/api:*"
    )


def test_child_path_of_a_child_of_the_root_is_its_id_with_slashes_replaced() -> None:
    app = cdk.App()
    registry = StackRoles.of(cdk.Stack(app, "Stack"))
    assert registry.child_path(app, "Top") == "Top"
    assert registry.child_path(app, "a/b") == "a--b"


# -- finalizing ----------------------------------------------------------------------------------


def test_finalize_builds_each_role_once_and_later_roles_on_the_next_call() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    api_task(stack, MinimalExecutionRole(stack, "First"))
    registry = StackRoles.of(stack)
    (entry,) = registry.entries
    assert entry.synthesis is None and not entry.plan.sealed
    registry.finalize()
    synthesis, policies = entry.synthesis, list(entry.policies)
    assert entry.plan.sealed and synthesis is not None
    assert [p.node.path for p in policies] == ["Stack/First/Policy"]
    assert [path for _, _, path in entry.policy_statements] == ["Stack/First/Policy/Resource"]
    assert [s.sid for s in entry.policy_statements[0][0]] == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
    ]
    registry.finalize()
    assert entry.synthesis is synthesis and entry.policies == policies
    # A role registered later (by an aspect) is built by the next call, alone.
    second = MinimalExecutionRole(stack, "Second")
    registry.finalize()
    assert entry.synthesis is synthesis and entry.policies == policies
    assert registry.entries[1].synthesis is not None and registry.entries[1].plan.sealed
    assert second.managed_policies == ()


def test_finalize_keeps_the_grants_document_of_derived_roles_only() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    derived = MinimalExecutionRole(stack, "Derived")
    api_task(stack, derived)
    named = MinimalExecutionRole(
        stack,
        "Named",
        derive=False,
        log_groups=[logs.LogGroup.from_log_group_name(stack, "Other", "/ecs/other")],
    )
    task = ecs.FargateTaskDefinition(stack, "NamedTask", execution_role=named)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("nginx"),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="o", log_group=logs.LogGroup.from_log_group_name(stack, "O", "/ecs/other")
        ),
    )
    registry = StackRoles.of(stack)
    registry.finalize()
    kept, none = (entry.grant_document for entry in registry.entries)
    assert none is None
    assert kept is not None
    count, document = kept
    # The pull and the log writes aws-cdk-lib granted for the task's container.
    assert count == len(registry.entries[0].role.recorded_grants) == 3
    assert _finalize_document(registry.entries[0]) is document
    # A grant made after finalize makes the document stale.
    derived.role.add_to_principal_policy(iam.PolicyStatement.from_json(PULL))
    assert _finalize_document(registry.entries[0]) is None


def test_finalize_warns_of_roles_no_task_definition_uses_and_that_name_nothing() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    idle = MinimalExecutionRole(stack, "Idle")
    named = MinimalExecutionRole(
        stack, "Named", log_groups=[logs.LogGroup.from_log_group_name(stack, "L", "/ecs/x")]
    )
    used = MinimalExecutionRole(stack, "Used")
    api_task(stack, used)
    StackRoles.of(stack).finalize()

    def warnings(construct: Construct) -> list[Any]:
        return [m.data for m in construct.node.metadata if m.type == "aws:cdk:warning"]

    assert warnings(idle) == [
        "Stack/Idle: the execution role is used by no task definition in the app and names no "
        "resources, so it allows nothing. Pass it (or its `role`) as the task definition's "
        "execution_role (ecs_patterns take it in their task image options; a "
        "ScheduledFargateTask makes a role of its own unless it is given a task definition), "
        "or remove it. [ack: ecs-exec-roles:unused-role]"
    ]
    assert warnings(named) == []
    assert warnings(used) == []


def test_the_finalizer_waits_for_the_aspects_and_the_roles_are_built_once() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=ENV)
    api_task(stack, MinimalExecutionRole(stack, "Role"))
    registry = StackRoles.of(stack)
    finalizer = _Finalize(registry)
    finalizer.visit(stack)
    finalizer.visit(stack)
    assert pending_work(registry.app) == 1
    assert registry.entries[0].synthesis is None
    # Synthesis runs this work and the role's own finalizer: the role is built once.
    template = app.synth().get_stack_by_name("Stack").template
    assert pending_work(registry.app) == 0
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert len(policies) == 1
    assert [p.node.path for p in registry.entries[0].policies] == ["Stack/Role/Policy"]


def test_the_finalizer_builds_at_once_without_aspect_stabilization() -> None:
    app = cdk.App(context={STABILIZATION_FLAG: False})
    stack = cdk.Stack(app, "Stack", env=ENV)
    MinimalExecutionRole(stack, "Role")
    registry = StackRoles.of(stack)
    _Finalize(registry).visit(stack)
    assert pending_work(registry.app) == 0
    assert registry.entries[0].synthesis is not None


# -- where policies for another stack go ----------------------------------------------------------


def test_scope_in_another_stack_is_named_after_the_roles_path() -> None:
    app = cdk.App()
    service = cdk.Stack(app, "Service")
    scope = _scope_in(Plan("Platform/Team/Role", role_options()), service)
    assert scope.node.path == "Service/Platform--Team--Role"


def test_scope_in_fails_when_another_roles_path_is_spelled_alike() -> None:
    app = cdk.App()
    service = cdk.Stack(app, "Service")
    _scope_in(Plan("Platform/Team/Role", role_options()), service)
    with pytest.raises(ExecutionRoleError) as raised:
        _scope_in(Plan("Platform/Team--Role", role_options()), service)
    assert str(raised.value) == (
        "Platform/Team--Role: the role's policies for the task definitions of Service go under "
        "Service/Platform--Team--Role, which 'Service/Platform--Team--Role' already is (another "
        "execution role whose path differs only by '/' and '--', or a construct of the app). "
        "Give one of them another construct id."
    )


def test_scope_in_fails_when_a_construct_of_the_app_has_the_id() -> None:
    app = cdk.App()
    service = cdk.Stack(app, "Service")
    Construct(service, "Platform--Role")
    with pytest.raises(ExecutionRoleError, match=r"^Platform/Role: .* which 'Service/Platform"):
        _scope_in(Plan("Platform/Role", role_options()), service)


# -- what the checks read -------------------------------------------------------------------------


def test_need_values_are_every_arn_and_alias() -> None:
    needs = (
        SimpleNamespace(arn="arn:a", grant_aliases=("alias:a",)),
        SimpleNamespace(arn="arn:b", grant_aliases=()),
    )
    built = SimpleNamespace(plan=SimpleNamespace(needs=needs), synthesis=None)
    other = SimpleNamespace(plan=SimpleNamespace(needs=needs[1:]), synthesis=None)
    assert _need_values([built, other]) == ["arn:a", "alias:a", "arn:b", "arn:b"]
