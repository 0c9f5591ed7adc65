"""The constructs' common base (``_base``): what every construct exposes (its recording role,
the role's ARN and name, the policies built for it) and what construction does (checks the
options before creating anything, plans the role, registers it with its stack, shares one
trust principal per stack and trust setting, attaches and acknowledges the AWS managed
policies of its kind, and adds each call's props to the plan).

The messages of each bad option are in ``test_bad_input.py``; the ``iam.IRole`` members and
the grant methods' principal in ``test_role_interface.py``; ``role_arn``, ``role_name`` and
``grant_pass_role`` as the template shows them in ``test_minimal.py``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._lifecycle import RoleEntry, StackRoles
from ecs_exec_roles._recorder import RecordingRole
from ecs_exec_roles._starter import STARTER_MANAGED_POLICY

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
CONSTRUCTS = [MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole]
STARTER_POLICY_ARN = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
)


def _entry(construct: Any) -> RoleEntry:
    """The registry entry of ``construct``'s role in its stack."""
    (entry,) = [e for e in StackRoles.of(cdk.Stack.of(construct)).entries if e.scope is construct]
    return entry


def _cfn_role(construct: Any) -> iam.CfnRole:
    cfn = construct.role.node.default_child
    assert isinstance(cfn, iam.CfnRole)
    return cfn


def _acknowledgments(construct: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            found.update(entry.data)
    return found


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=ENV)


# -- what every construct exposes ---------------------------------------------------------------


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_the_role_is_a_recording_role_at_the_child_resource(
    stack: cdk.Stack, construct: type[Any]
) -> None:
    execution = construct(stack, "Execution")
    role = execution.role
    assert isinstance(role, RecordingRole)
    assert role is execution.node.find_child("Resource")
    assert execution.role_arn == role.role_arn
    assert execution.role_name == role.role_name
    assert stack.resolve(execution.role_arn) == {
        "Fn::GetAtt": [stack.get_logical_id(_cfn_role(execution)), "Arn"]
    }


def test_the_policies_built_for_the_role_are_known_once_synthesis_starts(
    stack: cdk.Stack,
) -> None:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    execution = MinimalExecutionRole(stack, "Execution", repositories=[repository])
    before = execution.managed_policies
    assert len(before) == 0
    # What synthesis runs first (the stack's finalizer), without writing the templates.
    StackRoles.of(stack).finalize()
    after = execution.managed_policies
    assert isinstance(after, tuple)
    (policy,) = after
    assert policy is execution.node.find_child("Policy")
    assert isinstance(policy, iam.ManagedPolicy)


# -- what construction does ---------------------------------------------------------------------


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_the_options_are_checked_before_anything_is_created(
    stack: cdk.Stack, construct: type[Any]
) -> None:
    service = Construct(stack, "Service")
    with pytest.raises(ExecutionRoleError) as raised:
        construct(service, "Execution", max_managed_policies=0)
    # The message names the path the construct would have had.
    assert str(raised.value) == (
        "Stack/Service/Execution: max_managed_policies is 0; IAM allows 1 to 25 managed "
        "policies per role (10 unless the quota was raised). Pass an int in that range."
    )
    assert service.node.try_find_child("Execution") is None
    assert StackRoles.of(stack).entries == []
    # The id is free for a construct with valid options.
    construct(service, "Execution")


def test_the_role_is_registered_with_its_stack_with_its_plan_and_paths(stack: cdk.Stack) -> None:
    service = Construct(stack, "Service")
    first = MinimalExecutionRole(service, "Api", derive=False, role_name="api-execution")
    second = SharedExecutionRole(stack, "Shared")
    registry = StackRoles.of(stack)
    assert [entry.scope for entry in registry.entries] == [first, second]
    entry = _entry(first)
    assert entry.plan.where == "Stack/Service/Api" == str(first.node.path)
    role: Any = first.role
    assert entry.role is role
    assert entry.iam_role is role
    assert entry.role_path == "Stack/Service/Api/Resource/Resource"
    assert entry.role_path == str(_cfn_role(first).node.path)
    assert entry.plan.options.role_name == "api-execution"
    assert entry.plan.derive is False
    assert _entry(second).plan.derive is True
    assert (entry.synthesis, entry.policies) == (None, [])


def test_a_construct_in_a_nested_scope_belongs_to_the_scopes_stack(stack: cdk.Stack) -> None:
    service = Construct(Construct(stack, "Platform"), "Service")
    execution = SharedExecutionRole(service, "Shared")
    assert execution.stack is stack
    assert _entry(execution) in StackRoles.of(stack).entries


def test_roles_of_a_stack_share_one_principal_per_trust_setting(stack: cdk.Stack) -> None:
    MinimalExecutionRole(stack, "A")
    StarterExecutionRole(stack, "B")
    registry = StackRoles.of(stack)
    assert list(registry.principals) == [(True, False)]
    shared = registry.principals[(True, False)]
    MinimalExecutionRole(stack, "C", trust_conditions=False)
    SharedExecutionRole(stack, "D", trust_all_regions=True)
    assert list(registry.principals) == [(True, False), (False, False), (True, True)]
    assert registry.principals[(True, False)] is shared


def test_a_role_without_trust_conditions_trusts_ecs_tasks_unconditionally(
    stack: cdk.Stack,
) -> None:
    execution = MinimalExecutionRole(stack, "Api", trust_conditions=False)
    assert stack.resolve(_cfn_role(execution).assume_role_policy_document) == {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            }
        ],
        "Version": "2012-10-17",
    }


def test_the_aws_managed_policy_of_the_kind_is_attached_and_acknowledged(
    stack: cdk.Stack,
) -> None:
    starter = StarterExecutionRole(stack, "Starter")
    assert stack.resolve(_cfn_role(starter).managed_policy_arns) == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                ],
            ]
        }
    ]
    assert _acknowledgments(starter.role) == {
        f"AwsSolutions::AwsSolutions-IAM4[Policy::{STARTER_POLICY_ARN}]": (
            STARTER_MANAGED_POLICY.reason
        )
    }
    assert _entry(starter).plan.aws_managed_policies == (STARTER_MANAGED_POLICY,)
    # Attached by the construct itself: not among the policies reported as attached to it.
    role = starter.role
    assert isinstance(role, RecordingRole)
    assert role.attached_managed_policies == []


@pytest.mark.parametrize("construct", [MinimalExecutionRole, SharedExecutionRole])
def test_the_other_kinds_have_no_aws_managed_policy(stack: cdk.Stack, construct: type[Any]) -> None:
    execution = construct(stack, "Execution")
    assert stack.resolve(_cfn_role(execution).managed_policy_arns) is None
    assert _acknowledgments(execution.role) == {}
    assert _entry(execution).plan.aws_managed_policies == ()


# -- the props of each call ---------------------------------------------------------------------


def test_the_props_of_each_call_are_added_to_the_plan(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    shared = SharedExecutionRole(stack, "Shared", repositories=[repository])
    plan = _entry(shared).plan
    assert [need.kind for need in plan.needs] == [Kind.REPOSITORY]
    shared.add_family("api", log_groups=[log_group])
    assert [need.kind for need in plan.needs] == [Kind.REPOSITORY, Kind.LOG_GROUP]
    assert [need.kind for need in plan.families["api"]] == [Kind.LOG_GROUP]
    assert plan.has_props


def test_the_starter_adds_no_log_writes_its_managed_policy_makes(stack: cdk.Stack) -> None:
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    starter = StarterExecutionRole(stack, "Starter", log_groups_to_create=[log_group])
    assert [need.kind for need in _entry(starter).plan.needs] == [Kind.LOG_GROUP_CREATE]


def test_the_default_router_switch_stays_on_once_a_call_sets_it(stack: cdk.Stack) -> None:
    shared = SharedExecutionRole(stack, "Shared", firelens_default_router=True)
    plan = _entry(shared).plan
    assert plan.switches == {"firelens_default_router"} and plan.observes
    shared.add_resources(repositories=[ecr.Repository.from_repository_name(stack, "R", "a")])
    assert plan.switches == {"firelens_default_router"} and plan.observes
    plain = _entry(SharedExecutionRole(stack, "Plain", derive=False)).plan
    assert plain.switches == set() and not plain.observes
    assets = SharedExecutionRole(stack, "Assets", derive=False, container_assets=True)
    # Met by its props alone: nothing to observe.
    assert _entry(assets).plan.switches == {"container_assets"}
    assert not _entry(assets).plan.observes
    agent = SharedExecutionRole(stack, "Agent", derive=False, guardduty_runtime_monitoring=True)
    # The app's grants for the agent are read at synth (``_guardduty``).
    assert _entry(agent).plan.observes


def test_a_bad_prop_of_a_later_call_names_the_construct_and_adds_nothing(
    stack: cdk.Stack,
) -> None:
    shared = SharedExecutionRole(stack, "Shared")
    with pytest.raises(ExecutionRoleError) as raised:
        shared.add_resources(repositories="api")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "Stack/Shared: repositories is 'api' (str), not a sequence; pass a list of CDK "
        "objects, for example repositories=[obj] rather than repositories=obj."
    )
    assert _entry(shared).plan.needs == ()
