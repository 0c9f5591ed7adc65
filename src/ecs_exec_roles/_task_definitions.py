"""The task definitions of the app by the execution role they use, read from the construct
tree.

Derivation reads the task definitions that use a role (``_usage``); a task definition names a
recording role itself (the usual way), another role object, or, for an L1
``CfnTaskDefinition``, just an ARN. The walk that finds them also finds the app's secrets, whose
keys derivation reads. What the app keeps between walks lives in its state (``_app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager

from ._app import AppState
from ._cdk_internals import identity, is_proxy_of
from ._overrides import RunTaskOverrides
from ._recorder import RecordingRole
from ._role_interface import own_role

__all__ = ["IndexedTask", "TaskIndex", "scan_task_definitions", "tasks_using"]


@dataclass(eq=False)
class IndexedTask:
    """A task definition, its CloudFormation resource, and what is read of them (once).

    An L1 ``CfnTaskDefinition`` made without an L2 is its own ``task`` and ``resource``.
    """

    task: Any
    resource: ecs.CfnTaskDefinition | None = None
    execution_role: Any = None
    #: How many containers the library rendered to read them (``None``: not rendered).
    rendered: int | None = None
    #: How many containers the last walk of the app found.
    containers: int = 0
    #: The rule that runs the task definition with the role as a RunTask override (the
    #: task definition's own execution role is another), as messages name it.
    override: str | None = None
    _containers: Any = None
    _stack: cdk.Stack | None = None
    _role_arn: str | None = None

    @property
    def is_l1(self) -> bool:
        return self.task is self.resource

    def names_role_itself(self, role: Any) -> bool:
        """Whether the task definition names ``role`` as the very object its grants went to,
        not through another role object with its ARN (``without_policy_updates()``,
        ``iam.Role.from_role_arn``), whose grants never reach it."""
        if self.is_l1 or self.override or isinstance(self.execution_role, RecordingRole):
            return True
        if getattr(role, "reached_by_arn", False):
            # A role the app made, hardened: every policy reaching it is replaced.
            return True
        # A role aws-cdk-lib made (``_harden``): the same object has the same path.
        path = getattr(role, "path", None)
        return isinstance(path, str) and str(self.execution_role.node.path) == path

    def role_name(self) -> str:
        """The execution role object's name as a CDK string (an L1's: empty)."""
        if self.is_l1 or self.execution_role is None:
            return ""
        return str(self.execution_role.role_name)

    def role_arn(self) -> str:
        """The execution role's ARN as a CDK string (read once)."""
        if self._role_arn is None:
            arn = self.cfn.execution_role_arn if self.is_l1 else self.execution_role.role_arn
            self._role_arn = str(arn) if arn is not None else ""
        return self._role_arn

    @property
    def cfn(self) -> ecs.CfnTaskDefinition:
        if self.resource is None:
            self.resource = self.task.node.default_child
        return self.resource

    def known_in(self, stack: cdk.Stack) -> None:
        """Take ``stack`` as the task definition's, when the app has no other."""
        if self._stack is None:
            self._stack = stack

    @property
    def stack(self) -> cdk.Stack:
        """The task definition's stack (read once)."""
        if self._stack is None:
            self._stack = self.task.stack
        return self._stack

    @property
    def container_definitions(self) -> Any:
        """The resource's containers, unresolved (the same value every time it is read)."""
        if self._containers is None:
            self._containers = self.cfn.container_definitions
        return self._containers


class TaskIndex:
    """The app's task definitions by the execution role they use.

    A task definition names a recording role itself (the usual way, by ``id``), another role
    object, or, for an L1 ``CfnTaskDefinition``, just an ARN: those are matched to a role by
    its ARN (the same CDK string), read only when such task definitions exist.
    """

    def __init__(self) -> None:
        self.by_role: dict[int, list[IndexedTask]] = {}
        self.others: list[IndexedTask] = []
        #: The rules that run task definitions with another execution role.
        self.overrides = RunTaskOverrides([])
        self._using: dict[int, list[IndexedTask]] = {}

    def all_tasks(self) -> list[IndexedTask]:
        return [*(t for group in self.by_role.values() for t in group), *self.others]

    def using(self, role: Any) -> list[IndexedTask]:
        found = self._using.get(id(role))
        if found is None:
            found = list(self.by_role.get(id(role), ()))
            if self.others:
                arn = str(role.role_arn)
                found.extend(task for task in self.others if task.role_arn() == arn)
                names = getattr(role, "role_names", ())
                if names:
                    # A role the app made, named by its name (``iam.Role.from_role_name``).
                    found.extend(
                        task
                        for task in self.others
                        if task not in found and task.role_name() in names
                    )
            found.extend(self.overrides.tasks_run_with(role, self.all_tasks))
            self._using[id(role)] = found
        return found


def scan_task_definitions(app: AppState) -> TaskIndex:
    """The app's task definitions by their execution role (and its secrets and services, kept
    in ``app``).

    Each one's resource is taken from the same walk: the tree is listed in pre-order, and a
    task definition creates its ``Resource`` child before any other task definition can
    follow it, so the first ``CfnTaskDefinition`` after one is its own. (Reading
    ``node.default_child`` instead is two calls into aws-cdk-lib per task definition.) A task
    definition seen in an earlier walk keeps what was read of it; its execution role, once it
    has one, cannot change.
    """
    seen = app.tasks_seen
    index = TaskIndex()
    secrets: list[Any] = []
    held: list[tuple[Any, Any]] = []
    stacks = 0
    nested = False
    only_stack: Any = None
    pending: IndexedTask | None = None
    # The task definition the containers of the walk belong to (their parent, which the
    # pre-order walk lists first).
    current: IndexedTask | None = None
    for construct in app.root.node.find_all():
        if isinstance(construct, secretsmanager.Secret) or is_proxy_of(
            construct, secretsmanager.ISecret
        ):
            secrets.append(construct)
        elif isinstance(construct, cdk.Stack):
            stacks += 1
            only_stack = construct
            nested = nested or isinstance(construct, cdk.NestedStack)
        elif isinstance(construct, ecs.TaskDefinition):
            key = identity(construct)
            known = seen.get(key)
            if known is None or known.execution_role is None:
                known = seen[key] = IndexedTask(
                    construct, execution_role=own_role(construct.execution_role)
                )
            # Its resource is the next CfnTaskDefinition in the walk.
            pending = current = known
            known.containers = 0
            if isinstance(known.execution_role, RecordingRole):
                index.by_role.setdefault(id(known.execution_role), []).append(known)
            elif known.execution_role is not None:
                index.others.append(known)
        elif isinstance(construct, ecs.ContainerDefinition):
            if current is not None:
                current.containers += 1
        elif isinstance(construct, (ecs.CfnService, events.CfnRule)):
            # Pre-order: the last stack listed holds it (unless nested stacks interleave).
            held.append((construct, only_stack))
        elif isinstance(construct, ecs.CfnTaskDefinition):
            if pending is not None:
                if pending.resource is None:
                    pending.resource = construct
                pending = None
            else:
                # An L1 task definition of its own, matched to a role by its ARN.
                key = identity(construct)
                l1 = seen.get(key)
                if l1 is None:
                    l1 = seen[key] = IndexedTask(construct, construct)
                index.others.append(l1)
    if stacks == 1:
        # An app of one stack (no nested stack either) has every task definition in it.
        for task in index.all_tasks():
            task.known_in(only_stack)
    app.secrets = secrets
    _keep_held(app, index, [(c, None if nested else stack) for c, stack in held])
    return index


def _keep_held(app: AppState, index: TaskIndex, held: list[tuple[Any, Any]]) -> None:
    """Keep the services and rules of the walk (each with its stack) and the index."""
    app.services = [(c, stack) for c, stack in held if isinstance(c, ecs.CfnService)]
    index.overrides = RunTaskOverrides([(c, s) for c, s in held if isinstance(c, events.CfnRule)])
    app.task_index = index


def tasks_using(app: AppState, role: Any) -> list[IndexedTask]:
    """The task definitions of the app whose execution role is ``role``: from the last walk
    of the app, or a new one when the app may have changed since."""
    index = app.task_index if app.task_index is not None else scan_task_definitions(app)
    return index.using(role)
