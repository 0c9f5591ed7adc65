"""RunTask overrides: a task definition run with another execution role than its own.

EventBridge's ECS target (``targets.EcsTask(..., execution_role=role)``) runs its task definition
with the execution role named in the target's input: aws-cdk-lib writes
``{"executionRole": "<role ARN>"}`` into the target's ``Input``, and EventBridge passes it to
RunTask as an override. That role, not the task definition's, pulls the images, writes the
logs and reads the secrets of the task, so the task definition is one that uses it:

- :func:`overrides_in`, for derivation: the rules of a stack (from the construct tree,
  resolved) that run a task definition with an execution role, by their references;
- ``_run_task.template_overrides``, for the verification: the same read of a synthesized
  template, without aws-cdk-lib.

A Step Functions state machine does the same with an ECS RunTask state
(``arn:aws:states:::ecs:runTask``, ``.sync`` and ``.waitForTaskToken`` alike) whose
``Parameters`` (``Arguments`` under JSONata) hold ``Overrides.ExecutionRoleArn``, passed to
RunTask as it is. aws-cdk-lib's ``EcsRunTask`` has no such override: apps write the state with
``sfn.CustomState``. Its definition (``DefinitionString``) is read as text, every value the
template builds it from standing in its place (``_symbols``), and each such state gives the
task definition and the role it names; a value taken from the state's input
(``ExecutionRoleArn.$``) names no role the template can tell.

aws-cdk-lib grants the overriding role nothing for the task definition (its grants go to the
task definition's own role), so derivation reads the secrets of such a task definition from
its containers, as for an L1 task definition.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from ._assembly import Assembly
from ._cdk_internals import cfn_properties, identity, named_construct
from ._cfn import LocalTwin, with_their_stacks_tasks
from ._run_task import expression, run_task_states
from ._template import Template

__all__ = ["Override", "RunTaskOverrides", "overrides_in", "overriding_roles"]


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
        if not self._found:
            return []
        found = []
        arns: dict[object, Any] = {}
        role_object = getattr(role, "role", role)  # an adopted role's iam.Role
        home = cdk.Stack.of(role_object)
        twin = LocalTwin(role_object)
        for stack, override, task in self._found:
            key = identity(stack)
            if key not in arns:
                # A role of another stack is read as a reference within the rule's stack:
                # one of another stage cannot be named there, and one at a path the rule's
                # stack has too is that stack's own.
                elsewhere = key != identity(home) and (
                    identity(cdk.Stage.of(stack)) != identity(cdk.Stage.of(home))
                    or twin.in_stack(stack)
                )
                arns[key] = None if elsewhere else stack.resolve(role.role_arn)
            if arns[key] is not None and arns[key] in override.role_refs:
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
    """The targets of ``rules`` (``events.CfnRule`` of ``stack``) and the states of its state
    machines (``CfnStateMachine``) that run a task definition with an execution role."""
    found: list[Override] = []
    wanted = [
        {"definitionString": cfn_properties(rule).get("definitionString")}
        if isinstance(rule, sfn.CfnStateMachine)
        else {"targets": cfn_properties(rule).get("targets")}
        for rule in rules
    ]
    assembly = Assembly([Template("", {})])
    for rule, properties in zip(rules, stack.resolve(wanted), strict=True):
        if "definitionString" in properties:
            for task, role in run_task_states(assembly, assembly.templates[0], properties):
                found.append(
                    Override(rule, expression(assembly, task), (expression(assembly, role),))
                )
            continue
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


def overriding_roles(runner: Any) -> list[tuple[ecs.TaskDefinition, iam.Role]]:
    """Each task definition of its stack that ``runner`` (an ``events.CfnRule``, a
    ``CfnStateMachine``) runs with another execution role, with that role, when the app made
    it in the same stack (read only for an app with such a rule or state machine)."""
    stack = runner.stack
    overrides = overrides_in(stack, [runner])
    if not overrides:
        return []
    constructs = [c for c in stack.node.find_all() if isinstance(c, (ecs.TaskDefinition, iam.Role))]
    refs = stack.resolve([c.node.default_child.ref for c in constructs])  # type: ignore[union-attr]
    by_id = {_logical_id(ref): construct for ref, construct in zip(refs, constructs, strict=True)}
    found = []
    for override in overrides:
        task = by_id.get(_logical_id(override.task_ref))
        for ref in override.role_refs:
            role = by_id.get(_logical_id(ref))
            if isinstance(task, ecs.TaskDefinition) and isinstance(role, iam.Role):
                found.append((task, role))
    return found


def _logical_id(reference: Any) -> str | None:
    """The logical ID a ``Ref`` or ``Fn::GetAtt`` names."""
    if not isinstance(reference, dict):
        return None
    found = reference.get("Ref") or (reference.get("Fn::GetAtt") or [None])[0]
    return found if isinstance(found, str) else None
