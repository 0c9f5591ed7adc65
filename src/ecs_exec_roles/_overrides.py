"""RunTask overrides: a task definition run with another execution role than its own.

EventBridge's ECS target (``targets.EcsTask(..., execution_role=role)``) runs its task definition
with the execution role named in the target's input: aws-cdk-lib writes
``{"executionRole": "<role ARN>"}`` into the target's ``Input``, and EventBridge passes it to
RunTask as an override. That role, not the task definition's, pulls the images, writes the
logs and reads the secrets of the task, so the task definition is one that uses it:

- :func:`overrides_in`, for derivation: the rules of a stack (from the construct tree,
  resolved) that run a task definition with an execution role, by their references;
- :func:`template_overrides`, for the verification: the same read of a synthesized template.

aws-cdk-lib grants the overriding role nothing for the task definition (its grants go to the
task definition's own role), so derivation reads the secrets of such a task definition from
its containers, as for an L1 task definition. Step Functions' ``EcsRunTask`` has no execution
role override in aws-cdk-lib; a state machine definition written by hand is not read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk

from ._assembly import Assembly
from ._cdk_internals import cfn_properties, identity, named_construct
from ._cfn import with_their_stacks_tasks
from ._template import Template

__all__ = ["Override", "RunTaskOverrides", "overrides_in", "template_overrides"]


@dataclass(frozen=True)
class Override:
    """A rule target that runs a task definition with another execution role.

    :param task_ref: the task definition's ARN, resolved in the rule's stack.
    :param role_refs: the references (``Ref``, ``Fn::GetAtt``) in the target's input,
        resolved: the role's ARN is built from one of them.
    """

    rule: Any
    task_ref: Any
    role_refs: tuple[Any, ...]


class RunTaskOverrides:
    """The rules of the app that run a task definition with another execution role, read
    when a role first asks (only apps with event rules pay for it)."""

    def __init__(self, rules: Sequence[tuple[Any, Any]]) -> None:
        #: Each rule (``events.CfnRule``) with its stack (``None``: read from the rule).
        self.rules = list(rules)
        self._found: list[tuple[cdk.Stack, Override, Any]] | None = None

    def tasks_run_with(self, role: Any, tasks: Callable[[], Sequence[Any]]) -> list[Any]:
        """The task definitions (of ``tasks``, ``IndexedTask``) a rule runs with ``role``,
        each as a task definition of its own that names the role (``override``)."""
        if self._found is None:
            self._found = self._read(tasks()) if self.rules else []
        found = []
        arns: dict[object, Any] = {}
        for stack, override, task in self._found:
            key = identity(stack)
            if key not in arns:
                arns[key] = stack.resolve(role.role_arn)
            if arns[key] in override.role_refs:
                shown = str(named_construct(override.rule).node.path)
                found.append(dataclasses.replace(task, override=shown, rendered=None))
        return found

    def _read(self, tasks: Sequence[Any]) -> list[tuple[cdk.Stack, Override, Any]]:
        found = []
        for stack, rules, local in with_their_stacks_tasks(self.rules, tasks):
            overrides = overrides_in(stack, rules)
            if not overrides:
                continue
            refs = stack.resolve([t.cfn.ref for t in local])
            for override in overrides:
                if override.task_ref in refs:
                    found.append((stack, override, local[refs.index(override.task_ref)]))
        return found


def overrides_in(stack: cdk.Stack, rules: Sequence[Any]) -> list[Override]:
    """The targets of ``rules`` (``events.CfnRule`` of ``stack``) that run a task definition
    with an execution role."""
    found: list[Override] = []
    resolved = stack.resolve([{"targets": cfn_properties(rule).get("targets")} for rule in rules])
    for rule, properties in zip(rules, resolved, strict=True):
        for target in properties.get("targets") or []:
            if not isinstance(target, dict):
                continue
            ecs_parameters = target.get("ecsParameters")
            given = target.get("input")
            if not isinstance(ecs_parameters, dict) or given is None:
                continue
            if "executionRole" not in json.dumps(given):
                continue
            refs = tuple(_references(given))
            if refs:
                found.append(Override(rule, ecs_parameters.get("taskDefinitionArn"), refs))
    return found


def _references(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        if "Ref" in value or "Fn::GetAtt" in value or "Fn::ImportValue" in value:
            yield value
            return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def template_overrides(assembly: Assembly, template: Template) -> list[tuple[str, str, str]]:
    """Each ``(task definition logical ID, execution role ARN as text, rule)`` of the ECS
    targets of ``template``'s rules that give an execution role."""
    found = []
    for logical_id, resource in template.resources.items():
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
    try:
        # Unknown parts of the text are marked with control characters (``_symbols``).
        given = json.loads(text, strict=False)
    except ValueError:
        return None
    role = given.get("executionRole") if isinstance(given, dict) else None
    return role if isinstance(role, str) else None
