"""Synthesis of a sealed plan (``_synthesis``): its statements in one policy set per stack
(the role's first), packed within IAM's size quota; the customer-managed policies made of
them (construct IDs ``Policy``, ``Policy2``..., their logical IDs, description, attachment and
cdk-nag acknowledgments); and the pseudo-parameter lengths a stack's environment fixes.

:func:`synthesize` is tested on hand-written needs with literal ARNs; the policies are made in
one small app (not synthesized). How statements are built and packed is tested in
``test_statements.py`` and ``test_packing.py``; policy logical IDs staying stable as families
are added, in ``test_shared.py``; cdk-nag's view of the acknowledgments, in ``test_nag.py``.
"""

from __future__ import annotations

import re
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct
from helpers import role_options

from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._packing import MANAGED_POLICY_MAX_CHARS
from ecs_exec_roles._plan import AwsManagedPolicy, Plan
from ecs_exec_roles._statements import Statement
from ecs_exec_roles._synthesis import (
    PolicySet,
    Synthesis,
    create_policies,
    known_pseudo_lengths,
    synthesize,
)

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
REPOSITORY = "arn:aws:ecr:eu-west-1:123456789012:repository/"
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:"
TOKEN_REASON = (
    "ecr:GetAuthorizationToken supports no resource-level permissions; "
    "image pulls are scoped to repositories in the EcrImagePull statement."
)
LOGS_REASON = (
    "The awslogs driver creates one log stream per container and task "
    "(prefix/container/task-id), unknown before launch; the wildcard covers only "
    "streams of this log group."
)


def _repositories(count: int, width: int = 200) -> list[Need]:
    """``count`` repositories of about ``width`` characters: 40 of 200 fill two policies."""
    return [
        Need(Kind.REPOSITORY, f"{REPOSITORY}r{index:03d}-" + "x" * width, "t")
        for index in range(count)
    ]


def _plan(*needs: Need, max_managed_policies: int = 10, **kwargs: Any) -> Plan:
    plan = Plan("Stack/Role", role_options(max_managed_policies), kwargs.get("managed", ()))
    plan.add(needs)
    plan.seal()
    return plan


def _synthesize(plan: Plan, resolve: Any = None, **pseudo: int) -> Synthesis:
    return synthesize(
        plan,
        resolve or (lambda value: value),
        url_suffix="amazonaws.com",
        pseudo_max_chars=dict(pseudo),
    )


def _resources(statements: tuple[Statement, ...]) -> list[str]:
    return [resource.value for statement in statements for resource in statement.resources]


# -- synthesize: one policy set per stack --------------------------------------------------------


def test_a_plan_without_needs_gives_the_role_one_empty_set() -> None:
    synthesis = _synthesize(_plan())
    (only,) = synthesis.sets
    assert only.home is None
    assert only.statements == ()
    assert only.packing.policies == ()
    assert (synthesis.policy_count, synthesis.total_chars, synthesis.oversized) == (0, 0, ())
    assert synthesis.fits(_plan())


def test_needs_of_the_roles_stack_go_into_its_set_packed() -> None:
    plan = _plan(
        Need(Kind.LOG_GROUP, f"{LOG_GROUP}/ecs/app", "t"),
        Need(Kind.REPOSITORY, REPOSITORY + "a", "t"),
    )
    synthesis = _synthesize(plan)
    (only,) = synthesis.sets
    assert only.home is None
    assert [s.sid for s in only.statements] == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
    ]
    assert only.packing.policies == (only.statements,)
    assert synthesis.statements == only.statements
    assert synthesis.policy_count == 1
    assert synthesis.total_chars == only.packing.total_chars > 0


def test_needs_of_other_stacks_get_a_set_each_after_the_roles_in_order_of_first_need() -> None:
    # Any object stands for a stack here: needs are grouped by the identity of their home.
    first, second = object(), object()
    in_first = Need(Kind.LOG_GROUP, f"{LOG_GROUP}/ecs/first", "t", home=first)
    in_second = Need(Kind.LOG_GROUP, f"{LOG_GROUP}/ecs/second", "t", home=second)
    also_first = Need(Kind.REPOSITORY, REPOSITORY + "first", "t", home=first)
    own = Need(Kind.REPOSITORY, REPOSITORY + "own", "t")
    synthesis = _synthesize(_plan(in_second, in_first, own, also_first))
    assert [policy_set.home for policy_set in synthesis.sets] == [None, second, first]
    assert [_resources(policy_set.statements) for policy_set in synthesis.sets] == [
        ["*", REPOSITORY + "own"],
        [f"{LOG_GROUP}/ecs/second"],
        ["*", REPOSITORY + "first", f"{LOG_GROUP}/ecs/first"],
    ]
    assert synthesis.statements == tuple(
        statement for policy_set in synthesis.sets for statement in policy_set.statements
    )
    assert synthesis.policy_count == 3


def test_the_role_keeps_its_empty_set_when_every_need_is_in_another_stack() -> None:
    home = object()
    synthesis = _synthesize(_plan(Need(Kind.REPOSITORY, REPOSITORY + "a", "t", home=home)))
    assert [(s.home, len(s.statements)) for s in synthesis.sets] == [(None, 0), (home, 2)]
    assert synthesis.policy_count == 1


def test_counts_and_sizes_add_up_over_the_sets() -> None:
    home = object()
    own = _repositories(40)
    other = [Need(n.kind, n.arn, "t", home=home) for n in _repositories(3)]
    synthesis = _synthesize(_plan(*own, *other))
    assert [len(s.packing.policies) for s in synthesis.sets] == [2, 1]
    assert synthesis.policy_count == 3
    assert synthesis.total_chars == sum(s.packing.total_chars for s in synthesis.sets)
    assert all(
        s.packing.total_chars <= MANAGED_POLICY_MAX_CHARS * len(s.packing.policies)
        for s in synthesis.sets
    )


@pytest.mark.parametrize(
    ("max_managed_policies", "managed", "fits"),
    [
        (2, (), True),
        (1, (), False),
        (3, (AwsManagedPolicy("service-role/X", ("ecr:BatchGetImage",), "r"),), True),
        (2, (AwsManagedPolicy("service-role/X", ("ecr:BatchGetImage",), "r"),), False),
    ],
)
def test_a_synthesis_fits_in_as_many_policies_as_the_plan_allows(
    max_managed_policies: int, managed: tuple[AwsManagedPolicy, ...], fits: bool
) -> None:
    plan = _plan(*_repositories(40), max_managed_policies=max_managed_policies, managed=managed)
    synthesis = _synthesize(plan)
    assert synthesis.policy_count == 2
    assert synthesis.fits(plan) is fits


def test_a_resource_too_large_for_any_policy_is_oversized_and_never_fits() -> None:
    huge = REPOSITORY + "x" * MANAGED_POLICY_MAX_CHARS
    plan = _plan(Need(Kind.REPOSITORY, huge, "t"), Need(Kind.REPOSITORY, REPOSITORY + "a", "t"))
    synthesis = _synthesize(plan)
    ((statement, resource, chars),) = synthesis.oversized
    assert (statement.sid, resource.value) == ("EcrImagePull", huge)
    assert chars > MANAGED_POLICY_MAX_CHARS
    # The rest is still packed.
    assert sorted(_resources(synthesis.statements)) == ["*", REPOSITORY + "a", huge]
    assert [_resources(p) for p in synthesis.sets[0].packing.policies] == [["*", REPOSITORY + "a"]]
    assert not synthesis.fits(plan)


def test_known_pseudo_lengths_size_unresolved_partitions() -> None:
    # An ARN with the partition token counts the partition at its longest ("aws-iso-b", 9)
    # unless the stack's environment fixes it ("aws", 3).
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    arn = f"arn:{stack.partition}:ecr:eu-west-1:123456789012:repository/app"
    plan = _plan(Need(Kind.REPOSITORY, arn, "t"))
    longest = _synthesize(plan, stack.resolve)
    known = _synthesize(plan, stack.resolve, **{"AWS::Partition": 3})
    assert longest.total_chars - known.total_chars == len("aws-iso-b") - len("aws")


# -- create_policies: the policies' constructs, IDs and acknowledgments -------------------------


class App:
    """A role's stack and another stack, with policies for the role's needs in both:
    two policies in the role's stack, one in the other."""

    def __init__(self) -> None:
        app = cdk.App()
        self.stack = cdk.Stack(app, "Stack", env=ENV)
        self.other = cdk.Stack(app, "Other", env=ENV)
        self.scope = Construct(self.stack, "Role")
        self.role = iam.Role(
            self.scope, "Resource", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        )
        self.plan = _plan(
            *_repositories(40),
            Need(Kind.LOG_GROUP, f"{LOG_GROUP}/ecs/other:*", "t", home=self.other),
            Need(Kind.LOG_GROUP, f"{LOG_GROUP}/ecs/plain", "t", home=self.other),
        )
        self.synthesis = _synthesize(self.plan)
        self.scopes_asked: list[Any] = []
        self.created = create_policies(
            self.scope, self.role, self.plan, self.synthesis, self.scope_in
        )

    def scope_in(self, stack: Any) -> Construct:
        self.scopes_asked.append(stack)
        return Construct(stack, "Stack--Role")

    def policy(self, index: int) -> iam.ManagedPolicy:
        return self.created[index][0]

    def properties(self, index: int) -> dict[str, Any]:
        cfn = self.policy(index).node.default_child
        assert isinstance(cfn, iam.CfnManagedPolicy)
        stack = cdk.Stack.of(cfn)
        return {
            "Description": stack.resolve(cfn.description),
            "ManagedPolicyName": stack.resolve(cfn.managed_policy_name),
            "PolicyDocument": stack.resolve(cfn.policy_document),
            "Roles": stack.resolve(cfn.roles),
        }


@pytest.fixture(scope="module")
def built() -> App:
    return App()


def _acknowledgments(construct: IConstruct) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            found.update(entry.data)
    return found


def test_policies_are_named_policy_policy2_under_the_scope_of_their_stack(built: App) -> None:
    assert [(str(p.node.path), home, child_id) for p, _, home, child_id in built.created] == [
        ("Stack/Role/Policy", None, "Policy"),
        ("Stack/Role/Policy2", None, "Policy2"),
        ("Other/Stack--Role/Policy", built.other, "Policy"),
    ]
    # The scope of another stack is asked for once per policy set.
    assert built.scopes_asked == [built.other]


def test_each_policy_holds_the_statements_packed_for_it(built: App) -> None:
    packed = [p for policy_set in built.synthesis.sets for p in policy_set.packing.policies]
    assert [statements for _, statements, _, _ in built.created] == packed
    for index, (_, statements, _, _) in enumerate(built.created):
        assert built.properties(index)["PolicyDocument"] == {
            "Version": "2012-10-17",
            "Statement": [statement.to_json() for statement in statements],
        }


def test_logical_ids_follow_the_construct_path_without_its_resource(built: App) -> None:
    logical_ids = [
        cdk.Stack.of(policy).get_logical_id(cast(cdk.CfnElement, policy.node.default_child))
        for policy, _, _, _ in built.created
    ]
    patterns = [r"RolePolicy[0-9A-F]{8}", r"RolePolicy2[0-9A-F]{8}", r"StackRolePolicy[0-9A-F]{8}"]
    assert [bool(re.fullmatch(p, i)) for p, i in zip(patterns, logical_ids, strict=True)] == [
        True,
        True,
        True,
    ]


def test_policies_have_a_description_no_name_and_attach_to_the_role(built: App) -> None:
    cfn_role = cast(cdk.CfnElement, built.role.node.default_child)
    role_ref = {"Ref": built.stack.get_logical_id(cfn_role)}
    own = built.properties(0)
    assert own["Description"] == "Permissions ECS needs to start tasks with Stack/Role"
    # CloudFormation names the policy: a name of ours could clash between deployments.
    assert own["ManagedPolicyName"] is None
    assert own["Roles"] == [role_ref]
    assert built.properties(1)["Roles"] == [role_ref]
    assert built.properties(2)["Description"] == own["Description"]


def test_the_description_is_cut_to_iams_1000_characters() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    scope = Construct(stack, "Role")
    role = iam.Role(scope, "Resource", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    plan = Plan("Stack/" + "r" * 1200, role_options())
    plan.add([Need(Kind.REPOSITORY, REPOSITORY + "a", "t")])
    plan.seal()
    ((policy, _, _, _),) = create_policies(
        scope, role, plan, _synthesize(plan), lambda stack: scope
    )
    cfn = policy.node.default_child
    assert isinstance(cfn, iam.CfnManagedPolicy)
    description = stack.resolve(cfn.description)
    prefix = "Permissions ECS needs to start tasks with Stack/"
    assert description == prefix + "r" * (1000 - len(prefix))


def test_each_wildcard_resource_is_acknowledged_with_its_reason(built: App) -> None:
    assert _acknowledgments(built.policy(0)) == {
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]": TOKEN_REASON
    }
    # The second policy holds only repositories: nothing to acknowledge.
    assert _acknowledgments(built.policy(1)) == {}
    # Only the log group ARN with a wildcard, never the plain one.
    assert _acknowledgments(built.policy(2)) == {
        f"AwsSolutions::AwsSolutions-IAM5[Resource::{LOG_GROUP}/ecs/other:*]": LOGS_REASON,
    }


def test_a_synthesis_without_statements_makes_no_policy() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    scope = Construct(stack, "Role")
    role = iam.Role(scope, "Resource", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    plan = _plan()
    empty = Synthesis((PolicySet(None, (), _synthesize(plan).sets[0].packing),))
    assert create_policies(scope, role, plan, empty, lambda stack: scope) == []
    assert [child.node.id for child in scope.node.children] == ["Resource"]


# -- known_pseudo_lengths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu-west-1", {"AWS::Partition": 3}),
        ("cn-north-1", {"AWS::Partition": 6}),
        ("us-gov-west-1", {"AWS::Partition": 10}),
        ("us-isob-east-1", {"AWS::Partition": 9}),
        ("moon-base-1x", {}),
    ],
)
def test_a_concrete_region_fixes_the_length_of_its_partition(
    region: str, expected: dict[str, int]
) -> None:
    stack = cdk.Stack(
        cdk.App(), "Stack", env=cdk.Environment(account="123456789012", region=region)
    )
    assert known_pseudo_lengths(stack) == expected


def test_an_environment_agnostic_stack_fixes_no_pseudo_length() -> None:
    assert known_pseudo_lengths(cdk.Stack(cdk.App(), "Stack")) == {}


def test_pseudo_lengths_are_computed_once_per_stack() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    assert known_pseudo_lengths(stack) is known_pseudo_lengths(stack)
