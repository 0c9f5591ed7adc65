"""Where HardenExecutionRoles applies and with which options (``_aspect_reach``): the aspect
nearest to a task definition decides, two with different options on one scope fail synth
naming both, stages an aspect cannot reach and task definitions made after it ran fail synth
with the fix; and the aspect's own options (GuardDuty, pull-through cache), checked when it
is made, allow what they name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ecs as ecs
from constructs import Construct, IConstruct
from helpers import concrete_environment, fargate_job
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
    # The defaults, passed: the same options.
    cdk.Aspects.of(app).add(HardenExecutionRoles(app_roles=True, trust_all_regions=False))
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


class _Service(cdk.Stage):
    """A stage of a pipeline with a service stack, and a stage in it with another."""

    def __init__(self, scope: Any, id: str, *, harden: bool = False) -> None:
        super().__init__(scope, id)
        _task(cdk.Stack(self, "Api", env=ENV))
        inner = cdk.Stage(self, "Inner")
        _task(cdk.Stack(inner, "Deep", env=ENV))
        if harden:
            cdk.Aspects.of(self).add(HardenExecutionRoles())
            cdk.Aspects.of(inner).add(HardenExecutionRoles())


def test_an_aspect_on_the_app_fails_synth_naming_the_stages_it_cannot_reach() -> None:
    app = cdk.App()
    _task(cdk.Stack(app, "Top", env=ENV))
    pipeline = cdk.Stack(app, "Pipeline", env=ENV)
    _Service(pipeline, "Prod")
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    for stage, task in (("Pipeline/Prod", "Api"), ("Pipeline/Prod/Inner", "Deep")):
        assert (
            f"{stage}: HardenExecutionRoles added to the app does not reach this stage "
            "(aws-cdk-lib synthesizes a stage before the aspects of the scopes around it run), "
            f"so {stage}/{task}/Task keep the execution roles aws-cdk-lib made. Add the aspect "
            "inside the stage too: cdk.Aspects.of(stage).add(HardenExecutionRoles(...))."
        ) in message


def test_the_aspect_added_inside_each_stage_hardens_its_stacks() -> None:
    app = cdk.App()
    _task(cdk.Stack(app, "Top", env=ENV))
    prod = _Service(app, "Prod", harden=True)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    assembly = app.synth()
    templates = [
        assembly.get_stack_by_name("Top").template,
        prod.synth().get_stack_by_name("Prod-Api").template,
        cdk.Stage.of(prod.node.find_child("Inner").node.find_child("Deep"))  # type: ignore[union-attr]
        .synth()
        .get_stack_by_name("Prod-Inner-Deep")
        .template,
    ]
    for template in templates:
        assert _trust_condition(template) is not None
        types = {resource["Type"] for resource in template["Resources"].values()}
        assert "AWS::IAM::Policy" not in types and "AWS::IAM::ManagedPolicy" in types


def _batch_job(stack: cdk.Stack) -> None:
    fargate_job(stack, "Task", "Job")


def _late_task_app(stabilization: bool, make: Callable[[cdk.Stack], Any] = _task) -> cdk.App:
    """A task definition (or what ``make`` makes) made by an aspect that runs after
    HardenExecutionRoles visited its stack's children."""
    app = cdk.App(context={"@aws-cdk/core:aspectStabilization": stabilization})
    stack = cdk.Stack(app, "S", env=ENV)
    marker = Construct(stack, "Marker")

    @jsii.implements(cdk.IAspect)
    class MakeTask:
        def visit(self, node: IConstruct) -> None:
            if node is marker and stack.node.try_find_child("Task") is None:
                make(stack)

    cdk.Aspects.of(app).add(HardenExecutionRoles())
    cdk.Aspects.of(marker).add(MakeTask())
    return app


def test_a_task_definition_made_by_a_later_aspect_is_hardened_with_stabilization() -> None:
    template = _late_task_app(True).synth().get_stack_by_name("S").template
    assert _trust_condition(template) is not None


def test_a_task_definition_the_aspect_never_saw_fails_synth_naming_the_order() -> None:
    with pytest.raises(RuntimeError) as raised:
        _late_task_app(False).synth()
    assert (
        "S/Task: its execution role, made by aws-cdk-lib, was not hardened: it was made "
        "after HardenExecutionRoles visited the app (by an aspect that ran after it, with "
        "@aws-cdk/core:aspectStabilization off)."
    ) in str(raised.value)


def test_a_batch_job_made_by_a_later_aspect_is_hardened_or_fails_synth() -> None:
    template = _late_task_app(True, _batch_job).synth().get_stack_by_name("S").template
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    with pytest.raises(RuntimeError) as raised:
        _late_task_app(False, _batch_job).synth()
    assert (
        "S/Task: its execution role, made by aws-cdk-lib, was not hardened: it was made after"
        in str(raised.value)
    )


def test_the_aspects_fix_for_a_region_without_a_known_agent_repository_is_a_construct() -> None:
    app = cdk.App()
    region = "ap-southeast-6"
    stack = cdk.Stack(app, "Far", env=cdk.Environment(account=ACCOUNT, region=region))
    _task(stack)
    cdk.Aspects.of(app).add(HardenExecutionRoles(guardduty_runtime_monitoring=True))
    with pytest.raises(Exception) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        f"guardduty_runtime_monitoring=True, but the aws-guardduty-agent-fargate repository of "
        f"region '{region}' is not known to this library"
    ) in message
    assert (
        "Give the task definitions of that region a MinimalExecutionRole with the repository "
        "from the GuardDuty User Guide in repositories instead"
    ) in message
