"""The task definitions of the app by the execution role they use, read from the construct
tree.

Derivation reads the task definitions that use a role (``_usage``); a task definition names a
recording role itself (the usual way), another role object, or, for an L1
``CfnTaskDefinition``, just an ARN. An AWS Batch job definition is read as the task ECS runs
for it (``_batch``): an ``EcsJobDefinition``'s container names its role object, an L1
``CfnJobDefinition`` an ARN; an ECS Express Mode service as the task definition ECS registers
for it (``_express``), with the role ARN it names. The walk that finds them also finds the
app's secrets, whose keys derivation reads. What the app keeps between walks lives in its
state (``_app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn

from ._app import AppState
from ._batch import SINGLE_CONTAINER_NAME, job_tasks
from ._cdk_internals import identity, is_proxy_of
from ._express import express_containers
from ._overrides import RunTaskOverrides
from ._recorder import RecordingRole
from ._role_interface import own_role

__all__ = ["IndexedTask", "TaskIndex", "l1_role_arn", "scan_task_definitions", "tasks_using"]


@dataclass(eq=False)
class IndexedTask:
    """A task definition, its CloudFormation resource, and what is read of them (once).

    An L1 ``CfnTaskDefinition`` made without an L2 is its own ``task`` and ``resource``.
    """

    task: Any
    #: A ``CfnTaskDefinition`` (a ``CfnJobDefinition``, a ``CfnExpressGatewayService``).
    resource: Any = None
    execution_role: Any = None
    #: How many containers the library rendered to read them (``None``: not rendered).
    rendered: int | None = None
    #: How many containers the last walk of the app found.
    containers: int = 0
    #: The rule that runs the task definition with the role as a RunTask override (the
    #: task definition's own execution role is another), as messages name it.
    override: str | None = None
    #: An AWS Batch job definition (``task`` its L2 or its L1, ``resource`` its L1).
    job: bool = False
    #: An ECS Express Mode service (``task`` and ``resource`` its L1).
    express: bool = False
    _containers: Any = None
    _stack: cdk.Stack | None = None
    _role_arn: str | None = None

    @property
    def is_l1(self) -> bool:
        return self.task is self.resource

    @property
    def grants_secrets(self) -> bool:
        """Whether aws-cdk-lib grants the role its containers' secrets (an L2 task
        definition's own role): otherwise derivation reads them from the containers."""
        return not (self.is_l1 or self.override or self.job)

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
            if self.execution_role is not None:
                arn = self.execution_role.role_arn
            else:
                arn = l1_role_arn(self.cfn)
            self._role_arn = str(arn) if arn is not None else ""
        return self._role_arn

    @property
    def cfn(self) -> Any:
        """The resource: a ``CfnTaskDefinition`` (a ``CfnJobDefinition`` for a job)."""
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
        """The resource's containers, unresolved (the same value every time it is read); for
        a job, the properties that hold them (``containers_of`` reads them resolved)."""
        if self._containers is None:
            if self.job:
                cfn = self.cfn
                self._containers = {
                    "containerProperties": cfn.container_properties,
                    "ecsProperties": cfn.ecs_properties,
                    "nodeProperties": cfn.node_properties,
                    "jobDefinitionName": cfn.job_definition_name,
                }
            elif self.express:
                cfn = self.cfn
                self._containers = {
                    "primaryContainer": cfn.primary_container,
                    "cluster": cfn.cluster,
                    "serviceName": cfn.service_name,
                }
            else:
                self._containers = self.cfn.container_definitions
        return self._containers

    def l1_image(self, container: str) -> str | None:
        """The image of an L1's container (by its name) as a CDK string, which keeps the
        reference to a repository of the app that a URI was built from; ``None`` where the
        L1's property objects do not show it."""
        cfn = self.cfn
        if self.express:
            primary = cfn.primary_container
            return _text(getattr(primary, "image", None))
        if self.job:
            single = cfn.container_properties
            if single is not None and container == SINGLE_CONTAINER_NAME:
                return _text(getattr(single, "image", None))
            tasks = getattr(cfn.ecs_properties, "task_properties", None) or []
            containers = [c for t in tasks for c in getattr(t, "containers", None) or []]
        else:
            containers = cfn.container_definitions or []
        for found in containers if isinstance(containers, list) else []:
            if getattr(found, "name", None) == container:
                return _text(getattr(found, "image", None))
        return None

    def containers_of(self, resolved: Any) -> list[Any]:
        """The containers in template form, from ``container_definitions`` resolved: a job's
        are those of its tasks (``_batch``), each of which names the job's execution role
        (all of them, for an L1, which names its role by ARN only)."""
        if self.express:
            return express_containers(resolved)[1]
        if not self.job:
            return list(resolved or [])
        if not isinstance(resolved, dict):
            return []
        name = resolved.get("jobDefinitionName")
        tasks = job_tasks(resolved, name if isinstance(name, str) else None)
        return [container for task in tasks for container in task.containers]


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
    kept: list[Any] = []
    held: list[tuple[Any, Any]] = []
    stacks, nested, only_stack = 0, False, cast(Any, None)
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
        elif isinstance(construct, (ecs.CfnService, events.CfnRule, sfn.CfnStateMachine)):
            # Pre-order: the last stack listed holds it (unless nested stacks interleave).
            held.append((construct, only_stack))
        elif isinstance(construct, (batch.CfnJobDefinition, ecs.CfnExpressGatewayService)):
            _index_other(seen, index, construct)
        elif isinstance(construct, _KEPT_TYPES):
            kept.append(construct)
        elif isinstance(construct, ecs.CfnTaskDefinition):
            if pending is not None:
                if pending.resource is None:
                    pending.resource = construct
                pending = None
            else:
                _index_lone_l1(seen, index, construct)
    if stacks == 1:
        # An app of one stack (no nested stack either) has every task definition in it.
        for task in index.all_tasks():
            task.known_in(only_stack)
    app.secrets = secrets
    _keep_found(app, kept)
    _keep_held(app, index, [(c, None if nested else stack) for c, stack in held])
    return index


# What the walk keeps for the pull-through cache rules (``_pull_through``), and the buckets
# whose imports may name their owner (``_buckets``).
_CACHE_TYPES = (ecr.CfnPullThroughCacheRule, ecr.CfnRepositoryCreationTemplate)
_KEPT_TYPES = (*_CACHE_TYPES, s3.BucketBase)


def _keep_found(app: AppState, kept: list[Any]) -> None:
    """Keep the cache rules and templates, and the buckets imported into the app (a bucket
    of the app has no name before deployment)."""
    app.cache_constructs = [c for c in kept if isinstance(c, _CACHE_TYPES)]
    app.imported_bucket_constructs = [
        c for c in kept if isinstance(c, s3.BucketBase) and not isinstance(c, s3.Bucket)
    ]


def _index_lone_l1(seen: dict[object, IndexedTask], index: TaskIndex, resource: Any) -> None:
    """An L1 task definition of its own, matched to a role by its ARN."""
    key = identity(resource)
    l1 = seen.get(key)
    if l1 is None:
        l1 = seen[key] = IndexedTask(resource, resource)
    index.others.append(l1)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _index_other(seen: dict[object, IndexedTask], index: TaskIndex, resource: Any) -> None:
    """A job definition's resource, or an Express Mode service."""
    if isinstance(resource, ecs.CfnExpressGatewayService):
        _index_express(seen, index, resource)
        return
    job = _indexed_job(seen, resource)
    if job is None:
        return
    if isinstance(job.execution_role, RecordingRole):
        index.by_role.setdefault(id(job.execution_role), []).append(job)
    else:
        index.others.append(job)


def _index_express(
    seen: dict[object, IndexedTask], index: TaskIndex, service: ecs.CfnExpressGatewayService
) -> None:
    """An Express Mode service that names an execution role and a primary container (ECS
    registers the task definition that runs it), matched to a role by that role's ARN."""
    if l1_role_arn(service) is None:
        return
    key = identity(service)
    entry = seen.get(key) or IndexedTask(service, service, express=True)
    index.others.append(seen.setdefault(key, entry))


def _indexed_job(seen: dict[object, IndexedTask], resource: Any) -> IndexedTask | None:
    """A job definition's entry (kept between walks): an ``EcsJobDefinition``'s with its
    container's execution role object, an L1's matched by the role ARN it names; ``None``
    for one without an execution role (an EKS job)."""
    key = identity(resource)
    job = seen.get(key)
    if job is None:
        parent = resource.node.scope
        if isinstance(parent, batch.EcsJobDefinition):
            role = own_role(parent.container.execution_role)
            job = IndexedTask(parent, resource, execution_role=role, job=True)
        else:
            job = IndexedTask(resource, resource, job=True)
        seen[key] = job
    return job if job.execution_role is not None or job.role_arn() else None


def l1_role_arn(resource: Any) -> Any:
    """The execution role ARN an L1 names (a CDK string), read from its property objects:
    a ``CfnTaskDefinition``'s; a ``CfnJobDefinition``'s, the first of its tasks; a
    ``CfnExpressGatewayService``'s when it has a primary container (else ECS runs the task
    definition it names, with that one's role). ``None`` where they do not show one."""
    if isinstance(resource, ecs.CfnTaskDefinition):
        return resource.execution_role_arn
    if isinstance(resource, ecs.CfnExpressGatewayService):
        return resource.execution_role_arn if resource.primary_container else None
    single = resource.container_properties
    found = getattr(single, "execution_role_arn", None)
    if found is not None:
        return found
    ecs_properties = resource.ecs_properties
    for task in getattr(ecs_properties, "task_properties", None) or []:
        found = getattr(task, "execution_role_arn", None)
        if found is not None:
            return found
    nodes = getattr(resource.node_properties, "node_range_properties", None) or []
    for node in nodes:
        found = getattr(getattr(node, "container", None), "execution_role_arn", None)
        if found is not None:
            return found
    return None


def _keep_held(app: AppState, index: TaskIndex, held: list[tuple[Any, Any]]) -> None:
    """Keep the services and rules of the walk (each with its stack) and the index."""
    app.services = [(c, stack) for c, stack in held if isinstance(c, ecs.CfnService)]
    index.overrides = RunTaskOverrides(
        [(c, s) for c, s in held if not isinstance(c, ecs.CfnService)]
    )
    app.task_index = index


def tasks_using(app: AppState, role: Any) -> list[IndexedTask]:
    """The task definitions of the app whose execution role is ``role``: from the last walk
    of the app, or a new one when the app may have changed since."""
    index = app.task_index if app.task_index is not None else scan_task_definitions(app)
    return index.using(role)
