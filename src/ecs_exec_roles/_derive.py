"""Derivation: the needs of the task definitions that use a role, observed at synth.

Two sources, both of which the synth-time check reads too:

- the grants aws-cdk-lib makes to the role for its task definitions, reduced to the actions
  ECS calls (``secretsmanager:GetSecretValue``, never ``DescribeSecret``; ``ssm:GetParameters``
  only; ``kms:Decrypt`` only through the service that uses the key);
- the containers, for what aws-cdk-lib grants nothing for: ECR images named by URI, ``awslogs``
  options (streams scoped to the stream prefix, ``awslogs-create-group``), environment files,
  FireLens configuration files and credential specs in S3 or SSM.

Each becomes a need scoped exactly as the props would scope it; what the plan's needs already
cover adds nothing. A grant derivation does not reduce to an exact resource (a wildcard, an
action ECS never calls, a file bucket's ``*``) is left to the check, which fails synth on it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk

from ._cfn import canonical, flatten
from ._coverage import Cover, CoverIndex, covers_of
from ._errors import ExecutionRoleError
from ._features import s3_bucket_arn_of
from ._images import Registry, image_source
from ._kinds import Kind, ecs_subset
from ._needs import (
    ContainerOrigin,
    LazyOrigin,
    Need,
    bucket_key_needs,
    bucket_of,
    key_need,
    name_problem,
    read_attribute,
)
from ._statements import build_statements
from ._trust import stack_environment

if TYPE_CHECKING:
    from ._plan import Plan
    from ._usage import GrantView, RoleUsage, SecretKeys, StackValues, TaskView

__all__ = ["Derived", "observe_task_definitions"]

_STREAM_REASON = (
    "The awslogs driver names streams prefix/container/task-id, unknown before launch; the "
    "wildcard covers only streams under the task's stream prefix in this log group."
)
_LOG_GROUP_REASON = (
    "The awslogs driver creates one log stream per container and task, unknown before "
    "launch; the wildcard covers only streams of this log group."
)

# The kinds a grant is reduced to.
_GRANT_KINDS = (Kind.REPOSITORY, Kind.LOG_GROUP, Kind.SECRET, Kind.PARAMETER, Kind.KEY)
# Services ECS decrypts through with an execution role, as they name themselves in
# kms:ViaService.
_VIA_SERVICES = ("secretsmanager", "ssm", "s3")
_VIA_SERVICE = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<region>.+)\.amazonaws\.com(?:\.cn)?$")


class Derived:
    """The needs derived for a role (an observation of its plan): every need its grants and
    task definitions show, less those the plan covers (computed once the lifecycle has
    resolved ``values``, together with every other role's)."""

    def __init__(
        self,
        plan: Plan,
        values: StackValues,
        candidates: Sequence[Need],
        errors: Sequence[str] = (),
        secret_keys: SecretKeys | None = None,
    ) -> None:
        self.errors: Sequence[str] = errors
        self._secret_keys = secret_keys
        self._plan = plan
        self._stack_values = values
        self._candidates = candidates
        self._needs: list[Need] | None = None

    @property
    def values(self) -> list[str]:
        return [need.arn for need in self._candidates]

    @property
    def needs(self) -> list[Need]:
        if self._needs is None:
            self._needs = []  # while the plan's other needs are read below
            needs = _uncovered(self._plan, self._stack_values, self._candidates)
            # The keys of the secrets the plan does not cover yet, read from their objects.
            secrets = [need for need in needs if need.kind is Kind.SECRET]
            resolved = self._stack_values.resolve([need.arn for need in secrets])
            keys, errors = _secret_key_needs(
                self._plan.where, self._secret_keys, list(zip(secrets, resolved, strict=True))
            )
            self._needs = needs
            self.errors = [*self.errors, *errors]
            self._needs = needs + _uncovered(self._plan, self._stack_values, keys)
        return self._needs

    def accounted_for(self, grants: Sequence[Mapping[str, Any]]) -> set[int]:
        return set()


def observe_task_definitions(plan: Plan, usage: RoleUsage) -> Derived | None:
    """The needs of the role's task definitions that its plan does not cover yet."""
    if not plan.derive:
        return None
    context = _Context(plan.where, usage)
    needs = _grant_needs(context) + _container_needs(context)
    return Derived(plan, usage.stack_values, needs, context.errors, usage.secret_keys)


class _Context:
    """The usage, with the role stack's environment read once."""

    def __init__(self, where: str, usage: RoleUsage) -> None:
        self.where = where
        self.usage = usage
        self.errors: list[str] = []
        self.partition, self.region, self.account = stack_environment(usage.stack)
        self.log_group_grants: list[tuple[str, Any, GrantView]] = []
        # The repositories derived from grants, flattened: an image of one of them needs no
        # reading of its container's object.
        self.granted_repositories: set[str] = set()
        # Whether a task definition of another stack uses the role: its needs go there.
        self.remote = any(view.home is not None for view in usage.tasks)
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


# -- grants --------------------------------------------------------------------------------


def _grant_needs(context: _Context) -> list[Need]:
    needs: list[Need] = []
    grants = context.usage.grants
    for index, grant in enumerate(grants):
        resolved = grant.resolved
        if resolved.get("Effect", "Allow") != "Allow" or "NotAction" in resolved:
            continue
        if "NotResource" in resolved:
            continue
        actions = set(ecs_subset(_as_list(resolved.get("Action"))))
        tokens = _as_list(grant.tokens.get("Resource"))
        templates = _as_list(resolved.get("Resource"))
        if len(tokens) != len(templates):
            # A list token (or a value that resolves to nothing): not one resource per string,
            # so nothing is derived from it; the check reports what it does not cover.
            continue
        resources = list(zip(tokens, templates, strict=True))
        for kind in _GRANT_KINDS:
            if not actions.intersection(action.lower() for action in kind.actions):
                continue
            for token, template in resources:
                if not _exact(kind, template):
                    continue
                need = _grant_need(context, kind, token, template, grant, grants[index + 1 :])
                if need is not None:
                    needs.append(need)
    return needs


def _grant_need(
    context: _Context,
    kind: Kind,
    token: str,
    template: Any,
    grant: GrantView,
    following: Sequence[GrantView],
) -> Need | None:
    origin = _grant_origin(grant)
    if kind is Kind.LOG_GROUP:
        # Scoped to the streams the containers write once their options are read.
        context.log_group_grants.append((token, template, grant))
        return None
    if kind is Kind.KEY:
        need = _key_need(context, token, template, grant, following, origin)
        return replace(need, home=context.home_of(grant)) if need is not None else None
    if kind is Kind.REPOSITORY:
        context.granted_repositories.add(flatten(template))
    return Need(kind, token, origin, home=context.home_of(grant))


def _secret_key_needs(
    where: str, keys: SecretKeys | None, secrets: Sequence[tuple[Need, Any]]
) -> tuple[list[Need], list[str]]:
    """The customer managed keys the objects of granted secrets hold, through Secrets
    Manager (and what cannot be allowed).

    aws-cdk-lib grants a secret's key to a ``ViaServicePrincipal``, which never reaches the
    role's own policy: the grant lands in the policy of a key of the app (which names the
    role), and nowhere for an imported key.

    :param secrets: the granted secrets' needs, with their template form.
    """
    by_arn = keys.by_arn() if keys is not None and secrets else {}
    needs: list[Need] = []
    errors: list[str] = []
    for need, template in secrets:
        holder = by_arn.get(canonical(template))
        if holder is None:
            continue
        secret, key = holder
        label = f"the encryption key of the secret {LazyOrigin(secret)}"
        try:
            found = key_need(where, "secrets", 0, key, ("secretsmanager",), label=label)
            needs.append(replace(found, home=need.home))
        except ExecutionRoleError as error:
            errors.append(str(error))
    return needs, errors


def _key_need(
    context: _Context,
    token: str,
    template: Any,
    grant: GrantView,
    following: Sequence[GrantView],
    origin: str | LazyOrigin | ContainerOrigin,
) -> Need | None:
    """Decryption with a key, through the service that uses it.

    aws-cdk-lib's grants name the service in ``kms:ViaService`` for a secret's key; a
    SecureString parameter's key is granted without a condition, right before the parameter's
    own grant (``ParameterBase.grantRead``), so the next grant names the service then.
    """
    via = _as_list(
        ((grant.tokens.get("Condition") or {}).get("StringEquals") or {}).get("kms:ViaService")
    )
    pairs = [match for value in via if (match := _VIA_SERVICE.match(str(value)))]
    if via and len(pairs) == len(via) and all(m["service"] in _VIA_SERVICES for m in pairs):
        region = pairs[0]["region"]
        services = tuple(sorted({m["service"] for m in pairs}))
        return Need(Kind.KEY, token, origin, region, services)
    if not via and following and _reads_parameters(following[0]):
        return Need(Kind.KEY, token, origin, _region_of(template, context.region), ("ssm",))
    return None


def _reads_parameters(grant: GrantView) -> bool:
    actions = ecs_subset(_as_list(grant.resolved.get("Action")))
    return "ssm:getparameters" in actions and "Condition" not in grant.resolved


def _grant_origin(grant: GrantView) -> str | LazyOrigin:
    task = grant.record.task_definition
    return LazyOrigin(task, "a grant for ") if task is not None else "a grant to the role"


# -- containers ----------------------------------------------------------------------------


def _container_needs(context: _Context) -> list[Need]:
    needs: list[Need] = []
    streams: list[_Stream] = []
    for view in context.usage.tasks:
        for container in view.containers:
            source = _Source(view, container)
            found = _image_needs(context, container, source)
            found += _file_needs(context, container, source)
            if view.entry.is_l1:
                # aws-cdk-lib grants nothing for an L1 task definition's secrets.
                found += _secret_needs(container, source)
            needs.extend(replace(need, home=view.home) for need in found)
            streams.extend(_streams(context, container, source))
    return needs + _log_needs(context, streams)


# A secret's ARN in a container's valueFrom (before an optional ":<json-key>:<stage>:<id>"),
# and the six random characters Secrets Manager appends to a secret's name in its ARN.
_SECRET_VALUE_FROM = re.compile(r"^arn:[^:]+:secretsmanager:[^:]+:[^:]+:secret:[^:]+")
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_PARAMETER_VALUE_FROM = re.compile(r"^arn:[^:]+:ssm:[^:]+:[^:]+:parameter/.+$")


def _secret_needs(container: dict[str, Any], source: _Source) -> list[Need]:
    """Reads of the secrets and parameters a container's ``secrets`` name by an ARN written
    out or built from pseudo parameters (what else they name, the check reports)."""
    needs: list[Need] = []
    for secret in container.get("secrets") or ():
        value = secret.get("valueFrom")
        text = _with_pseudo_parameters(value)
        if text is None:
            continue
        origin = source.origin.with_suffix(f" for its secret {secret.get('name', '?')}")
        flat = flatten(value)
        match = _SECRET_VALUE_FROM.match(flat)
        if match is not None:
            # The JSON key, stage and version after the ARN are literal text in both forms.
            tail = flat[match.end() :]
            arn = text[: len(text) - len(tail)] if tail else text
            arn = arn if _SECRET_SUFFIX.search(match[0]) else f"{arn}-??????"
            needs.append(Need(Kind.SECRET, arn, origin))
        elif _PARAMETER_VALUE_FROM.match(flat):
            needs.append(Need(Kind.PARAMETER, text, origin))
    return needs


class _Source:
    """One container of a task definition, read from its CDK object when a value in the
    template names a resource (the object holds it as a CDK string, which keeps a reference
    to another stack intact)."""

    def __init__(self, view: TaskView, container: dict[str, Any]) -> None:
        self.view = view
        self.name = str(container.get("name", ""))
        self._object: Any = None
        self._log_options: dict[str, str] | None = None

    @property
    def task(self) -> Any:
        return self.view.entry.task

    @property
    def origin(self) -> ContainerOrigin:
        return ContainerOrigin(self.task, self.name)

    def container_object(self) -> Any:
        """The container's CDK object; ``None`` for an L1 task definition, which has none."""
        if self._object is None and not self.view.entry.is_l1:
            self._object = self.task.find_container(self.name)
        return self._object

    def read(self, getter: Callable[[Any], Any]) -> str | None:
        """A value of the container's CDK object as a CDK string (``None`` without one)."""
        container = self.container_object()
        return str(getter(container)) if container is not None else None

    def log_options(self) -> Mapping[str, str]:
        if self._log_options is None:
            container = self.container_object()
            self._log_options = (
                dict(container.log_driver_config.options) if container is not None else {}
            )
        return self._log_options


def _image_needs(context: _Context, container: dict[str, Any], source: _Source) -> list[Need]:
    """Pulls from the ECR repository an image names, where aws-cdk-lib granted none
    (``from_registry`` with a URI, or with ``repository_uri_for_tag``)."""
    image = container.get("image")
    found = image_source(image)
    if found.registry is not Registry.ECR:
        return []
    if found.from_arn and found.repository_arn in context.granted_repositories:
        # aws-cdk-lib granted the pull (``from_ecr_repository``): derived from the grant.
        return []
    origin = source.origin.with_suffix(f" for its image {flatten(image)}")
    if found.from_arn:
        repository = _repository_in(source)
        return [Need(Kind.REPOSITORY, repository, origin)] if repository else []
    arn = _PSEUDO_PLACEHOLDER.sub(lambda m: _pseudo_parameters()[m[1]], found.repository_arn)
    return [] if "<" in arn else [Need(Kind.REPOSITORY, arn, origin)]


_PSEUDO_PLACEHOLDER = re.compile(r"<(AWS::(?:Partition|Region|AccountId|URLSuffix))>")


def _repository_in(source: _Source) -> str | None:
    """The ARN of the repository of the app a container's image URI was built from, as a CDK
    string: aws-cdk-lib keeps a reference to the repository behind the URI's name."""
    container = source.container_object()
    if container is None:
        return None
    for token in cdk.Tokenization.reverse_string(str(container.image_name)).tokens:
        if isinstance(token, cdk.Reference):
            repository = token.target.node.scope
            arn = read_attribute(repository, "repository_arn")
            if arn is not None:
                return str(arn)
    return None


@dataclass(frozen=True)
class _Stream:
    """Where one container's awslogs driver writes."""

    group: str  # the group's name as a CDK string
    group_key: str  # the group's name in flattened template form, to match grants
    region: str
    region_key: str
    prefix: str
    create_group: bool
    origin: ContainerOrigin
    home: Any

    def arn(self, context: _Context, suffix: str) -> str:
        """The group's ARN with ``suffix``, in the role's account: the awslogs driver writes
        to log groups of the task's own account."""
        return (
            f"arn:{context.partition}:logs:{self.region}:{context.account}:"
            f"log-group:{self.group}{suffix}"
        )


def _streams(context: _Context, container: dict[str, Any], source: _Source) -> list[_Stream]:
    log_configuration = container.get("logConfiguration") or {}
    options = log_configuration.get("options") or {}
    if log_configuration.get("logDriver") != "awslogs" or "awslogs-group" not in options:
        return []
    group = _cdk_string(options["awslogs-group"], lambda: _log_option(source, "awslogs-group"))
    region_value = options.get("awslogs-region", {"Ref": "AWS::Region"})
    region = _cdk_string(region_value, lambda: _log_option(source, "awslogs-region"))
    if group is None or region is None:
        return []  # left to the check, which reads the template
    create = options.get("awslogs-create-group", "false")
    return [
        _Stream(
            group,
            flatten(options["awslogs-group"]),
            region,
            flatten(region_value),
            flatten(options.get("awslogs-stream-prefix", "")),
            isinstance(create, str) and create.lower() == "true",
            source.origin.with_suffix(" for awslogs"),
            source.view.home,
        )
    ]


def _log_option(source: _Source, name: str) -> str | None:
    value = source.log_options().get(name)
    return str(value) if value is not None else None


def _log_needs(context: _Context, streams: Sequence[_Stream]) -> list[Need]:
    """Log writes: each granted log group scoped to the stream prefixes its containers use,
    then the log groups containers name without a grant, and the groups they create."""
    needs: list[Need] = []
    claimed: set[int] = set()
    # Each stream by the group it writes to (its name in template form, and its region).
    by_group: dict[tuple[str, str], list[tuple[int, _Stream]]] = {}
    for index, stream in enumerate(streams):
        by_group.setdefault((stream.group_key, stream.region_key), []).append((index, stream))
        by_group.setdefault((stream.group_key, ""), []).append((index, stream))
    for token, template, grant in context.log_group_grants:
        uses = by_group.get(_granted_group(template), [])
        claimed.update(index for index, _ in uses)
        prefixes = sorted({stream.prefix for _, stream in uses})
        if not uses or "" in prefixes:
            home = context.home_of(grant)
            needs.append(
                Need(
                    Kind.LOG_GROUP, token, _grant_origin(grant), reason=_LOG_GROUP_REASON, home=home
                )
            )
            continue
        first = uses[0][1]
        needs.extend(
            Need(
                Kind.LOG_STREAM,
                first.arn(context, f":log-stream:{prefix}/*"),
                first.origin,
                grant_aliases=(token,),
                reason=_STREAM_REASON,
                home=first.home,
            )
            for prefix in prefixes
        )
    for index, stream in enumerate(streams):
        if index not in claimed:
            suffix = f":log-stream:{stream.prefix}/*" if stream.prefix else ":*"
            kind = Kind.LOG_STREAM if stream.prefix else Kind.LOG_GROUP
            reason = _STREAM_REASON if stream.prefix else _LOG_GROUP_REASON
            needs.append(
                Need(
                    kind,
                    stream.arn(context, suffix),
                    stream.origin,
                    reason=reason,
                    home=stream.home,
                )
            )
        if stream.create_group:
            needs.append(
                Need(
                    Kind.LOG_GROUP_CREATE, stream.arn(context, ""), stream.origin, home=stream.home
                )
            )
    return needs


# <LogicalId.Arn> of a log group of the app, or arn:<partition>:logs:<region>:<account>:
# log-group:<name>:* as the template names an imported one.
_GET_ATT_ARN = re.compile(r"^<(?P<logical_id>[A-Za-z0-9]+)\.Arn>$")
_LOG_GROUP_ARN = re.compile(
    r"^arn:(?:<AWS::Partition>|[^:]+):logs:(?P<region><AWS::Region>|[^:]+):"
    r"(?P<account><AWS::AccountId>|[^:]+):log-group:(?P<name>[^:]+):\*$"
)


def _granted_group(template: Any) -> tuple[str, str]:
    """The group a log-group grant names, as streams are indexed: ``(<LogicalId>, "")`` for a
    log group of the app, ``(name, region)`` for one named by its ARN."""
    flat = flatten(template)
    match = _GET_ATT_ARN.match(flat)
    if match:
        return f"<{match['logical_id']}>", ""
    match = _LOG_GROUP_ARN.match(flat)
    return (match["name"], match["region"]) if match else ("", "")


# -- files: environment files, FireLens configuration, credential specs ---------------------

_S3_OBJECT_ARN = re.compile(
    r"^(?:arn:(?:<AWS::Partition>|[^:]+):s3:::[^/]+|<[A-Za-z0-9]+\.Arn>)/(?P<key>.+)$"
)
_SSM_PARAMETER_ARN = re.compile(r"^arn:(?:<AWS::Partition>|[^:]+):ssm:[^:]+:[^:]+:parameter/.+$")
_CREDENTIAL_SPEC = re.compile(r"^(?P<prefix>credentialspec(?:domainless)?):(?P<arn>.+)$")


def _file_needs(context: _Context, container: dict[str, Any], source: _Source) -> list[Need]:
    needs: list[Need] = []
    for index, environment_file in enumerate(container.get("environmentFiles") or ()):
        if environment_file.get("type") == "s3":
            value = environment_file.get("value")
            arn = _cdk_string(
                value, functools.partial(_environment_file_arn, context, source, index)
            )
            needs.extend(
                _s3_needs(
                    context, arn, value, source.origin.with_suffix(" for its environment file")
                )
            )
    options = (container.get("firelensConfiguration") or {}).get("options") or {}
    if options.get("config-file-type") == "s3":
        value = options.get("config-file-value")
        arn = _cdk_string(
            value, lambda: source.read(lambda c: c.firelens_config.options.config_file_value)
        )
        needs.extend(
            _s3_needs(
                context, arn, value, source.origin.with_suffix(" for its FireLens config file")
            )
        )
    for index, spec in enumerate(container.get("credentialSpecs") or ()):
        needs.extend(_credential_spec_needs(context, spec, index, source))
    return needs


def _environment_file_arn(context: _Context, source: _Source, index: int) -> str | None:
    container = source.container_object()
    if container is None:
        return None
    location = container.environment_files[index].s3_location
    return f"arn:{context.partition}:s3:::{location.bucket_name}/{location.object_key}"


def _s3_needs(
    context: _Context,
    arn: str | None,
    template: Any,
    origin: str | LazyOrigin | ContainerOrigin,
) -> list[Need]:
    """An object in S3 and its bucket's location; a customer managed key the bucket of the
    app encrypts with, through S3 (nothing where the ARN cannot be read)."""
    if arn is None:
        return []
    if _S3_OBJECT_ARN.match(flatten(template)) is None or not _exact(Kind.S3_OBJECT, template):
        return []
    bucket_arn = s3_bucket_arn_of(arn)
    needs = [Need(Kind.S3_OBJECT, arn, origin), Need(Kind.S3_BUCKET, bucket_arn, origin)]
    bucket_name = bucket_arn.rpartition(":::")[2]
    bucket = bucket_of(bucket_name or bucket_arn)
    if bucket is not None:
        try:
            needs.extend(bucket_key_needs(context.where, f"the bucket of {origin}", bucket))
        except ExecutionRoleError as error:
            context.errors.append(str(error))
    return needs


def _credential_spec_needs(context: _Context, spec: Any, index: int, source: _Source) -> list[Need]:
    """An Active Directory credential spec (gMSA) the agent reads before the task starts:
    from S3 (``s3:GetObject``) or from an SSM parameter (``ssm:GetParameters``)."""
    flat = flatten(spec)
    match = _CREDENTIAL_SPEC.match(flat)
    if match is None:
        return []

    value = _cdk_string(spec, lambda: source.read(lambda c: c.credential_specs[index].location))
    if value is None:
        return []
    arn = value.split(":", 1)[1] if value.startswith(match["prefix"] + ":") else value
    origin = source.origin.with_suffix(" for its credential spec")
    template_arn = match["arn"]
    if _SSM_PARAMETER_ARN.match(template_arn):
        return [Need(Kind.PARAMETER, arn, origin)] if _exact(Kind.PARAMETER, template_arn) else []
    return _s3_needs(context, arn, template_arn, origin)


# -- helpers ---------------------------------------------------------------------------------


def _cdk_string(template: Any, read: Callable[[], str | None]) -> str | None:
    """A template value as a CDK string: itself when literal, rebuilt when it names only
    pseudo parameters, else read from the CDK object that holds it (``None`` without one)."""
    text = _with_pseudo_parameters(template)
    return text if text is not None else read()


_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def _with_pseudo_parameters(value: Any) -> str | None:
    """``value`` as a CDK string when it is literal text, a pseudo parameter, or a join or
    substitution of those; ``None`` when it names anything else."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref":
        return _pseudo_parameters().get(argument) if isinstance(argument, str) else None
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        parts = [_with_pseudo_parameters(part) for part in argument[1]]
        return None if any(p is None for p in parts) else str(argument[0]).join(parts)  # type: ignore[arg-type]
    if function == "Fn::Sub" and isinstance(argument, str):
        names = _SUB_VARIABLE.findall(argument)
        pseudo = _pseudo_parameters()
        if not all(name in pseudo for name in names):
            return None
        return _SUB_VARIABLE.sub(lambda m: pseudo[m[1]], argument).replace("${!", "${")
    return None


_PSEUDO_PARAMETERS: dict[str, str] = {}


def _pseudo_parameters() -> dict[str, str]:
    """Each pseudo parameter as a CDK string (read from aws-cdk-lib once)."""
    if not _PSEUDO_PARAMETERS:
        _PSEUDO_PARAMETERS.update(
            {
                "AWS::Partition": cdk.Aws.PARTITION,
                "AWS::Region": cdk.Aws.REGION,
                "AWS::AccountId": cdk.Aws.ACCOUNT_ID,
                "AWS::URLSuffix": cdk.Aws.URL_SUFFIX,
            }
        )
    return _PSEUDO_PARAMETERS


def _exact(kind: Kind, template: Any) -> bool:
    """Whether a resource names one resource of ``kind``: no IAM wildcard in what the
    template writes, but the one its kind's ARN ends in by itself (a log group's ``:*``)."""
    return name_problem(kind, flatten(template)) is None


def _region_of(template: Any, default: str) -> str:
    flat = flatten(template)
    parts = flat.split(":")
    if len(parts) > 3 and parts[3] and not parts[3].startswith("<"):
        return parts[3]
    return default


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _uncovered(plan: Plan, values: StackValues, needs: Sequence[Need]) -> list[Need]:
    """``needs`` less those the plan's other needs allow already (a narrower duplicate, or a
    need a name-prefix or tag statement covers, adds nothing)."""
    if not needs:
        return []
    resolve = values.resolve
    others = plan.needs
    existing = build_statements(others, resolve, url_suffix=values.url_suffix)
    covers = covers_of(existing, others, plan.role_covers, resolve, values.stream_pattern)
    index = CoverIndex([*covers, *_key_covers(others, resolve)])
    kept: list[Need] = []
    resolved = resolve([need.arn for need in needs])
    for need, template in zip(needs, resolved, strict=True):
        pattern = canonical(template)
        if need.kind is Kind.KEY:
            # A key is covered for a service only where the plan decrypts through it.
            asked = [f"kms:decrypt via {service}" for service in need.services]
        else:
            asked = [action.lower() for action in need.kind.actions]
        if not all(index.allows(action, pattern) for action in asked):
            kept.append(need)
    return kept


def _key_covers(needs: Sequence[Need], resolve: Callable[[Any], Any]) -> list[Cover]:
    """Each key of the plan, per service it may be used through."""
    keys = [need for need in needs if need.kind in (Kind.KEY, Kind.KEY_BY_TAG)]
    return [
        Cover(f"kms:decrypt via {service}", canonical(template))
        for need, template in zip(keys, resolve([need.arn for need in keys]), strict=True)
        for service in (need.services or ("secretsmanager", "ssm"))
    ]
