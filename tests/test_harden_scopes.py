"""Where HardenExecutionRoles applies and with which options: the aspect nearest to a task
definition decides, two with different options on one scope fail synth naming both, and the
aspect's own options (GuardDuty, pull-through cache) are checked when it is made and allow
what they name."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from helpers import concrete_environment
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import ExecutionRoleError, HardenExecutionRoles

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
PULLS = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")


def _task(stack: cdk.Stack, image: str = "public.ecr.aws/nginx/nginx:1") -> None:
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry(image),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
    )


def _execution_role(template: dict[str, Any]) -> dict[str, Any]:
    (role,) = (
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and "ExecutionRole" in logical_id
    )
    return role


def _trust_condition(template: dict[str, Any]) -> Any:
    statement = _execution_role(template)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement[0].get("Condition")


def test_the_aspect_nearest_to_a_task_definition_decides_its_options() -> None:
    app = cdk.App()
    plain = cdk.Stack(app, "Plain", env=ENV)
    loose = cdk.Stack(app, "Loose", env=ENV)
    _task(plain)
    _task(loose)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    cdk.Aspects.of(loose).add(HardenExecutionRoles(trust_conditions=False))
    assembly = app.synth()
    assert _trust_condition(assembly.get_stack_by_name("Plain").template) is not None
    # The stack's aspect, not the app's: no conditions.
    assert _trust_condition(assembly.get_stack_by_name("Loose").template) is None


def test_the_nearest_aspect_decides_whichever_was_added_first() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack)
    cdk.Aspects.of(stack).add(HardenExecutionRoles(trust_all_regions=True))
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    condition = _trust_condition(app.synth().get_stack_by_name("S").template)
    assert ":ecs:*:" in str(condition["ArnLike"]["aws:SourceArn"])


def test_two_aspects_with_the_same_options_on_one_scope_are_one() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    cdk.Aspects.of(app).add(HardenExecutionRoles(trust_conditions=True))
    assert _trust_condition(app.synth().get_stack_by_name("S").template) is not None


def test_two_aspects_with_different_options_on_one_scope_fail_naming_both() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack)
    cdk.Aspects.of(stack).add(HardenExecutionRoles())
    cdk.Aspects.of(stack).add(HardenExecutionRoles(trust_conditions=False))
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "S/Task: HardenExecutionRoles() and HardenExecutionRoles(trust_conditions=False) are "
        "both added to S"
    ) in message


def test_the_aspect_shows_the_options_it_was_given() -> None:
    assert repr(HardenExecutionRoles()) == "HardenExecutionRoles()"
    shown = repr(
        HardenExecutionRoles(
            trust_all_regions=True,
            guardduty_runtime_monitoring=True,
            pull_through_cache_prefixes=["docker-hub"],
            pull_through_cache_tagging=True,
        )
    )
    assert shown == (
        "HardenExecutionRoles(trust_all_regions=True, guardduty_runtime_monitoring=True, "
        "pull_through_cache_prefixes=['docker-hub'], pull_through_cache_tagging=True)"
    )


def test_the_pull_through_cache_option_allows_the_cache_under_each_prefix() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _task(stack, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/docker-hub/library/nginx:1")
    cdk.Aspects.of(app).add(HardenExecutionRoles(pull_through_cache_prefixes=["docker-hub"]))
    template = app.synth().get_stack_by_name("S").template
    role = next(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and "ExecutionRole" in logical_id
    )
    policies = role_policies(template, role, concrete_environment(template))
    cached = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/docker-hub/library/redis"
    for action in (*PULLS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"):
        assert is_allowed(policies, action, cached), action
    assert not is_allowed(policies, "ecr:TagResource", cached)
    other = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/quay/x"
    assert not is_allowed(policies, "ecr:BatchImportUpstreamImage", other)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pull_through_cache_prefixes": "docker-hub"}, "pull_through_cache_prefixes is"),
        ({"pull_through_cache_prefixes": ["Docker Hub"]}, r"pull_through_cache_prefixes\[0\]"),
        ({"pull_through_cache_tagging": True}, "pull_through_cache_tagging=True needs"),
        ({"guardduty_runtime_monitoring": "yes"}, "guardduty_runtime_monitoring is 'yes'"),
    ],
)
def test_bad_options_fail_when_the_aspect_is_made(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ExecutionRoleError, match=f"^HardenExecutionRoles: {message}"):
        HardenExecutionRoles(**options)
