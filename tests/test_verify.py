"""The verification of the synthesized templates: what changes after the library built a role
(escape hatches, later aspects, overrides of the role's own resource), task definitions that
name the role in any form, wildcards outside the name, and the permissions boundary, for the
three constructs with and without derivation and for ``HardenExecutionRoles``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import IConstruct
from helpers import ROLE_CONSTRUCTS, ROLE_MODES, AddAgent, api_task
from iam_eval import Environment, is_allowed, role_policies

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"

MODES = ROLE_MODES
_CONSTRUCTS = ROLE_CONSTRUCTS


def _role(mode: str, stack: cdk.Stack) -> Any:
    """The execution role of ``mode`` for a task definition that pulls from team/api and logs
    to the log group /ecs/api under the prefix ``api``."""
    if mode == "harden":
        cdk.Aspects.of(stack.node.root).add(HardenExecutionRoles())
        return None
    kind, how = mode.split("-")
    construct = _CONSTRUCTS[kind]
    if how == "derived":
        return construct(stack, "Role")
    group = logs.LogGroup.from_log_group_name(stack, "PropsLogs", "/ecs/api")
    props: dict[str, Any] = {"derive": False}
    if kind != "starter":
        props["repositories"] = [ecr.Repository.from_repository_name(stack, "R", "team/api")]
        props["log_groups"] = [group]
    return construct(stack, "Role", **props)


def _app(
    mode: str,
    change: Callable[[cdk.Stack, ecs.TaskDefinition, Any], object],
    context: dict[str, Any] | None = None,
) -> cdk.App:
    app = cdk.App(context=context)
    stack = cdk.Stack(app, "S", env=ENV)
    role = _role(mode, stack)
    task = api_task(stack, role)
    change(stack, task, role)
    return app


def _role_id(template: dict[str, Any], task: str) -> str:
    """The logical ID of the execution role of the task definition ``task`` (its id)."""
    (found,) = (
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ECS::TaskDefinition" and logical_id.startswith(task)
    )
    return str(found["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0])


def _error(app: cdk.App) -> str:
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    return str(raised.value)


def _where(mode: str) -> str:
    return "S/Task/ExecutionRole" if mode == "harden" else "S/Role"


def _missing(mode: str, container: str, actions: str, resource: str) -> str:
    return (
        f"{_where(mode)}: container {container!r} of task family 'api' (S/Task) needs "
        f"{actions} on {resource}"
    )


def _fix(mode: str, prop: str) -> str:
    """The fix a missing permission names: the aspect takes no resource props."""
    if mode == "harden":
        return (
            "HardenExecutionRoles allows what it derives from the containers: declare it on the "
            "container, or give the task definition a MinimalExecutionRole that names the "
            f"resource (`{prop}`)"
        )
    return f"add the resource to `{prop}`"


@pytest.mark.parametrize("mode", MODES)
def test_the_unchanged_app_passes(mode: str) -> None:
    _app(mode, lambda stack, task, role: None).synth()


# -- 1. escape hatches and later aspects ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_fails_when_an_override_adds_awslogs_create_group(mode: str) -> None:
    def override(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        task.node.default_child.add_property_override(  # type: ignore[union-attr]
            "ContainerDefinitions.0.LogConfiguration.Options.awslogs-create-group", "true"
        )

    message = _error(_app(mode, override))
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api"
    assert _missing(mode, "app", "logs:CreateLogGroup", group) in message
    assert "for awslogs-create-group, which the role does not allow" in message
    assert _fix(mode, "log_groups_to_create") in message
    assert f"ecs-exec-roles::MissingPermission[logs:CreateLogGroup::{group}]" in message


@pytest.mark.parametrize("mode", MODES)
def test_fails_when_an_override_adds_a_secret(mode: str) -> None:
    def override(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        task.node.default_child.add_property_override(  # type: ignore[union-attr]
            "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
        )

    message = _error(_app(mode, override))
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/api/flag"
    assert _missing(mode, "app", "ssm:GetParameters", parameter) in message
    assert "for its secret FLAG" in message
    assert _fix(mode, "parameters") in message


_AGENT_REPOSITORY = f"arn:aws:ecr:{REGION}:210987654321:repository/agents/trace"


@pytest.mark.parametrize("mode", MODES)
def test_a_sidecar_an_aspect_adds_is_derived(mode: str) -> None:
    # The library builds its policies once the app's aspects have visited the task
    # definitions: a sidecar an aspect of the app adds is read like any container.
    def add_aspect(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        cdk.Aspects.of(stack.node.root).add(AddAgent())

    app = _app(mode, add_aspect)
    if mode in ("minimal-props", "shared-props"):
        # Named in props only: the sidecar's log group is not, and synth says so.
        message = _error(app)
        assert "log-group:/ecs/agent:*: add the resource to `log_groups`" in message
        return
    template = app.synth().get_stack_by_name("S").template
    names = [
        c["Name"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for c in r["Properties"]["ContainerDefinitions"]
    ]
    assert names == ["app", "agent"]
    if not mode.startswith("starter"):
        # The starter's AWS managed policy pulls from every repository.
        (task,) = (
            r for r in template["Resources"].values() if r["Type"].endswith("TaskDefinition")
        )
        role = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
        policies = role_policies(template, role, Environment())
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
            assert is_allowed(policies, action, _AGENT_REPOSITORY), (mode, action)


@pytest.mark.parametrize("mode", MODES)
def test_fails_when_a_later_aspect_adds_a_container(mode: str) -> None:
    # Without aspect stabilization, the library builds its policies when aspects reach its
    # role, before they reach the task definition.
    def add_aspect(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        cdk.Aspects.of(stack.node.root).add(AddAgent())

    app = _app(mode, add_aspect, {"@aws-cdk/core:aspectStabilization": False})
    if mode == "starter-props":
        # Not rendered early, and the AWS managed policy pulls from every repository.
        template = app.synth().get_stack_by_name("S").template
        assert '"Name": "agent"' in json.dumps(template)
        return
    message = _error(app)
    if mode.endswith("-props"):
        assert "log-group:/ecs/agent:*: add the resource to `log_groups`" in message
    else:
        # Derivation rendered the containers, which aws-cdk-lib does once: the new container
        # would be dropped from the template without a word.
        assert (
            f"{_where(mode)}: task family 'api' (S/Task) got a container after the library "
            "read its containers"
        ) in message


@pytest.mark.parametrize("mode", [m for m in MODES if not m.startswith(("starter", "harden"))])
@pytest.mark.parametrize("stabilization", [True, False])
def test_an_aspect_that_points_an_l1_task_definition_at_the_role(
    mode: str, stabilization: bool
) -> None:
    # With aspect stabilization the task definition is derived like any other; without it,
    # the aspect runs after the library built the role, and synth fails naming the need (as
    # it does for a role named in props only).
    @jsii.implements(cdk.IAspect)
    class Point:
        def __init__(self, arn: str) -> None:
            self.arn = arn

        def visit(self, node: IConstruct) -> None:
            if isinstance(node, ecs.CfnTaskDefinition) and node.node.id == "Raw":
                node.execution_role_arn = self.arn

    def point(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        ecs.CfnTaskDefinition(
            stack,
            "Raw",
            family="raw",
            container_definitions=[
                {"name": "raw", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/raw:1"}
            ],
        )
        cdk.Aspects.of(stack).add(Point(role.role_arn))

    raw = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/raw"
    app = _app(mode, point, {"@aws-cdk/core:aspectStabilization": stabilization})
    if stabilization and mode.endswith("-derived"):
        template = app.synth().get_stack_by_name("S").template
        policies = role_policies(template, _role_id(template, "Raw"), Environment())
        assert is_allowed(policies, "ecr:BatchGetImage", raw)
        return
    message = _error(app)
    assert "container 'raw' of task family 'raw' (S/Raw) needs" in message
    assert raw in message


# -- 2. the role's own resource and the library's policies -----------------------------------------


def _cfn_role(role: Any, stack: cdk.Stack) -> iam.CfnRole:
    if role is None:
        return stack.node.find_child("Task").node.find_child("ExecutionRole").node.default_child  # type: ignore[return-value]
    return role.role.node.default_child  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", MODES)
def test_fails_when_another_account_is_added_to_the_trust_policy(mode: str) -> None:
    def trust(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        statement = iam.PolicyStatement(
            actions=["sts:AssumeRole"], principals=[iam.AccountPrincipal("999999999999")]
        )
        if role is None:
            task.obtain_execution_role().assume_role_policy.add_statements(statement)  # type: ignore[union-attr]
        else:
            role.role.assume_role_policy.add_statements(statement)

    app = _app(mode, trust)
    if mode == "harden":
        # The aspect writes the role's trust policy anew: what was added before is dropped.
        template = app.synth().get_stack_by_name("S").template
        assert "999999999999" not in json.dumps(template)
        return
    message = _error(app)
    assert (
        f"{_where(mode)}: the trust policy of the role holds "
        '{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"AWS":'
        '["arn:aws:iam::999999999999:root"]}}, which the library did not write'
    ) in message
    assert "ecs-exec-roles::TrustChanged[" in message


@pytest.mark.parametrize("mode", ["minimal-derived", "shared-props", "starter-derived", "harden"])
def test_fails_when_an_override_removes_the_trust_conditions(mode: str) -> None:
    def loosen(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        if role is None:
            # The aspect writes the trust policy while it runs: override after it.
            @jsii.implements(cdk.IAspect)
            class Loosen:
                def visit(self, node: IConstruct) -> None:
                    if isinstance(node, iam.CfnRole) and "ExecutionRole" in node.node.path:
                        node.add_property_deletion_override(
                            "AssumeRolePolicyDocument.Statement.0.Condition"
                        )

            cdk.Aspects.of(stack).add(Loosen(), priority=cdk.AspectPriority.READONLY)
            return
        _cfn_role(role, stack).add_property_deletion_override(
            "AssumeRolePolicyDocument.Statement.0.Condition"
        )

    message = _error(_app(mode, loosen))
    assert f"{_where(mode)}: the trust policy of the role holds " in message
    assert "the trust policy of the role lacks " in message


def _attach_admin(role: Any) -> None:
    role.managed_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]


@pytest.mark.parametrize(
    "attach",
    [
        _attach_admin,
        lambda role: role.add_property_override(
            "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]
        ),
        lambda role: setattr(
            role,
            "policies",
            [
                iam.CfnRole.PolicyProperty(
                    policy_name="extra",
                    policy_document={
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                    },
                )
            ],
        ),
    ],
    ids=["managed-policy-arns", "override", "inline-policies"],
)
@pytest.mark.parametrize("mode", ["minimal-derived", "shared-props", "starter-derived", "harden"])
def test_fails_when_the_role_resource_gets_a_policy(mode: str, attach: Any) -> None:
    def change(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        if role is None:

            @jsii.implements(cdk.IAspect)
            class Attach:
                def visit(self, node: IConstruct) -> None:
                    if isinstance(node, iam.CfnRole) and "ExecutionRole" in node.node.path:
                        attach(node)

            cdk.Aspects.of(stack).add(Attach(), priority=cdk.AspectPriority.READONLY)
            return
        attach(_cfn_role(role, stack))

    if mode == "harden" and attach is _attach_admin:
        # Set before the aspect's work ran (the aspect waits for every other aspect): the
        # aspect replaces it, as a managed policy the app attached, and says so.
        assembly = _app(mode, change).synth()
        template = assembly.get_stack_by_name("S").template
        (role,) = [
            k
            for k, v in template["Resources"].items()
            if v["Type"] == "AWS::IAM::Role" and k.startswith("TaskExecutionRole")
        ]
        assert "ManagedPolicyArns" not in template["Resources"][role]["Properties"]
        warnings = [
            str(m.entry.data)
            for m in assembly.get_stack_by_name("S").messages
            if "aws-managed-policy-replaced" in str(m.entry.data)
        ]
        assert len(warnings) == 1 and "AdministratorAccess" in warnings[0]
        return
    message = _error(_app(mode, change))
    assert f"{_where(mode)}: the role's resource " in message
    assert "so the role allows more than ECS needs" in message
    assert "ecs-exec-roles::PolicyAttached[" in message


@jsii.implements(cdk.IAspect)
class _WidenEveryManagedPolicy:
    """An organisation-wide aspect that adds a read of every object to every managed policy."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.ManagedPolicy):
            node.add_statements(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))


# The starter's AWS managed policy covers this task's needs: it has no policy of its own here.
@pytest.mark.parametrize("mode", [m for m in MODES if not m.startswith("starter")])
def test_fails_when_an_aspect_widens_the_librarys_policies(mode: str) -> None:
    def widen(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
        cdk.Aspects.of(stack.node.root).add(_WidenEveryManagedPolicy())

    message = _error(_app(mode, widen))
    assert f"{_where(mode)}: its policy " in message
    assert "allows s3:GetObject on *, which the library did not write there" in message
    assert "ecs-exec-roles::PolicyChanged[s3:GetObject::*]" in message


def test_the_cdk_nag_acknowledgment_of_the_token_statement_does_not_hide_a_widened_policy() -> None:
    from cdk_nag import AwsSolutionsChecks

    app = _app("minimal-derived", lambda s, t, r: cdk.Aspects.of(s).add(_WidenEveryManagedPolicy()))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    message = _error(app)
    assert "ecs-exec-roles::PolicyChanged[s3:GetObject::*]" in message


# -- 3. task definitions that name the role in any form ---------------------------------------


def _role_by_name(stack: cdk.Stack, role: Any) -> iam.IRole:
    return iam.Role.from_role_name(stack, "ByName", role.role_name)


@pytest.mark.parametrize(
    "name_role",
    [
        pytest.param(lambda stack, role: _role_by_name(stack, role).role_arn, id="from-role-name"),
        pytest.param(lambda stack, role: role.role.node.default_child.attr_arn, id="cfn-attr-arn"),
        pytest.param(
            lambda stack, role: f"arn:aws:iam::{ACCOUNT}:role/{role.role_name}", id="literal-arn"
        ),
    ],
)
@pytest.mark.parametrize("derive", [True, False])
def test_a_task_definition_naming_the_role_by_another_form_is_verified(
    name_role: Any, derive: bool
) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role", role_name="api-execution", derive=derive)
    ecs.CfnTaskDefinition(
        stack,
        "Raw",
        family="raw",
        execution_role_arn=name_role(stack, role),
        container_definitions=[
            {"name": "raw", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/raw:1"}
        ],
    )
    message = _error(app)
    assert "S/Role: container 'raw' of task family 'raw' (S/Raw) needs" in message
    assert f"on arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/raw for its image" in message


def test_a_task_definition_naming_the_role_by_name_passes_when_the_props_cover_it() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    repository = ecr.Repository.from_repository_name(stack, "Raw", "team/raw")
    role = MinimalExecutionRole(stack, "Role", derive=False, repositories=[repository])
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=_role_by_name(stack, role))
    task.add_container(
        "raw",
        image=ecs.ContainerImage.from_registry(
            f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/raw:1"
        ),
    )
    app.synth()


def test_a_task_definition_of_another_role_with_the_same_name_elsewhere_is_not_taken() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENV)
    second = cdk.Stack(app, "Second", env=cdk.Environment(account="210987654321", region=REGION))
    MinimalExecutionRole(first, "Role", role_name="shared-name", derive=False)
    ecs.CfnTaskDefinition(
        second,
        "Raw",
        execution_role_arn="arn:aws:iam::210987654321:role/other-name",
        container_definitions=[
            {"name": "raw", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/raw:1"}
        ],
    )
    app.synth()


# -- 5. wildcards outside the name --------------------------------------------------------------


def test_fails_when_awslogs_region_is_a_wildcard_in_a_derived_l1_task_definition() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role")
    ecs.CfnTaskDefinition(
        stack,
        "Raw",
        execution_role_arn=role.role_arn,
        container_definitions=[
            {
                "name": "raw",
                "image": "public.ecr.aws/x/y:1",
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/raw", "awslogs-region": "*"},
                },
            }
        ],
    )
    message = _error(app)
    assert "holds the IAM wildcard '*' as its region" in message
    assert "S/Role:" in message


# -- 6. the permissions boundary ----------------------------------------------------------------


def _boundary(stack: cdk.Stack, *statements: iam.PolicyStatement) -> iam.ManagedPolicy:
    return iam.ManagedPolicy(stack, "Boundary", statements=list(statements))


def test_fails_when_the_permissions_boundary_denies_what_ecs_needs() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    boundary = _boundary(
        stack, iam.PolicyStatement(effect=iam.Effect.DENY, actions=["s3:*"], resources=["*"])
    )
    role = MinimalExecutionRole(stack, "Role", permissions_boundary=boundary)
    api_task(stack, role)
    message = _error(app)
    assert _missing("minimal", "app", "ecr:GetAuthorizationToken", "*") in message
    assert "(its permissions boundary included)" in message
    assert "and let the permissions boundary allow it" in message


def test_a_permissions_boundary_that_allows_what_ecs_needs_passes() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    boundary = _boundary(
        stack,
        iam.PolicyStatement(actions=["ecr:*", "logs:*"], resources=["*"]),
        iam.PolicyStatement(effect=iam.Effect.DENY, actions=["s3:*"], resources=["*"]),
    )
    api_task(stack, MinimalExecutionRole(stack, "Role", permissions_boundary=boundary))
    app.synth()


def test_fails_when_the_permissions_boundary_is_not_in_the_app_unless_acknowledged() -> None:
    def build(acknowledge: bool) -> cdk.App:
        app = cdk.App()
        stack = cdk.Stack(app, "S", env=ENV)
        boundary = iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "org-boundary")
        api_task(stack, MinimalExecutionRole(stack, "Role", permissions_boundary=boundary))
        if acknowledge:
            cdk.Validations.of(stack).acknowledge(
                cdk.Acknowledgment(
                    id="ecs-exec-roles::BoundaryNotEvaluated"
                    f"[arn:aws:iam::{ACCOUNT}:policy/org-boundary]",
                    reason="The organisation's boundary allows ECR, logs and secrets reads.",
                )
            )
        return app

    message = _error(build(False))
    assert (
        f"S/Role: the role's permissions boundary arn:aws:iam::{ACCOUNT}:policy/org-boundary is "
        "not a managed policy of the app"
    ) in message
    build(True).synth()


# -- findings are acknowledged one at a time ----------------------------------------------------


def test_an_acknowledgment_covers_exactly_its_finding() -> None:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api"

    def build(*acknowledged: str) -> cdk.App:
        def change(stack: cdk.Stack, task: ecs.TaskDefinition, role: Any) -> None:
            cfn = task.node.default_child
            cfn.add_property_override(  # type: ignore[union-attr]
                "ContainerDefinitions.0.LogConfiguration.Options.awslogs-create-group", "true"
            )
            cfn.add_property_override(  # type: ignore[union-attr]
                "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
            )
            cdk.Validations.of(role).acknowledge(
                *(cdk.Acknowledgment(id=a, reason="known") for a in acknowledged)
            )

        return _app("minimal-derived", change)

    create = f"ecs-exec-roles::MissingPermission[logs:CreateLogGroup::{group}]"
    flag = (
        "ecs-exec-roles::MissingPermission"
        f"[ssm:GetParameters::arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/api/flag]"
    )
    message = _error(build(create))
    assert "logs:CreateLogGroup" not in message.split("A copy of this report")[0]
    assert "ssm:GetParameters" in message
    build(create, flag).synth()


def test_the_report_file_names_each_finding() -> None:
    app = _app(
        "minimal-derived",
        lambda s, t, r: t.node.default_child.add_property_override(  # type: ignore[union-attr]
            "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
        ),
    )
    _error(app)
    with open(f"{app.outdir}/validation-report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    (ours,) = [r for r in report["pluginReports"] if r["pluginName"] == "ecs-exec-roles"]
    assert ours["conclusion"] == "failure"
    (violation,) = ours["violations"]
    assert violation["ruleName"].startswith("MissingPermission[ssm:GetParameters::")
    assert violation["violatingConstructs"][0]["constructPath"] == "S/Role/Resource/Resource"
