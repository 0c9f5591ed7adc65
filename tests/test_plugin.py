"""The policy validation plugin that runs the verification (``_plugin``): its name and rule ids,
its registration (once per app, and only with an app or stage), and the report it gives for
an app without records, a compliant app and a non-compliant one, field by field.

What each finding says is tested in ``test_verify.py``, ``test_verify_apps.py`` and
``test_verify_checks.py``; an acknowledgment of one finding in ``test_verify.py``.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._app import AppState, stack_state
from ecs_exec_roles._lifecycle import StackRoles
from ecs_exec_roles._plugin import PLUGIN_NAME, VerificationPlugin, register_verification
from ecs_exec_roles._records import app_records

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/api/flag"


@dataclass
class _Built:
    app: cdk.App
    #: The stacks (top-level, then the stage's) and their roles.
    stacks: list[cdk.Stack]
    roles: list[MinimalExecutionRole]
    template_paths: list[str]


def _service(scope: Any, name: str, *, secret: bool) -> tuple[cdk.Stack, MinimalExecutionRole]:
    """A stack with a role that names nothing and a task definition of family ``api``; with
    ``secret``, an override adds a parameter secret the role does not allow."""
    stack = cdk.Stack(scope, name, env=ENV)
    role = MinimalExecutionRole(stack, "Role", derive=False)
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role, family="api")
    task.add_container("app", image=ecs.ContainerImage.from_registry("nginx"))
    if secret:
        task.node.default_child.add_property_override(  # type: ignore[union-attr]
            "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
        )
    return stack, role


def _build(*, secret: bool) -> _Built:
    """An app with a stack and a stage's stack, each with a role; synthesized."""
    app = cdk.App()
    top = _service(app, "Top", secret=secret)
    staged = _service(cdk.Stage(app, "Stage"), "Svc", secret=secret)
    if secret:
        with pytest.raises(RuntimeError, match=r"^ValidationFailed: "):
            app.synth()
    else:
        app.synth()
    paths = sorted(glob.glob(os.path.join(app.outdir, "**", "*.template.json"), recursive=True))
    return _Built(app, [top[0], staged[0]], [top[1], staged[1]], paths)


@pytest.fixture(scope="module")
def failing() -> _Built:
    return _build(secret=True)


@pytest.fixture(scope="module")
def passing() -> _Built:
    return _build(secret=False)


def _records(built: _Built) -> Any:
    return app_records(stack_state(built.stacks[0]).app)


class _Context:
    """What the plugin reads of aws-cdk-lib's validation context: the template paths."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = paths
        self.read = False

    @property
    def template_paths(self) -> list[str]:
        self.read = True
        return self._paths


# -- name and rules --------------------------------------------------------------------------------


def test_the_plugin_is_named_after_the_library_and_checks_every_rule() -> None:
    plugin = VerificationPlugin(list)
    assert PLUGIN_NAME == "ecs-exec-roles"
    assert plugin.name == PLUGIN_NAME
    assert plugin.version is None
    # No rule ids: the plugin is not limited to some rules.
    assert plugin.rule_ids is None


# -- registration ----------------------------------------------------------------------------------


class _Validations:
    """Stands for ``cdk.Validations.of``: each plugin added, with its scope."""

    def __init__(self) -> None:
        self.added: list[tuple[Any, Any]] = []

    def of(self, scope: Any) -> Any:
        return SimpleNamespace(
            add_plugins=lambda *plugins: self.added.extend((scope, plugin) for plugin in plugins)
        )


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> _Validations:
    recorder = _Validations()
    monkeypatch.setattr(cdk.Validations, "of", recorder.of)
    return recorder


def test_the_verification_is_registered_once_with_the_app(validations: _Validations) -> None:
    app = cdk.App()
    state = AppState(app)
    register_verification(state)
    register_verification(state)
    assert state.verification_registered
    ((scope, plugin),) = validations.added
    assert scope is app
    assert isinstance(plugin, VerificationPlugin)


def test_a_root_that_is_not_a_stage_gets_no_plugin(validations: _Validations) -> None:
    state = AppState(SimpleNamespace(node=None))
    register_verification(state)
    assert state.verification_registered
    assert validations.added == []


def test_roles_in_several_stacks_and_a_stage_register_one_plugin_on_the_app(
    validations: _Validations,
) -> None:
    app = cdk.App()
    MinimalExecutionRole(cdk.Stack(app, "A"), "Role")
    MinimalExecutionRole(cdk.Stack(app, "B"), "Role")
    MinimalExecutionRole(cdk.Stack(cdk.Stage(app, "Stage"), "C"), "Role")
    assert [(scope.node.path, plugin.name) for scope, plugin in validations.added] == [
        ("", PLUGIN_NAME)
    ]


def test_the_plugin_reads_the_records_when_it_validates(validations: _Validations) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    MinimalExecutionRole(stack, "Role")
    ((_, plugin),) = validations.added
    # Registered with the first role: nothing is built yet, so nothing is verified and the
    # templates are not read.
    context = _Context([])
    report = plugin.validate(context)
    assert (report.success, report.violations, context.read) == (True, [], False)
    StackRoles.of(stack).finalize()
    # Built since: the role is verified, and an assembly without it cannot verify it.
    report = plugin.validate(context)
    assert context.read
    assert report.success is False
    (violation,) = report.violations
    assert violation.rule_name == "NotVerified[S/Role]"
    assert violation.description == (
        "S/Role: the cloud assembly does not name the role's resource S/Role/Resource/Resource, "
        "so its deployed form cannot be verified."
    )
    assert violation.fix == (
        "Synthesize with the construct tree (cdk.App(tree_metadata=True), the default) or with "
        "path metadata (the CDK CLI's default), and keep the role's resource."
    )
    (resource,) = violation.violating_resources
    assert (resource.resource_logical_id, resource.template_path) == ("", "")


# -- reports ---------------------------------------------------------------------------------------


def test_without_records_the_report_is_a_success_and_no_template_is_read(
    failing: _Built,
) -> None:
    context = _Context(failing.template_paths)
    report = VerificationPlugin(list).validate(context)
    assert report.success is True
    assert report.violations == []
    assert not context.read


def test_a_compliant_app_gets_a_successful_report(passing: _Built) -> None:
    assert [record.where for record in _records(passing)] == ["Top/Role", "Stage/Svc/Role"]
    report = VerificationPlugin(lambda: _records(passing)).validate(
        _Context(passing.template_paths)
    )
    assert report.success is True
    assert report.violations == []


def test_each_finding_is_a_violation_of_its_rule_on_the_roles_resource(failing: _Built) -> None:
    report = VerificationPlugin(lambda: _records(failing)).validate(
        _Context(failing.template_paths)
    )
    assert report.success is False
    expected = []
    for stack, role in zip(failing.stacks, failing.roles, strict=True):
        path = stack.node.path
        expected.append(
            (
                f"MissingPermission[ssm:GetParameters::{PARAMETER}]",
                f"{path}/Role: container 'app' of task family 'api' ({path}/Task) needs "
                f"ssm:GetParameters on {PARAMETER} for its secret FLAG, which the role does "
                "not allow: ECS would fail to start the task.",
                "add the resource to `parameters`.",
                "error",
                [
                    (
                        stack.get_logical_id(role.role.node.default_child),  # type: ignore[arg-type]
                        # The stage's templates are in its own directory of the assembly.
                        os.path.join(cdk.Stage.of(stack).outdir, stack.template_file),  # type: ignore[union-attr]
                        ["Properties"],
                    )
                ],
            )
        )
    assert [
        (
            v.rule_name,
            v.description,
            v.fix,
            v.severity,
            [(r.resource_logical_id, r.template_path, r.locations) for r in v.violating_resources],
        )
        for v in report.violations
    ] == expected


def test_the_app_has_one_report_of_the_plugin_with_every_stages_findings(
    failing: _Built,
) -> None:
    with open(os.path.join(failing.app.outdir, "validation-report.json"), encoding="utf-8") as f:
        report = json.load(f)
    (ours,) = [r for r in report["pluginReports"] if r["pluginName"] == PLUGIN_NAME]
    assert ours["conclusion"] == "failure"
    assert [
        violating["constructPath"]
        for violation in ours["violations"]
        for violating in violation["violatingConstructs"]
    ] == ["Top/Role/Resource/Resource", "Stage/Svc/Role/Resource/Resource"]
