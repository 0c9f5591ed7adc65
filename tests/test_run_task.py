"""RunTask overrides as templates hold them (``_run_task``), read without aws-cdk-lib."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._run_task import runs_tasks_with, template_overrides
from ecs_exec_roles._template import Template

_STATE = "arn:aws:states:::ecs:runTask.sync"


def _definition(role: Any) -> dict[str, Any]:
    states = {
        "Run": {
            "Type": "Task",
            "Resource": _STATE,
            "Parameters": {
                "TaskDefinition": "${Task}",
                "Overrides": {"ExecutionRoleArn": "${Role}"},
            },
            "End": True,
        }
    }
    return {
        "Fn::Sub": [
            json.dumps({"StartAt": "Run", "States": states}),
            {"Task": {"Ref": "Task"}, "Role": role},
        ]
    }


def _template(role: Any) -> Template:
    resources = {
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"DefinitionString": _definition(role)},
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Targets": [
                    {
                        "EcsParameters": {"TaskDefinitionArn": {"Ref": "Task"}},
                        "Input": '{"executionRole": "arn:aws:iam::123456789012:role/runner"}',
                    }
                ]
            },
        },
    }
    return Template(
        "/t/S.template.json", {"Resources": resources}, "S", "123456789012", "eu-west-1"
    )


def test_a_state_machine_and_a_rule_give_the_task_definition_their_role() -> None:
    template = _template({"Fn::GetAtt": ["Role", "Arn"]})
    assembly = Assembly([template])
    found = template_overrides(assembly, template)
    assert [(task, label) for task, _, label in found] == [("Task", "Machine"), ("Task", "Rule")]
    role_text = assembly.text(template, {"Fn::GetAtt": ["Role", "Arn"]})
    assert found[0][1] == role_text
    assert found[1][1] == "arn:aws:iam::123456789012:role/runner"


def test_a_role_stands_in_a_definition_only_as_the_execution_role_override() -> None:
    reference = {"Fn::GetAtt": ["Role", "Arn"]}
    properties = {"definitionString": _definition(reference)}
    assert runs_tasks_with(properties, reference)
    assert not runs_tasks_with(properties, {"Fn::GetAtt": ["Other", "Arn"]})


def test_the_templates_are_read_without_aws_cdk_lib() -> None:
    # The verification's modules load neither aws-cdk-lib nor jsii (no Node process); the
    # public constructs still load on first use.
    code = (
        "import sys\n"
        "import ecs_exec_roles._verify, ecs_exec_roles._requests, ecs_exec_roles._run_task\n"
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, 'loaded'\n"
        "from ecs_exec_roles import ExecutionRoleError\n"
        "assert ExecutionRoleError.__module__ == 'ecs_exec_roles'\n"
        "assert 'aws_cdk' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
