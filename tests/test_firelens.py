"""FireLens routers with AWS's image (``_firelens``): the pull from the AWS-owned
aws-for-fluent-bit repository of the region, the shape of aws-cdk-lib's grant for the router's
image, the fix a gap on ECR ``*`` suggests, and what :func:`observe_default_routers` finds in
the task definitions that use a role.

The observer is given task definitions of a small app (aws-cdk-lib's own router rendered, an
L1 task definition, a task of another stack) with what the reader found in their containers
written out by hand. End-to-end cases through synth (templates, several tasks, another stack,
an unknown region through the constructs) are in ``test_features.py``; the checks' use of
:class:`Routers` is in ``test_checks.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct
from helpers import role_options

from ecs_exec_roles import ExecutionRoleError
from ecs_exec_roles._aws_repositories import FLUENT_BIT_ACCOUNTS
from ecs_exec_roles._firelens import (
    Routers,
    is_router_image_grant,
    observe_default_routers,
    router_image_fix,
    router_image_needs,
)
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._plan import Plan
from ecs_exec_roles._reader import Image, ImageSource, Registry, TaskRead
from ecs_exec_roles._task_definitions import IndexedTask
from ecs_exec_roles._usage import RoleUsage, TaskView

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
IMAGE_ARN = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":ecr:eu-west-1:906394416424:repository/aws-for-fluent-bit",
]
TOKEN = "ecr:GetAuthorizationToken"
PULLS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
# aws-cdk-lib's grant for its default router's image, resolved.
ROUTER_GRANT: dict[str, Any] = {"Effect": "Allow", "Action": [TOKEN, *PULLS], "Resource": "*"}


class App:
    """One app for the module: a role's stack with its owner construct, the task definitions
    that use the role, and a stack of another task definition."""

    def __init__(self) -> None:
        self.app = cdk.App()
        self.stack = cdk.Stack(self.app, "EnvStack", env=ENV)
        self.other = cdk.Stack(self.app, "Other", env=ENV)
        self.owner = Construct(self.stack, "Role")
        # A task whose container logs through FireLens without a router: rendering it adds
        # aws-cdk-lib's "log-router", which logs to the "LogGroup" it creates under it.
        self.task = _routerless_task(self.stack, "Task")
        cfn = self.task.node.default_child
        assert isinstance(cfn, ecs.CfnTaskDefinition)
        self.stack.resolve(cfn.container_definitions)
        self.other_task = _routerless_task(self.other, "OtherTask")
        self.l1: Any = ecs.CfnTaskDefinition(self.stack, "L1", family="l1")

    @property
    def router_log_group(self) -> logs.LogGroup:
        found = self.task.node.find_child("log-router").node.find_child("LogGroup")
        assert isinstance(found, logs.LogGroup)
        return found


def _routerless_task(stack: cdk.Stack, id: str) -> ecs.FargateTaskDefinition:
    task = ecs.FargateTaskDefinition(stack, id)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    return task


@pytest.fixture(scope="module")
def built() -> App:
    return App()


def _plan(*, default_router: bool = False, derive: bool = False) -> Plan:
    plan = Plan("EnvStack/Role", role_options())
    if default_router:
        plan.switches.add("firelens_default_router")
    plan.derive = derive
    return plan


def _view(task: Any, *images: tuple[str, Registry], is_l1: bool = False) -> TaskView:
    """A task definition that uses the role, whose containers have ``images``."""
    entry = IndexedTask(task, task if is_l1 else None)
    read = TaskRead(
        images=[Image(name, None, "", ImageSource(registry)) for name, registry in images]
    )
    return TaskView(entry, [], read)


def _usage(built: App, *views: TaskView) -> RoleUsage:
    role: Any = None  # the observer reads neither the role nor the stack's values
    return RoleUsage(built.stack, role, built.owner, role, tasks=list(views))


def _observe(built: App, plan: Plan, *views: TaskView) -> Routers:
    found = observe_default_routers(plan, _usage(built, *views))
    assert found is not None
    return found


def _resolved(stack: cdk.Stack, needs: Sequence[Need]) -> list[tuple[Kind, Any]]:
    return [(need.kind, stack.resolve(need.arn)) for need in needs]


# -- the router's image: the AWS-owned repository of the region ---------------------------------


def test_router_image_needs_nothing_when_not_enabled(built: App) -> None:
    assert router_image_needs(built.owner, "EnvStack/Role", False) == []


def test_router_image_need_names_the_repository_of_a_concrete_region(built: App) -> None:
    (need,) = router_image_needs(built.owner, "EnvStack/Role", True)
    assert need.kind is Kind.REPOSITORY
    assert need.origin == "firelens_default_router"
    assert built.stack.resolve(need.arn) == {"Fn::Join": ["", IMAGE_ARN]}


def test_router_image_need_looks_the_account_up_by_region_when_the_region_is_a_token() -> None:
    stack = cdk.Stack(cdk.App(), "Agnostic")
    scope = Construct(stack, "Role")
    (need,) = router_image_needs(scope, "Agnostic/Role", True)
    # The mapping is made under the scope given, one per role.
    mapping = scope.node.find_child("FluentBitImageAccounts")
    assert isinstance(mapping, cdk.CfnMapping)
    region = {"Ref": "AWS::Region"}
    assert stack.resolve(need.arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:",
                region,
                ":",
                {"Fn::FindInMap": [stack.get_logical_id(mapping), region, "account"]},
                ":repository/aws-for-fluent-bit",
            ],
        ]
    }


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("us-east-1", "906394416424"),
        ("ap-east-1", "449074385750"),
        ("cn-north-1", "128054284489"),
        ("us-gov-west-1", "161423150738"),
    ],
)
def test_router_image_need_takes_the_account_of_its_region(region: str, account: str) -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region=region))
    (need,) = router_image_needs(stack, "S/Role", True)
    assert need.arn.endswith(f":ecr:{region}:{account}:repository/aws-for-fluent-bit")


def test_fails_when_the_region_of_the_router_image_is_not_known() -> None:
    stack = cdk.Stack(
        cdk.App(), "Far", env=cdk.Environment(account="123456789012", region="ap-east-2")
    )
    with pytest.raises(ExecutionRoleError) as raised:
        router_image_needs(stack, "Far/Role", True)
    assert str(raised.value) == (
        "Far/Role: firelens_default_router=True, but the aws-for-fluent-bit repository of "
        f"region 'ap-east-2' is not known to this library (it knows "
        f"{', '.join(sorted(FLUENT_BIT_ACCOUNTS))}). Pass the repository from the "
        "aws-for-fluent-bit SSM parameter of the region in repositories instead, for example "
        "ecr.Repository.from_repository_arn(scope, 'Repo', "
        "'arn:aws:ecr:ap-east-2:<account>:repository/aws-for-fluent-bit')."
    )


# -- the shape of aws-cdk-lib's grant for the router's image ------------------------------------


@pytest.mark.parametrize(
    "grant",
    [
        ROUTER_GRANT,
        {"Effect": "Allow", "Action": [*reversed(PULLS), TOKEN], "Resource": ["*"]},
        {"Action": [TOKEN, *PULLS, TOKEN], "Resource": "*"},
    ],
    ids=["as-rendered", "any-order-resource-list", "effect-left-out-duplicate-action"],
)
def test_a_grant_of_the_token_and_pulls_on_star_is_the_router_image_grant(
    grant: dict[str, Any],
) -> None:
    assert is_router_image_grant(grant)


@pytest.mark.parametrize(
    "grant",
    [
        {**ROUTER_GRANT, "Effect": "Deny"},
        {**ROUTER_GRANT, "Resource": "arn:aws:ecr:eu-west-1:906394416424:repository/x"},
        {**ROUTER_GRANT, "Resource": ["*", "arn:aws:ecr:eu-west-1:1:repository/x"]},
        {**ROUTER_GRANT, "Condition": {"StringEquals": {"aws:ResourceTag/t": "v"}}},
        {**ROUTER_GRANT, "Action": PULLS},
        {**ROUTER_GRANT, "Action": [TOKEN, *PULLS, "ecr:PutImage"]},
        {**ROUTER_GRANT, "Action": TOKEN},
        {"Effect": "Allow", "Resource": "*"},
    ],
    ids=[
        "deny",
        "a-repository",
        "star-and-a-repository",
        "condition",
        "no-token",
        "one-action-more",
        "token-only",
        "no-action",
    ],
)
def test_any_other_grant_is_not_the_router_image_grant(grant: dict[str, Any]) -> None:
    assert not is_router_image_grant(grant)


def test_routers_account_for_one_router_image_grant_per_router_task(built: App) -> None:
    other = {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
    grants = [other, ROUTER_GRANT, ROUTER_GRANT, other, ROUTER_GRANT]
    assert Routers().accounted_for(grants) == set()
    assert Routers(tasks=[built.task]).accounted_for(grants) == {1}
    assert Routers(tasks=[built.task, built.task]).accounted_for(grants) == {1, 2}
    assert Routers(tasks=[built.task] * 4).accounted_for(grants) == {1, 2, 4}
    assert Routers(tasks=[built.task] * 4).accounted_for([other]) == set()


def test_routers_values_are_the_arns_of_their_needs_in_order() -> None:
    needs = [Need(Kind.LOG_GROUP, "arn:b", "o"), Need(Kind.LOG_GROUP, "arn:a", "o")]
    assert Routers(needs=needs).values == ["arn:b", "arn:a"]
    assert Routers().values == []


# -- the fix a gap on ECR '*' suggests ----------------------------------------------------------

ROUTER_FIX = (
    "this role names repositories, never '*'; aws-cdk-lib grants ECR on '*' for its default "
    "FireLens log router: pass firelens_default_router=True (pulls from the aws-for-fluent-bit "
    "repository of the region only), or add the router with task.add_firelens_log_router(...) "
    "and an image from a repository in `repositories` (or from public.ecr.aws)"
)


@pytest.mark.parametrize("action", [a.lower() for a in PULLS])
def test_a_pull_on_star_is_fixed_by_the_default_router_option(action: str) -> None:
    assert router_image_fix(action, "*") == ROUTER_FIX


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ecr:batchgetimage", "arn:aws:ecr:eu-west-1:123456789012:repository/app"),
        ("ecr:batchgetimage", "arn:aws:ecr:eu-west-1:123456789012:repository/*"),
        ("ecr:getauthorizationtoken", "*"),
        ("logs:putlogevents", "*"),
    ],
)
def test_no_router_fix_for_other_actions_or_resources(action: str, resource: str) -> None:
    assert router_image_fix(action, resource) is None


# -- observing the routers of the role's task definitions ---------------------------------------


def test_nothing_is_observed_unless_the_role_covers_default_routers_or_derives(
    built: App,
) -> None:
    view = _view(built.task, ("log-router", Registry.FLUENT_BIT))
    assert observe_default_routers(_plan(), _usage(built, view)) is None


def test_default_router_option_covers_the_log_group_of_aws_cdk_libs_router(built: App) -> None:
    view = _view(built.task, ("app", Registry.OTHER), ("log-router", Registry.FLUENT_BIT))
    found = _observe(built, _plan(default_router=True), view)
    assert found.tasks == [built.task]
    assert found.errors == []
    (need,) = found.needs
    assert need.kind is Kind.LOG_GROUP
    assert need.arn == built.router_log_group.log_group_arn
    cfn = built.router_log_group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    assert built.stack.resolve(need.arn) == {"Fn::GetAtt": [built.stack.get_logical_id(cfn), "Arn"]}
    assert str(need.origin) == "the default FireLens log router of EnvStack/Task"
    assert found.values == [need.arn]


def test_a_derived_role_pulls_the_router_image_and_leaves_its_log_group_to_derivation(
    built: App,
) -> None:
    view = _view(built.task, ("log-router", Registry.FLUENT_BIT))
    found = _observe(built, _plan(derive=True), view)
    assert found.tasks == [built.task]
    assert found.errors == []
    assert _resolved(built.stack, found.needs) == [(Kind.REPOSITORY, {"Fn::Join": ["", IMAGE_ARN]})]
    assert found.needs[0].origin == "firelens_default_router"


def test_a_derived_role_with_the_default_router_option_adds_no_second_image_need(
    built: App,
) -> None:
    # The option already put the image into the props' needs.
    view = _view(built.task, ("log-router", Registry.FLUENT_BIT))
    found = _observe(built, _plan(default_router=True, derive=True), view)
    assert found.tasks == [built.task]
    assert found.needs == []


@pytest.mark.parametrize("derive", [False, True])
def test_task_definitions_without_routers_of_aws_image_are_not_counted(
    built: App, derive: bool
) -> None:
    views = [
        _view(built.task, ("app", Registry.OTHER), ("sidecar", Registry.ECR)),
        _view(built.l1, ("router", Registry.UNKNOWN), is_l1=True),
        _view(built.task),
    ]
    found = _observe(built, _plan(default_router=not derive, derive=derive), *views)
    assert (found.tasks, found.needs, found.errors) == ([], [], [])


def test_each_router_of_aws_image_counts_once_and_only_aws_cdk_libs_names_a_log_group(
    built: App,
) -> None:
    # "firelens" stands for a router the app added itself: no such child holds a log group
    # of aws-cdk-lib's, so its log group is the app's own (in `log_groups`).
    view = _view(built.task, ("firelens", Registry.FLUENT_BIT), ("log-router", Registry.FLUENT_BIT))
    found = _observe(built, _plan(default_router=True), view)
    assert found.tasks == [built.task, built.task]
    assert [need.arn for need in found.needs] == [built.router_log_group.log_group_arn]


def test_a_router_of_an_l1_task_definition_counts_without_a_log_group(built: App) -> None:
    view = _view(built.l1, ("log-router", Registry.FLUENT_BIT), is_l1=True)
    found = _observe(built, _plan(default_router=True), view)
    assert found.tasks == [built.l1]
    assert found.needs == []


def test_a_router_in_another_stack_is_an_error_for_a_role_not_derived(built: App) -> None:
    views = [
        _view(built.other_task, ("log-router", Registry.FLUENT_BIT)),
        _view(built.task, ("log-router", Registry.FLUENT_BIT)),
    ]
    found = _observe(built, _plan(default_router=True), *views)
    assert found.errors == [
        "EnvStack/Role: the FireLens log router of Other/OtherTask is in another stack than "
        "the role, whose router log group this role cannot name without a dependency cycle "
        "between the stacks. Add the router yourself with task.add_firelens_log_router(...) "
        "and a log group from this role's stack in `log_groups`."
    ]
    # The router of the role's own stack is still covered.
    assert found.tasks == [built.task]
    assert [need.arn for need in found.needs] == [built.router_log_group.log_group_arn]


def test_a_router_in_another_stack_is_covered_by_a_derived_role(built: App) -> None:
    view = _view(built.other_task, ("log-router", Registry.FLUENT_BIT))
    found = _observe(built, _plan(derive=True), view)
    assert found.errors == []
    assert found.tasks == [built.other_task]
    # The image need is the role's (its stack's region), not the task's stack.
    assert _resolved(built.stack, found.needs) == [(Kind.REPOSITORY, {"Fn::Join": ["", IMAGE_ARN]})]
    assert found.needs[0].home is None
