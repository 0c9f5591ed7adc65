"""ECS RunTask overrides as synthesized templates hold them: the execution role an EventBridge
ECS target's input or a Step Functions RunTask state gives a task definition (``_overrides``
says why it matters). Pure reading of template values, without aws-cdk-lib, for the
verification and for ``_overrides``, which reads the same from the construct tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._assembly import Assembly
from ._template import Template

__all__ = [
    "STATE_MACHINE_TYPE",
    "expression",
    "run_task_states",
    "runs_tasks_with",
    "template_overrides",
]

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
# What the Resource of a state calling ECS RunTask holds (after its partition).
_RUN_TASK = ":states:::ecs:runTask"


def run_task_states(
    assembly: Assembly, template: Template, properties: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """The task definition and the execution role (text) of each ECS RunTask state of a state
    machine's definition that gives the role as an override."""
    text = assembly.text(template, properties.get("definitionString"))
    if not text or _RUN_TASK not in text:
        return
    for state in _task_states(_parsed(text)):
        if _RUN_TASK not in str(state.get("Resource", "")):
            continue
        for key in ("Parameters", "Arguments"):
            parameters = state.get(key)
            if not isinstance(parameters, dict):
                continue
            overrides = parameters.get("Overrides")
            role = overrides.get("ExecutionRoleArn") if isinstance(overrides, dict) else None
            task = parameters.get("TaskDefinition")
            if isinstance(role, str) and isinstance(task, str):
                yield task, role


def _task_states(value: Any) -> Iterator[dict[str, Any]]:
    """Every ``Task`` state of a definition, those of ``Parallel`` branches and ``Map``
    iterations included."""
    if isinstance(value, dict):
        if value.get("Type") == "Task":
            yield value
        for item in value.values():
            yield from _task_states(item)
    elif isinstance(value, list):
        for item in value:
            yield from _task_states(item)


def expression(assembly: Assembly, text: str) -> Any:
    """What ``text`` stands for in the template (a ``Ref``, a ``Fn::GetAtt``), or itself."""
    unknown = assembly.symbols.unknown(text)
    return unknown.expression if unknown is not None else text


def runs_tasks_with(properties: dict[str, Any], reference: Any) -> bool:
    """Whether ``reference`` (a ``Ref`` or ``Fn::GetAtt`` in a state machine's
    ``definitionString``, resolved) stands in it only as the execution role override of
    RunTask states."""
    assembly = Assembly([Template("", {})])
    template = assembly.templates[0]
    text = assembly.text(template, properties.get("definitionString")) or ""
    placeholder = assembly.text(template, reference)
    if not placeholder:
        return False
    states = run_task_states(assembly, template, properties)
    roles = [role for _, role in states]
    return roles.count(placeholder) >= text.count(placeholder) > 0


def template_overrides(assembly: Assembly, template: Template) -> list[tuple[str, str, str]]:
    """Each ``(task definition logical ID, execution role ARN as text, rule)`` of the ECS
    targets of ``template``'s rules and the RunTask states of its state machines that give an
    execution role."""
    found = []
    for logical_id, resource in template.resources.items():
        if isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE_TYPE:
            properties = {
                "definitionString": template.properties(logical_id).get("DefinitionString")
            }
            for named_task, named_role in run_task_states(assembly, template, properties):
                ref = expression(assembly, named_task)
                if isinstance(ref, dict) and isinstance(ref.get("Ref"), str):
                    found.append((ref["Ref"], named_role, assembly.label(template, logical_id)))
            continue
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Events::Rule":
            continue
        for target in template.properties(logical_id).get("Targets") or []:
            if not isinstance(target, dict):
                continue
            ecs_parameters = target.get("EcsParameters")
            text = assembly.text(template, target.get("Input"))
            if not isinstance(ecs_parameters, dict) or not text:
                continue
            task = ecs_parameters.get("TaskDefinitionArn")
            role = _execution_role(text)
            if isinstance(task, dict) and isinstance(task.get("Ref"), str) and role:
                found.append((task["Ref"], role, assembly.label(template, logical_id)))
    return found


def _execution_role(text: str) -> str | None:
    given = _parsed(text)
    role = given.get("executionRole") if isinstance(given, dict) else None
    return role if isinstance(role, str) else None


def _parsed(text: str) -> Any:
    """JSON text read with its unknown parts marked by control characters (``_symbols``);
    ``None`` where it is not JSON."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None
