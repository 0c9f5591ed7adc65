"""Needs read from the task definitions that use a role, where aws-cdk-lib grants nothing.

aws-cdk-lib's grants cover images from ``ContainerImage.from_ecr_repository``, ``awslogs``
with a log group object and ``secrets``. It grants nothing for environment files in S3, for
``awslogs-create-group``, for log options given as plain strings, or for an ECR image named by
URI with ``ContainerImage.from_registry``; ECS still needs the permissions at launch. These
are read here from each container of each task definition whose execution role is the role.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import IConstruct

from ._cfn import flatten
from ._images import Registry, image_source, is_default_router
from ._kinds import ECR_TOKEN_ACTION, Kind
from ._needs import ContainerOrigin
from ._recorder import RecordingRole
from ._role_interface import own_role
from ._trust import stack_environment

__all__ = [
    "IndexedTask",
    "PolicyResource",
    "TaskIndex",
    "TaskNeed",
    "app_policy_resources",
    "app_secrets",
    "app_stacks",
    "scan_task_definitions",
    "task_needs_of",
    "tasks_using",
]


@dataclass(frozen=True)
class TaskNeed:
    """A permission one container of a task definition needs at launch (with no action: a
    fact for messages only, such as the secret a container's registry credentials are in)."""

    action: str
    resource: Any
    origin: str | ContainerOrigin
    prop: str
    # The task definition, for the family name of a message; read only when one is printed.
    task: Any = field(default=None, compare=False)

    @property
    def family(self) -> str:
        family = self.task.family if self.task is not None else None
        if not isinstance(family, str) or cdk.Token.is_unresolved(family):
            return ""
        return family


# The app's task definitions by execution role (the Python object: jsii hands back the very
# object a role was created as), built once per app on first use by the checks, which run at
# synth, when the construct tree is complete and can no longer change (aws-cdk-lib refuses
# changes after synthesis).
_INDEX_ATTRIBUTE = "_ecs_exec_roles_task_definitions_by_role"
# Every task definition seen in the app, by its identity (``_identity``): what is read of one
# is read once.
_SEEN_ATTRIBUTE = "_ecs_exec_roles_task_definitions_seen"


def _identity(construct: Any) -> object:
    """What identifies a construct across walks of the tree.

    jsii hands Python a new object each time it returns an object made in JavaScript (a task
    definition an ``ecs_patterns`` construct creates), so ``id()`` differs from one walk to
    the next; the reference jsii names the JavaScript object by does not.
    """
    reference = getattr(construct, "__jsii_ref__", None)
    return getattr(reference, "ref", None) or id(construct)


def _task_definition_index(root: IConstruct) -> TaskIndex:
    index: TaskIndex | None = getattr(root, _INDEX_ATTRIBUTE, None)
    if index is None:
        index = scan_task_definitions(root)
        setattr(root, _INDEX_ATTRIBUTE, index)
    return index


@dataclass(eq=False)
class IndexedTask:
    """A task definition, its CloudFormation resource, and what is read of them (once).

    An L1 ``CfnTaskDefinition`` made without an L2 is its own ``task`` and ``resource``.
    """

    task: Any
    resource: ecs.CfnTaskDefinition | None = None
    execution_role: Any = None
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
        if self.is_l1 or isinstance(self.execution_role, RecordingRole):
            return True
        # A role aws-cdk-lib made (``_harden``): the same object has the same path.
        path = getattr(role, "path", None)
        return isinstance(path, str) and str(self.execution_role.node.path) == path

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


def app_secrets(root: IConstruct) -> list[Any]:
    """The secrets of the app and those imported into it, from the last scan."""
    found: list[Any] | None = getattr(root, _SECRETS_ATTRIBUTE, None)
    return found if found is not None else []


@dataclass(frozen=True)
class PolicyResource:
    """An IAM policy resource of the app (``AWS::IAM::ManagedPolicy``, ``AWS::IAM::Policy``
    or ``AWS::IAM::RolePolicy``), and the policy construct it is the resource of, if any."""

    resource: Any
    owner: Any = None

    def role_names(self) -> Any:
        """The names of the roles it attaches to, as CDK values (a list or a list token)."""
        if isinstance(self.resource, iam.CfnRolePolicy):
            return [self.resource.role_name]
        return self.resource.roles


def app_stacks(root: IConstruct) -> list[cdk.Stack]:
    """The stacks of the app (nested stacks included), from the last scan."""
    found: list[cdk.Stack] | None = getattr(root, _STACKS_ATTRIBUTE, None)
    return found if found is not None else []


def app_policy_resources(root: IConstruct) -> list[PolicyResource]:
    """The IAM policy resources of the app, from the last scan."""
    found: list[PolicyResource] | None = getattr(root, _POLICIES_ATTRIBUTE, None)
    return found if found is not None else []


_SECRETS_ATTRIBUTE = "_ecs_exec_roles_secrets"
_POLICIES_ATTRIBUTE = "_ecs_exec_roles_policy_resources"
_STACKS_ATTRIBUTE = "_ecs_exec_roles_stacks"
_POLICY_RESOURCES = (iam.CfnManagedPolicy, iam.CfnPolicy, iam.CfnRolePolicy)


def _is_imported_secret(construct: Any) -> bool:
    # jsii hands an imported resource back as a proxy over one object per interface it
    # implements; telling them apart needs no call into aws-cdk-lib.
    delegates = getattr(construct, "__dict__", {}).get("_delegates")
    return isinstance(delegates, list) and any(
        isinstance(delegate, _SECRET_PROXY) for delegate in delegates
    )


_SECRET_PROXY = jsii.proxy_for(secretsmanager.ISecret)


class TaskIndex:
    """The app's task definitions by the execution role they use.

    A task definition names a recording role itself (the usual way, by ``id``), another role
    object, or, for an L1 ``CfnTaskDefinition``, just an ARN: those are matched to a role by
    its ARN (the same CDK string), read only when such task definitions exist.
    """

    def __init__(self) -> None:
        self.by_role: dict[int, list[IndexedTask]] = {}
        self.others: list[IndexedTask] = []
        self._using: dict[int, list[IndexedTask]] = {}

    def using(self, role: Any) -> list[IndexedTask]:
        found = self._using.get(id(role))
        if found is None:
            found = list(self.by_role.get(id(role), ()))
            if self.others:
                arn = str(role.role_arn)
                found.extend(task for task in self.others if task.role_arn() == arn)
            self._using[id(role)] = found
        return found


def scan_task_definitions(root: IConstruct) -> TaskIndex:
    """The app's task definitions by their execution role.

    Each one's resource is taken from the same walk: the tree is listed in pre-order, and a
    task definition creates its ``Resource`` child before any other task definition can
    follow it, so the first ``CfnTaskDefinition`` after one is its own. (Reading
    ``node.default_child`` instead is two calls into aws-cdk-lib per task definition.) A task
    definition seen in an earlier scan keeps what was read of it; its execution role, once it
    has one, cannot change.
    """
    seen: dict[object, IndexedTask] | None = getattr(root, _SEEN_ATTRIBUTE, None)
    if seen is None:
        seen = {}
        setattr(root, _SEEN_ATTRIBUTE, seen)
    index = TaskIndex()
    secrets: list[Any] = []
    policies: list[PolicyResource] = []
    stacks: list[cdk.Stack] = []
    pending: IndexedTask | None = None
    # A policy construct, until its resource (created first, so next in the walk) is seen.
    policy_owner: Any = None
    for construct in root.node.find_all():
        owner, policy_owner = policy_owner, None
        if isinstance(construct, secretsmanager.Secret) or _is_imported_secret(construct):
            secrets.append(construct)
        elif isinstance(construct, cdk.Stack):
            stacks.append(construct)
        elif isinstance(construct, (iam.ManagedPolicy, iam.Policy)):
            policy_owner = construct
        elif isinstance(construct, _POLICY_RESOURCES):
            policies.append(PolicyResource(construct, owner))
        elif isinstance(construct, ecs.TaskDefinition):
            identity = _identity(construct)
            known = seen.get(identity)
            if known is None or known.execution_role is None:
                known = seen[identity] = IndexedTask(
                    construct, execution_role=own_role(construct.execution_role)
                )
            # Its resource is the next CfnTaskDefinition in the walk.
            pending = known
            if isinstance(known.execution_role, RecordingRole):
                index.by_role.setdefault(id(known.execution_role), []).append(known)
            elif known.execution_role is not None:
                index.others.append(known)
        elif isinstance(construct, ecs.CfnTaskDefinition):
            if pending is not None:
                if pending.resource is None:
                    pending.resource = construct
                pending = None
            else:
                # An L1 task definition of its own, matched to a role by its ARN.
                identity = _identity(construct)
                l1 = seen.get(identity)
                if l1 is None:
                    l1 = seen[identity] = IndexedTask(construct, construct)
                index.others.append(l1)
    if len(stacks) == 1:
        # An app of one stack (no nested stack either) has every task definition in it.
        for task in (*(t for tasks in index.by_role.values() for t in tasks), *index.others):
            task.known_in(stacks[0])
    setattr(root, _SECRETS_ATTRIBUTE, secrets)
    setattr(root, _POLICIES_ATTRIBUTE, policies)
    setattr(root, _STACKS_ATTRIBUTE, stacks)
    return index


def tasks_using(root: IConstruct, role: Any) -> list[IndexedTask]:
    """The task definitions of the app whose execution role is ``role`` (at synth)."""
    return _task_definition_index(root).using(role)


def task_needs_of(
    stack: cdk.Stack, root: IConstruct, roles: Sequence[Any]
) -> dict[int, list[TaskNeed]]:
    """The needs of every container of the task definitions using each role, by ``id(role)``.

    Containers are read from their template form (aws-cdk-lib has already rendered them when
    checks run), all in one call, resolved in the roles' ``stack``: a task definition in
    another stack names the roles' resources by import there, but by the same ``Ref`` and
    ``Fn::GetAtt`` as the roles' statements here. Resources are returned in the flattened
    text form of ``_cfn.flatten``.
    """
    index = _task_definition_index(root)
    tasks = [
        (id(role), entry.task, entry.container_definitions)
        for role in roles
        for entry in index.using(role)
    ]
    result: dict[int, list[TaskNeed]] = {}
    if not tasks:
        return result
    _, _, stack_account = stack_environment(stack)
    account, *all_containers = stack.resolve(
        [stack_account, *(containers for _, _, containers in tasks)]
    )
    account = flatten(account)
    for (role_id, task, _), containers in zip(tasks, all_containers, strict=True):
        _container_needs(task, containers or (), account, result.setdefault(role_id, []))
    return result


def _container_needs(
    task: ecs.TaskDefinition, containers: Sequence[Any], account: str, needs: list[TaskNeed]
) -> None:
    """Add the needs of one task definition's containers."""
    task_needs: list[TaskNeed] = []
    for container in containers:
        origin = ContainerOrigin(task, str(container.get("name", "?")))
        task_needs.extend(_environment_file_needs(container, origin))
        task_needs.extend(_credential_spec_needs(container, origin))
        firelens = container.get("firelensConfiguration")
        if firelens is not None:
            task_needs.extend(_firelens_config_needs(firelens, origin))
        log_configuration = container.get("logConfiguration") or {}
        task_needs.extend(_log_needs(container, log_configuration, account, origin))
        task_needs.extend(_image_needs(container, origin))
        task_needs.extend(_secret_needs(container, origin, account))
        credentials = (container.get("repositoryCredentials") or {}).get("credentialsParameter")
        if credentials is not None:
            # Not a need of its own (aws-cdk-lib grants the secret): it tells a gap on the
            # secret to name `registry_credentials`.
            task_needs.append(TaskNeed("", flatten(credentials), origin, "registry_credentials"))
    needs.extend(replace(need, task=task) for need in task_needs)


# An object of a bucket named by its ARN (the partition may still be the flattened pseudo
# parameter "<AWS::Partition>"), or by the flattened ARN attribute of a bucket of the app.
_S3_ARN = re.compile(
    r"^(?P<bucket>arn:(?:<AWS::Partition>|[^:]+):s3:::[^/]+|<[A-Za-z0-9]+\.Arn>)/(?P<key>.+)$"
)


def _s3_object_needs(object_arn: str, origin: ContainerOrigin, prop: str) -> list[TaskNeed]:
    match = _S3_ARN.match(object_arn)
    if match is None:
        return []
    return [
        *(TaskNeed(action, object_arn, origin, prop) for action in Kind.S3_OBJECT.actions),
        *(TaskNeed(action, match["bucket"], origin, prop) for action in Kind.S3_BUCKET.actions),
    ]


def _environment_file_needs(container: dict[str, Any], origin: ContainerOrigin) -> list[TaskNeed]:
    needs: list[TaskNeed] = []
    for environment_file in container.get("environmentFiles") or ():
        if environment_file.get("type") == "s3":
            needs.extend(
                _s3_object_needs(
                    flatten(environment_file.get("value")),
                    origin.with_suffix(" for its environment file"),
                    "environment_files",
                )
            )
    return needs


_CREDENTIAL_SPEC = re.compile(r"^credentialspec(?:domainless)?:(?P<arn>.+)$")
_SSM_PARAMETER_ARN = re.compile(r"^arn:(?:<AWS::Partition>|[^:]+):ssm:[^:]+:[^:]+:parameter/.+$")


def _credential_spec_needs(container: dict[str, Any], origin: ContainerOrigin) -> list[TaskNeed]:
    needs: list[TaskNeed] = []
    for spec in container.get("credentialSpecs") or ():
        match = _CREDENTIAL_SPEC.match(flatten(spec))
        if match is None:
            continue
        where = origin.with_suffix(" for its credential spec")
        arn = match["arn"]
        if _SSM_PARAMETER_ARN.match(arn):
            needs.extend(
                TaskNeed(action, arn, where, "credential_specs")
                for action in Kind.PARAMETER.actions
            )
        else:
            needs.extend(_s3_object_needs(arn, where, "credential_specs"))
    return needs


def _firelens_config_needs(firelens: dict[str, Any], origin: ContainerOrigin) -> list[TaskNeed]:
    options = firelens.get("options") or {}
    if options.get("config-file-type") != "s3":
        return []
    return _s3_object_needs(
        flatten(options.get("config-file-value")),
        origin.with_suffix(" for its FireLens config file"),
        "firelens_config_files",
    )


def _log_needs(
    container: dict[str, Any],
    log_configuration: dict[str, Any],
    account: str,
    origin: ContainerOrigin,
) -> list[TaskNeed]:
    options = log_configuration.get("options") or {}
    if log_configuration.get("logDriver") != "awslogs" or "awslogs-group" not in options:
        return []
    group = flatten(options["awslogs-group"])
    region = flatten(options.get("awslogs-region", "<AWS::Region>"))
    group_arn = f"arn:<AWS::Partition>:logs:{region}:{account}:log-group:{group}"
    prefix = flatten(options.get("awslogs-stream-prefix", ""))
    # The driver names streams prefix/container-name/task-id, or the container ID without prefix.
    stream = f"{prefix}/{container.get('name', '*')}/*" if prefix else "*"
    stream_arn = f"{group_arn}:log-stream:{stream}"
    awslogs = origin.with_suffix(" for awslogs")
    needs = [
        TaskNeed(action, stream_arn, awslogs, "log_groups") for action in Kind.LOG_STREAM.actions
    ]
    create = options.get("awslogs-create-group", "false")
    if isinstance(create, str) and create.lower() == "true":
        needs.extend(
            TaskNeed(
                action,
                group_arn,
                origin.with_suffix(" for awslogs-create-group"),
                "log_groups_to_create",
            )
            for action in Kind.LOG_GROUP_CREATE.actions
        )
    return needs


def _image_needs(container: dict[str, Any], origin: ContainerOrigin) -> list[TaskNeed]:
    image = container.get("image")
    source = image_source(image)
    if source.registry is Registry.OTHER:
        return []
    shown = flatten(image)
    if source.registry is Registry.UNKNOWN:
        if is_default_router(container):
            return []  # the AWS-owned router image: see ``_firelens``
        # Not a need of its own: the check reports an image it cannot read.
        return [TaskNeed("", shown, origin, "image")]
    where = origin.with_suffix(f" for its image {shown}")
    return [
        TaskNeed(ECR_TOKEN_ACTION, "*", where, "repositories"),
        *(
            TaskNeed(action, source.repository_arn, where, "repositories")
            for action in Kind.REPOSITORY.actions
        ),
    ]


# A secret's ARN in a container's valueFrom, before an optional ":<json-key>:<stage>:<id>".
_SECRET_VALUE_FROM = re.compile(r"^(?P<arn>arn:[^:]+:secretsmanager:[^:]+:[^:]+:secret:[^:]+)")
# The six random characters Secrets Manager appends to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def _secret_needs(
    container: dict[str, Any], origin: ContainerOrigin, account: str
) -> list[TaskNeed]:
    """What a container's ``secrets`` need: each secret's value (the six-character suffix a
    partial ARN leaves out matched by ``-??????``), each parameter's."""
    needs: list[TaskNeed] = []
    for secret in container.get("secrets") or ():
        value = flatten(secret.get("valueFrom"))
        where = origin.with_suffix(f" for its secret {secret.get('name', '?')}")
        match = _SECRET_VALUE_FROM.match(value)
        if match is not None:
            arn = match["arn"]
            arn = arn if _SECRET_SUFFIX.search(arn) else f"{arn}-??????"
            needs.extend(TaskNeed(a, arn, where, "secrets") for a in Kind.SECRET.actions)
        elif ":ssm:" in value or not value.startswith(("arn:", "<")):
            # A parameter by ARN, or by name in the task's own region.
            arn = value
            if not value.startswith("arn:"):
                name = value.removeprefix("/")
                arn = f"arn:<AWS::Partition>:ssm:<AWS::Region>:{account}:parameter/{name}"
            needs.extend(TaskNeed(a, arn, where, "parameters") for a in Kind.PARAMETER.actions)
        elif value.startswith("<"):
            # A secret of the app, by its Ref (its ARN), before an optional JSON key.
            arn = value if value.endswith(">") else value.split(">:", 1)[0] + ">"
            needs.extend(TaskNeed(a, arn, where, "secrets") for a in Kind.SECRET.actions)
    return needs
