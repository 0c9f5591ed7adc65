"""RunTask overrides: an EventBridge ECS target, or a Step Functions RunTask state, that runs a
task definition with another execution role makes that role one the task definition uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from helpers import concrete_environment, managed_policy_role, role_logical_id
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from examples.nag_report import add_nag_packs, synth_with_report

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
STREAMS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/jobs:log-stream:{{}}"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:jobs/db-AbCdEf"


def _app(execution_role: Any) -> tuple[cdk.App, cdk.Stack, ecs.TaskDefinition]:
    """A scheduled job whose rule runs its task definition with ``execution_role``."""
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = execution_role(stack) if callable(execution_role) else None
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/jobs")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "jobs/db")
    task = ecs.FargateTaskDefinition(stack, "Job")
    task.add_container(
        "job",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="job", log_group=group),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    rule = events.Rule(stack, "Nightly", schedule=events.Schedule.cron(hour="2", minute="0"))
    rule.add_target(
        targets.EcsTask(
            cluster=cluster,
            task_definition=task,
            execution_role=getattr(role, "role", role),
        )
    )
    return app, stack, task


def _run_task_state(
    stack: cdk.Stack, name: str, task: ecs.TaskDefinition, overrides: dict[str, Any]
) -> sfn.CustomState:
    return sfn.CustomState(
        stack,
        name,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{cdk.Aws.PARTITION}:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": "jobs",
                "LaunchType": "FARGATE",
                "TaskDefinition": task.task_definition_arn,
                "Overrides": overrides,
            },
        },
    )


def _state_machine_app(execution_role: Any) -> tuple[cdk.App, cdk.Stack, ecs.TaskDefinition]:
    """The job of :func:`_app` run by a state machine (in a branch of a ``Parallel`` state)
    with ``execution_role`` instead of a rule."""
    app, stack, task = _app(None)
    events_rule = stack.node.find_child("Nightly")
    stack.node.try_remove_child(events_rule.node.id)
    role = execution_role(stack)
    run = _run_task_state(stack, "Run", task, {"ExecutionRoleArn": role.role_arn})
    parallel = sfn.Parallel(stack, "Both").branch(run)
    sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(parallel))
    return app, stack, task


def _naming_another_log_group(stack: cdk.Stack) -> MinimalExecutionRole:
    """An overriding role with derive=False that names a log group the job does not use."""
    group = logs.LogGroup.from_log_group_name(stack, "Other", "/ecs/other")
    return MinimalExecutionRole(stack, "Override", derive=False, log_groups=[group])


def _allowed(stack: cdk.Stack, logical_id: str) -> Any:
    template = Template.from_stack(stack).to_json()
    policies = role_policies(template, logical_id, concrete_environment(template))
    return lambda action, resource: is_allowed(policies, action, resource, {})


def test_a_derived_role_a_rule_runs_the_task_with_covers_it_exactly() -> None:
    app, stack, _ = _app(lambda stack: MinimalExecutionRole(stack, "Override"))
    override = stack.node.find_child("Override")
    app.synth()
    allowed = _allowed(stack, role_logical_id(stack, override))
    assert allowed("logs:PutLogEvents", STREAMS.format("job/job/0123"))
    assert not allowed("logs:PutLogEvents", STREAMS.format("other/job/0123"))
    # aws-cdk-lib grants the secret to the task definition's own role; the containers show it.
    assert allowed("secretsmanager:GetSecretValue", SECRET)
    assert not allowed("secretsmanager:DescribeSecret", SECRET)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("no task definition")
    )
    assert warnings == []


def test_a_role_that_names_its_resources_fails_synth_for_what_the_task_needs() -> None:
    app, _, _ = _app(_naming_another_log_group)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "task definition S/Job" in message
    assert "/ecs/jobs" in message


def test_a_role_the_app_made_for_the_task_and_its_rule_is_hardened() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    made = managed_policy_role(stack, "Made")
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2))
    group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/jobs")
    task = ecs.FargateTaskDefinition(stack, "Job", execution_role=made)
    task.add_container(
        "job",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="job", log_group=group),
    )
    rule = events.Rule(stack, "Nightly", schedule=events.Schedule.cron(hour="2", minute="0"))
    rule.add_target(targets.EcsTask(cluster=cluster, task_definition=task, execution_role=made))
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    template = Template.from_stack(stack).to_json()
    logical_id = stack.get_logical_id(made.node.default_child)  # type: ignore[arg-type]
    assert "ManagedPolicyArns" not in template["Resources"][logical_id]["Properties"]
    allowed = _allowed(stack, logical_id)
    assert allowed("logs:PutLogEvents", STREAMS.format("job/job/0123"))
    assert not allowed("logs:PutLogEvents", STREAMS.format("other/job/0123"))
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("also named|used otherwise")
    )
    assert warnings == []


def test_the_overriding_role_has_no_open_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Override")
    task = ecs.FargateTaskDefinition(stack, "Job")
    task.add_container(
        "job",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="job", log_group=logs.LogGroup.from_log_group_name(stack, "L", "/j")
        ),
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2))
    rule = events.Rule(stack, "Nightly", schedule=events.Schedule.cron(hour="2", minute="0"))
    rule.add_target(
        targets.EcsTask(cluster=cluster, task_definition=task, execution_role=role.role)
    )
    report = synth_with_report(app)
    on_role = [f for f in report.findings if f.construct_path.startswith("S/Override")]
    assert on_role == [], report.format()


def test_a_derived_role_a_state_machine_runs_the_task_with_covers_it_exactly() -> None:
    app, stack, _ = _state_machine_app(lambda stack: MinimalExecutionRole(stack, "Override"))
    override = stack.node.find_child("Override")
    app.synth()
    allowed = _allowed(stack, role_logical_id(stack, override))
    assert allowed("logs:PutLogEvents", STREAMS.format("job/job/0123"))
    assert not allowed("logs:PutLogEvents", STREAMS.format("other/job/0123"))
    assert allowed("secretsmanager:GetSecretValue", SECRET)
    assert not allowed("secretsmanager:DescribeSecret", SECRET)


def test_a_state_machines_role_that_names_other_resources_fails_synth() -> None:
    app, _, _ = _state_machine_app(_naming_another_log_group)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "S/Override: container 'job' of task definition S/Job needs" in message
    assert "log-group:/ecs/jobs:log-stream:job/job/*" in message


@pytest.mark.parametrize("also_task_role", [False, True])
def test_a_role_the_app_made_that_a_state_machine_overrides_with(also_task_role: bool) -> None:
    made: list[iam.Role] = []

    def role(stack: cdk.Stack) -> iam.Role:
        made.append(managed_policy_role(stack, "Made"))
        return made[0]

    app, stack, task = _state_machine_app(role)
    if also_task_role:
        # The same role as the task role of another run: a use the aspect does not narrow.
        state = _run_task_state(stack, "Again", task, {"TaskRoleArn": made[0].role_arn})
        sfn.StateMachine(stack, "Other", definition_body=sfn.DefinitionBody.from_chainable(state))
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    template = Template.from_stack(stack).to_json()
    logical_id = stack.get_logical_id(made[0].node.default_child)  # type: ignore[arg-type]
    properties = template["Resources"][logical_id]["Properties"]
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("used-otherwise|also named")
    )
    if also_task_role:
        assert "ManagedPolicyArns" in properties
        assert any("DefinitionString" in str(w.entry.data) for w in warnings), warnings
        return
    assert "ManagedPolicyArns" not in properties
    assert warnings == []
    allowed = _allowed(stack, logical_id)
    assert allowed("logs:PutLogEvents", STREAMS.format("job/job/0123"))
    assert allowed("secretsmanager:GetSecretValue", SECRET)


def test_twin_stacks_in_the_app_and_a_stage_keep_their_overrides_apart() -> None:
    # Two stacks of one shape: before aws-cdk-lib prepares the app, a reference to the role of
    # one reads as a reference to the other's (same logical ID). Each role covers its own.
    app = cdk.App()
    stage = cdk.Stage(app, "Prod", env=ENV)
    roles = []
    for scope, name in ((app, "Jobs"), (stage, "Jobs")):
        stack = cdk.Stack(scope, name, env=ENV if scope is app else None)
        task = ecs.FargateTaskDefinition(stack, "Job")
        task.add_container(
            "job",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="job"),
        )
        role = MinimalExecutionRole(stack, "Override")
        state = _run_task_state(stack, "Run", task, {"ExecutionRoleArn": role.role_arn})
        sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(state))
        cdk.Aspects.of(scope).add(HardenExecutionRoles())
        roles.append((stack, role))
    app.synth()
    for stack, role in roles:
        template = Template.from_stack(stack).to_json()
        (policy,) = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::ManagedPolicy"
            and r["Properties"]["Roles"] == [{"Ref": role_logical_id(stack, role)}]
        ]
        (logs_write,) = [
            s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "LogsWrite"
        ]
        # The log group of its own stack, by a reference within it.
        (group,) = [
            k for k, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"
        ]
        assert {"Ref": group} in logs_write["Resource"]["Fn::Join"][1]
