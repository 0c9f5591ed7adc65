"""The GuardDuty Runtime Monitoring agent (``_guardduty``): its repository, the grants of ECR
pulls on ``*`` a role given the switch takes as the agent's, and the fix a role without it
is told, by the construct and by the aspect."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from helpers import concrete_environment, role_options
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from ecs_exec_roles._guardduty import (
    AgentPulls,
    agent_pull_fix,
    guardduty_needs,
    observe_agent_pulls,
)
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._plan import Plan

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
TOKEN = "ecr:GetAuthorizationToken"
PULLS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
AGENT = f"arn:aws:ecr:{REGION}:694911143906:repository/aws-guardduty-agent-fargate"
APP_REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
OTHER = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/other"


def test_the_switch_allows_the_agents_repository_of_the_region() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    assert guardduty_needs(stack, "S/Role", False) == []
    (need,) = guardduty_needs(stack, "S/Role", True)
    assert need.kind is Kind.REPOSITORY
    assert stack.resolve(need.arn) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, AGENT.removeprefix("arn:aws")]]
    }


@pytest.mark.parametrize(
    ("grant", "accounted"),
    [
        ({"Action": [TOKEN, *PULLS], "Resource": "*"}, True),
        ({"Action": PULLS, "Resource": ["*"], "Effect": "Allow"}, True),
        ({"Action": TOKEN, "Resource": "*"}, True),
        ({"Action": PULLS, "Resource": APP_REPOSITORY}, False),
        ({"Action": [*PULLS, "ecr:PutImage"], "Resource": "*"}, False),
        ({"Action": PULLS, "Resource": "*", "Effect": "Deny"}, False),
        ({"Action": PULLS, "Resource": "*", "Condition": {"Bool": {"a": "b"}}}, False),
        ({"Action": "ecr:*", "Resource": "*"}, False),
        ({"Action": [], "Resource": "*"}, False),
    ],
)
def test_only_grants_of_the_ecr_token_and_pulls_on_star_are_the_agents(
    grant: dict[str, Any], accounted: bool
) -> None:
    assert AgentPulls().accounted_for([{"Effect": "Allow"}, grant]) == ({1} if accounted else set())


def test_a_role_is_observed_for_the_agent_only_when_given_the_switch() -> None:
    plan = Plan("S/Role", role_options())
    usage: Any = None  # the observer reads the plan only
    assert observe_agent_pulls(plan, usage) is None
    plan.switches.add("guardduty_runtime_monitoring")
    observation = observe_agent_pulls(plan, usage)
    assert isinstance(observation, AgentPulls)
    assert (observation.needs, observation.values, observation.errors) == ((), (), ())


def test_the_fix_of_a_pull_on_star_names_the_switch_and_its_owner() -> None:
    fix = agent_pull_fix("HardenExecutionRoles")
    text = fix("ecr:batchgetimage", "*")
    assert text is not None
    assert "guardduty_runtime_monitoring=True to HardenExecutionRoles" in text
    assert fix("ecr:batchgetimage", APP_REPOSITORY) is None
    assert fix("logs:putlogevents", "*") is None


def _app(*, switch: bool, aspect: bool) -> tuple[cdk.App, cdk.Stack]:
    """A Fargate task whose app grants ECR pulls on ``*`` for the GuardDuty agent."""
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role: Any = None
    if not aspect:
        repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
        role = MinimalExecutionRole(
            stack, "Role", repositories=[repository], guardduty_runtime_monitoring=switch
        )
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(
            f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api"
        ),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
    )
    task.add_to_execution_role_policy(iam.PolicyStatement(actions=[TOKEN, *PULLS], resources=["*"]))
    if aspect:
        cdk.Aspects.of(app).add(HardenExecutionRoles(guardduty_runtime_monitoring=switch))
    return app, stack


@pytest.mark.parametrize("aspect", [False, True], ids=["construct", "aspect"])
def test_a_role_given_the_switch_takes_a_pull_on_star_as_the_agents(aspect: bool) -> None:
    app, _ = _app(switch=True, aspect=aspect)
    template = app.synth().get_stack_by_name("S").template
    (role,) = (
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and "TaskRole" not in logical_id
    )
    policies = role_policies(template, role, concrete_environment(template))
    for action in PULLS:
        assert is_allowed(policies, action, AGENT)
        assert is_allowed(policies, action, APP_REPOSITORY)
        assert not is_allowed(policies, action, OTHER)
    assert is_allowed(policies, TOKEN, "*")


@pytest.mark.parametrize(
    ("aspect", "owner"),
    [(False, "MinimalExecutionRole"), (True, "HardenExecutionRoles")],
    ids=["construct", "aspect"],
)
def test_a_pull_on_star_without_the_switch_fails_naming_it_and_the_owner(
    aspect: bool, owner: str
) -> None:
    app, _ = _app(switch=False, aspect=aspect)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    if aspect:
        # The aspect takes neither repositories nor the router switch: its message names
        # its own option.
        assert f"pass guardduty_runtime_monitoring=True to {owner}" in message
        assert "`repositories`" not in message.split("ecr:GetAuthorizationToken")[0]
        assert "firelens_default_router" not in message
    else:
        # A construct's pull on '*' is first taken for aws-cdk-lib's FireLens router.
        assert "firelens_default_router=True" in message
