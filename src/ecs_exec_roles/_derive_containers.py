"""Derivation from containers: the needs aws-cdk-lib grants nothing for, from what the reader
(``_reader``) finds in the containers of the task definitions that use a role.

ECR images named by URI, ``awslogs`` streams (scoped by ``_derive`` against aws-cdk-lib's log
group grants), environment files, FireLens configuration files, credential specs, and the
secrets of an L1 task definition. A need's ARN must be a CDK string of the role's stack: a
value the template writes out, or builds from pseudo parameters, is rebuilt as one; a value
naming a resource is read from the container's CDK object, which keeps a reference to another
stack intact. A value neither can rebuild is left to the verification, which names it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk

from ._batch import SINGLE_CONTAINER_NAME
from ._buckets import object_owner, s3_bucket_arn_of
from ._cdk_internals import read_attribute
from ._cfn import is_unresolved
from ._errors import ExecutionRoleError
from ._express import is_deployment_named
from ._kinds import Kind
from ._names import name_problem
from ._needs import (
    ContainerOrigin,
    Need,
    bucket_key_needs,
    bucket_of,
)
from ._pull_through import rule_for
from ._reader import File, Image, Registry, SecretRef, SecretSource, TaskRead
from ._symbols import PLACEHOLDER, Symbols
from ._trust import stack_environment

if TYPE_CHECKING:
    from ._usage import GrantView, RoleUsage, TaskView

__all__ = ["DeriveContext", "Stream", "container_needs", "is_exact"]


class DeriveContext:
    """The usage, with the role stack's environment read once, and what derivation has
    learned from the grants that the containers' needs depend on."""

    def __init__(self, where: str, usage: RoleUsage) -> None:
        self.where = where
        self.usage = usage
        self.symbols: Symbols = usage.symbols
        self.errors: list[str] = []
        self.partition, self.region, self.account = stack_environment(usage.stack)
        self.log_group_grants: list[tuple[str, Any, GrantView]] = []
        # The repositories derived from grants, flattened: an image of one of them needs no
        # reading of its container's object.
        self.granted_repositories: set[str] = set()
        # Whether a task definition of another stack uses the role: its needs go there.
        self.remote = any(view.home is not None for view in usage.tasks)
        self.cache_rules = usage.cache_rules
        self._stacks: dict[int, Any] = {}

    def home_of(self, grant: GrantView) -> Any:
        """The stack a grant's needs go into: that of the task definition (or pattern) it
        was made for, when it is not the role's."""
        owner = grant.record.owner
        if not self.remote or owner is None:
            return None
        stack = self._stacks.get(id(owner))
        if stack is None:
            stack = self._stacks[id(owner)] = cdk.Stack.of(owner)
        return None if stack is self.usage.stack else stack

    def cdk_string(self, text: str, read: Callable[[], str | None]) -> str | None:
        """Resolved text as a CDK string of the role's stack: rebuilt where it names only
        pseudo parameters, else read from the CDK object that holds it (``None`` without)."""
        rebuilt = _with_pseudo_parameters(self.symbols, text)
        return rebuilt if rebuilt is not None else read()

    def shown(self, text: str) -> str:
        """Text as ``_cfn.flatten`` writes the same template value."""
        return self.symbols.display(text)


@dataclass(frozen=True)
class Stream:
    """Where one container's awslogs driver writes."""

    group: str  # the group's name as a CDK string
    group_key: str  # the group's name in flattened template form, to match grants
    region: str
    region_key: str
    prefix: str
    create_group: bool
    origin: ContainerOrigin
    home: Any
    #: The IAM wildcard of the name of a log group ECS names at deployment (that of an Express
    #: Mode service), from the ``*`` of ``group`` on; "" for any other group.
    group_wildcard: str = ""

    def arn(self, context: DeriveContext, suffix: str) -> str:
        """The group's ARN with ``suffix``, in the role's account: the awslogs driver writes
        to log groups of the task's own account."""
        return Kind.LOG_GROUP.arn(
            context.partition, self.region, context.account, f"{self.group}{suffix}"
        )


def container_needs(context: DeriveContext) -> tuple[list[Need], list[Stream]]:
    """The needs the containers of the role's task definitions show, and where each
    container's awslogs driver writes."""
    needs: list[Need] = []
    streams: list[Stream] = []
    for view in context.usage.tasks:
        sources: dict[str, _Source] = {}
        source = functools.partial(_source_of, sources, view)
        read: TaskRead = view.read
        found: list[Need] = []
        for image in read.images:
            found.extend(_image_needs(context, image, source(image.container)))
        for file in read.files:
            found.extend(_file_needs(context, file, source(file.container)))
        if not view.entry.grants_secrets:
            # aws-cdk-lib grants nothing for an L1 task definition's secrets, nor a role that
            # a rule runs a task definition with (its grants go to the task's own role); a
            # job definition's are read here too (an L1's get no grant, an L2's grants are
            # derived as well, to the same needs).
            for secret in read.secrets:
                found.extend(_secret_needs(context, secret, source(secret.container)))
        needs.extend(replace(need, home=view.home) for need in found)
        for logs in read.logs:
            stream = _stream(context, logs, source(logs.container), view.home)
            if stream is not None:
                streams.append(stream)
    return needs, streams


def _source_of(sources: dict[str, _Source], view: TaskView, name: str) -> _Source:
    """The source of a container of ``view`` by its name, made once."""
    if name not in sources:
        sources[name] = _Source(view, name)
    return sources[name]


class _Source:
    """One container of a task definition, read from its CDK object when a value in the
    template names a resource (the object holds it as a CDK string, which keeps a reference
    to another stack intact)."""

    def __init__(self, view: TaskView, name: str) -> None:
        self.view = view
        self.name = name
        self._object: Any = None
        self._log_options: dict[str, str] | None = None

    @property
    def task(self) -> Any:
        return self.view.entry.task

    @property
    def origin(self) -> ContainerOrigin:
        return ContainerOrigin(self.task, self.name)

    def container_object(self) -> Any:
        """The container's CDK object; ``None`` for an L1 task definition, which has none,
        and for a container ECS adds (a Service Connect proxy)."""
        entry = self.view.entry
        if self.name in self.view.added_log_options or entry.is_l1:
            return None
        if self._object is None:
            if entry.job:
                # An EcsJobDefinition's one container (Batch names it ``default``).
                self._object = self.task.container if self.name == SINGLE_CONTAINER_NAME else None
            else:
                self._object = self.task.find_container(self.name)
        return self._object

    def read(self, getter: Callable[[Any], Any]) -> str | None:
        """A value of the container's CDK object as a CDK string (``None`` without one)."""
        container = self.container_object()
        return str(getter(container)) if container is not None else None

    def log_option(self, name: str) -> str | None:
        added = self.view.added_log_options.get(self.name)
        if added is not None:
            return added.get(name)
        if self._log_options is None:
            container = self.container_object()
            config = container.log_driver_config if container is not None else None
            self._log_options = dict(config.options or {}) if config is not None else {}
        value = self._log_options.get(name)
        return str(value) if value is not None else None


# -- images --------------------------------------------------------------------------------------


def _image_needs(context: DeriveContext, image: Image, source: _Source) -> list[Need]:
    """Pulls from the ECR repository an image names, where aws-cdk-lib granted none
    (``from_registry`` with a URI, or with ``repository_uri_for_tag``)."""
    found = image.source
    if found.registry is not Registry.ECR:
        return []
    shown_arn = context.shown(found.repository_arn)
    if found.from_arn and shown_arn in context.granted_repositories:
        # aws-cdk-lib granted the pull (``from_ecr_repository``): derived from the grant.
        return []
    origin = source.origin.with_suffix(f" for its image {context.shown(image.text)}")
    if found.from_arn:
        repository = _repository_in(source)
        return [Need(Kind.REPOSITORY, repository, origin)] if repository else []
    arn = _with_pseudo_parameters(context.symbols, found.repository_arn)
    if arn is None:
        return []
    rule = rule_for(context.cache_rules, shown_arn)
    if rule is None:
        return [Need(Kind.REPOSITORY, arn, origin)]
    # Pulled through a cache rule of the app: importing the image and creating its
    # repository on the first pull, on exactly that repository.
    kinds = (Kind.REPOSITORY, Kind.PULL_THROUGH) + ((Kind.PULL_THROUGH_TAGGING,) * rule.tagging)
    return [Need(kind, arn, origin) for kind in kinds]


def _repository_in(source: _Source) -> str | None:
    """The ARN of the repository of the app a container's image URI was built from, as a CDK
    string: aws-cdk-lib keeps a reference to the repository behind the URI's name (in the
    container object's ``image_name``, or in an L1's image property)."""
    container = source.container_object()
    image_name = getattr(container, "image_name", None)  # a Batch container has none
    if container is None or image_name is None:
        image_name = source.view.entry.l1_image(source.name)
    if image_name is None:
        return None
    for token in cdk.Tokenization.reverse_string(str(image_name)).tokens:
        if isinstance(token, cdk.Reference):
            repository = token.target.node.scope
            arn = read_attribute(repository, "repository_arn")
            if arn is not None:
                return str(arn)
    return None


# -- logs ----------------------------------------------------------------------------------------


def _stream(context: DeriveContext, logs: Any, source: _Source, home: Any) -> Stream | None:
    group = context.cdk_string(logs.group, lambda: source.log_option("awslogs-group"))
    region = context.cdk_string(logs.region, lambda: source.log_option("awslogs-region"))
    if group is None or region is None:
        return None  # left to the verification, which reads the template
    region_key = context.shown(logs.region)
    if logs.region_value == _TASK_REGION and not is_unresolved(context.region):
        # No ``awslogs-region`` (a Batch job's default log configuration): the task's
        # region, which is the stack's, as a grant on the group names it.
        region = region_key = context.region
    return Stream(
        group,
        context.shown(logs.group),
        region,
        region_key,
        context.shown(logs.prefix),
        logs.create_group,
        source.origin.with_suffix(" for awslogs"),
        home,
        group[group.index("*") :]
        if source.view.entry.express and is_deployment_named(group)
        else "",
    )


# The region of a container's ``awslogs`` driver that names none (``_reader``).
_TASK_REGION = {"Ref": "AWS::Region"}


# -- secrets of L1 task definitions --------------------------------------------------------------


def _secret_needs(context: DeriveContext, secret: SecretRef, source: _Source) -> list[Need]:
    """Reads of a secret or parameter named by an ARN written out or built from pseudo
    parameters (what else it names, the verification reports)."""
    arn = _with_pseudo_parameters(context.symbols, secret.arn)
    if arn is None or secret.source is SecretSource.UNKNOWN:
        return []
    label = f" for its {_PURPOSES[secret.purpose]}"
    origin = source.origin.with_suffix(f"{label} {secret.name}" if secret.name else label)
    if secret.source is SecretSource.SECRET:
        return [Need(Kind.SECRET, f"{arn}-??????" if secret.partial else arn, origin)]
    return [Need(Kind.PARAMETER, arn, origin)]


_PURPOSES = {
    "secrets": "secret",
    "secretOptions": "log driver secret option",
    "repositoryCredentials": "registry credentials",
}


# -- files: environment files, FireLens configuration, credential specs ---------------------------

_FILE_LABELS = {
    "environmentFiles": "environment file",
    "firelensConfiguration": "FireLens config file",
    "credentialSpecs": "credential spec",
}


def _file_arn(context: DeriveContext, file: File, container: Any) -> str:
    """A file's ARN as the container's CDK object holds it."""
    if file.purpose == "environmentFiles":
        location = container.environment_files[file.index].s3_location
        return f"arn:{context.partition}:s3:::{location.bucket_name}/{location.object_key}"
    if file.purpose == "firelensConfiguration":
        return str(container.firelens_config.options.config_file_value)
    location = str(container.credential_specs[file.index].location)
    # The location is the ARN, with its "credentialspec:" prefix in some releases.
    return location.split(":", 1)[1] if location.startswith("credentialspec") else location


def _file_needs(context: DeriveContext, file: File, source: _Source) -> list[Need]:
    """An object in S3 and its bucket's location, and a customer managed key the bucket of
    the app encrypts with, through S3; or a credential spec's SSM parameter."""
    what = _FILE_LABELS[file.purpose]
    arn = context.cdk_string(file.arn, lambda: source.read(lambda c: _file_arn(context, file, c)))
    if arn is None:
        return []
    origin = source.origin.with_suffix(f" for its {what}")
    if not file.in_s3:
        return (
            [Need(Kind.PARAMETER, arn, origin)]
            if is_exact(context, Kind.PARAMETER, file.arn)
            else []
        )
    if not is_exact(context, Kind.S3_OBJECT, file.arn):
        return []
    bucket_arn = s3_bucket_arn_of(arn)
    bucket_name = bucket_arn.rpartition(":::")[2]
    bucket = bucket_of(bucket_name or bucket_arn)
    owner = object_owner(bucket)
    needs = [
        Need(Kind.S3_OBJECT, arn, origin, owner=owner),
        Need(Kind.S3_BUCKET, bucket_arn, origin, owner=owner),
    ]
    if bucket is not None:
        try:
            needs.extend(bucket_key_needs(context.where, f"the bucket of {origin}", bucket))
        except ExecutionRoleError as error:
            context.errors.append(str(error))
    return needs


# -- helpers -------------------------------------------------------------------------------------


def is_exact(context: DeriveContext, kind: Kind, text: str) -> bool:
    """Whether text names one resource of ``kind``: no IAM wildcard in what the template
    writes, but the one its kind's ARN ends in by itself (a log group's ``:*``)."""
    return name_problem(kind, context.shown(text)) is None


_PSEUDO_TOKENS: dict[str, str] = {}


def _pseudo_token(name: str) -> str:
    """A pseudo parameter as a CDK string (read from aws-cdk-lib once)."""
    if not _PSEUDO_TOKENS:
        _PSEUDO_TOKENS.update(
            {
                "AWS::Partition": cdk.Aws.PARTITION,
                "AWS::Region": cdk.Aws.REGION,
                "AWS::AccountId": cdk.Aws.ACCOUNT_ID,
                "AWS::URLSuffix": cdk.Aws.URL_SUFFIX,
            }
        )
    return _PSEUDO_TOKENS[name]


def _with_pseudo_parameters(symbols: Symbols, text: str) -> str | None:
    """Text as a CDK string when its unknown parts are all pseudo parameters; ``None`` when it
    names anything else."""
    pseudo = [unknown.pseudo for unknown in symbols.unknowns(text)]
    if not all(
        name in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
        for name in pseudo
    ):
        return None
    if not pseudo:
        return text
    names = iter(pseudo)
    return PLACEHOLDER.sub(lambda _: _pseudo_token(next(names)), text)
