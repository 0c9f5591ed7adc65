"""Typed CDK props turned into resource needs, with input checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._cdk_internals import read_attribute
from ._cfn import is_unresolved
from ._errors import ExecutionRoleError
from ._kinds import (
    KEY_SERVICES,
    OTHER_ACCOUNT_SECRET,
    Kind,
    arn_account,
    log_group_elsewhere,
    other_account_logs,
)
from ._names import check_exact_name, shown_arn
from ._props import shown

__all__ = [
    "ContainerOrigin",
    "LazyOrigin",
    "Need",
    "Probe",
    "bucket_key_needs",
    "bucket_of",
    "check_kind",
    "describe_task",
    "key_need",
    "key_needs",
    "log_group_arn_from_name",
    "log_group_needs",
    "parameter_needs",
    "repository_needs",
    "secret_arn_for_policy",
    "secret_needs",
]

# What each kind must look like, and how a user gets one from a name.
_KMS_ALIAS_ARN = re.compile(r"^arn:[^:]+:kms:[^:]*:[^:]*:alias/")
_KMS_KEY_ARN = re.compile(r"^arn:[^:]+:kms:[^:]+:[^:]+:key/[^/]+$")


@dataclass(frozen=True)
class Need:
    """One resource the execution role must name.

    :param kind: what kind of resource it is (see ``_kinds.Kind``).
    :param arn: the IAM resource as a CDK string (may hold tokens).
    :param origin: where it came from, for messages (a construct path or the prop).
    :param region: the resource's region (a token in environment-agnostic stacks); keys use
        it for ``kms:ViaService``.
    :param services: for keys, the services allowed to use the key (``kms:ViaService``).
    """

    kind: Kind
    arn: str
    # Not part of equality: two needs of the same resource are one need, wherever they came
    # from (and comparing would read construct paths).
    origin: str | LazyOrigin | ContainerOrigin = field(compare=False)
    region: str = ""
    services: tuple[str, ...] = ()
    # CDK strings that count as covered only for grants aws-cdk-lib makes, whose precise use
    # the task definitions show (CDK grants a whole log group; streams are scoped by prefix).
    grant_aliases: tuple[str, ...] = ()
    # For tag-scoped needs: the resource tags (key, value) the condition requires.
    tags: tuple[tuple[str, str], ...] = ()
    # Why a wildcard in this ARN is unavoidable, for its cdk-nag acknowledgment.
    reason: str = field(default="", compare=False)
    # The stack the statement goes into when it is not the role's: the stack of the task
    # definition that needs it, whose own resources the role's stack cannot name.
    home: Any = None
    # The IAM wildcard the ARN is built to end in (a name prefix's "*"), besides the one its
    # kind's ARNs end in by themselves; anywhere else a wildcard fails synth.
    wildcard: str = ""
    # For S3 reads: the account owning the bucket (a CDK string), when its object tells;
    # ``_buckets`` gives every other bucket its owner before the statements are built.
    owner: str = field(default="", compare=False)


class LazyOrigin:
    """Where a resource came from (its construct path), read only when a message needs it.

    Reading a construct's path is a call into aws-cdk-lib; most roles never print it.
    """

    __slots__ = ("_prefix", "_resource", "_suffix")

    def __init__(self, resource: Any, prefix: str = "", suffix: str = "") -> None:
        self._resource = resource
        self._prefix = prefix
        self._suffix = suffix

    def __str__(self) -> str:
        node = getattr(self._resource, "node", None)
        path = str(node.path) if node is not None else repr(self._resource)
        return f"{self._prefix}{path}{self._suffix}"

    __repr__ = __str__

    def with_suffix(self, suffix: str) -> LazyOrigin:
        return LazyOrigin(self._resource, self._prefix, self._suffix + suffix)


def describe_task(task: Any) -> str:
    """A task definition as messages name it: by the family its user gave it, and its path;
    a family aws-cdk-lib generated (a hash of the path, ``STd2AEF37D6``) says nothing. An AWS
    Batch job definition by its name, when its user gave one."""
    import aws_cdk as cdk
    from aws_cdk import aws_batch as batch
    from aws_cdk import aws_ecs as ecs

    path = task.node.path
    if isinstance(task, (batch.EcsJobDefinition, batch.CfnJobDefinition)):
        # An L2's name is a reference to its resource; the resource holds the name given.
        resource = task if isinstance(task, batch.CfnJobDefinition) else task.node.default_child
        name = getattr(resource, "job_definition_name", None)
        if isinstance(name, str) and not is_unresolved(name):
            return f"job definition {name!r} ({path})"
        return f"job definition {path}"
    if isinstance(task, ecs.CfnExpressGatewayService):
        name = task.service_name
        if isinstance(name, str) and not is_unresolved(name):
            return f"Express Mode service {name!r} ({path})"
        return f"Express Mode service {path}"
    family = task.family
    # An L1 CfnTaskDefinition may have no family.
    if not isinstance(family, str) or is_unresolved(family) or family == cdk.Names.unique_id(task):
        return f"task definition {path}"
    return f"task family {family!r} ({path})"


class ContainerOrigin:
    """A container of a task definition, named in a message only when one is printed."""

    __slots__ = ("_name", "_suffix", "_task")

    def __init__(self, task: Any, name: str, suffix: str = "") -> None:
        self._task = task
        self._name = name
        self._suffix = suffix

    def __str__(self) -> str:
        return f"container {self._name!r} of {describe_task(self._task)}{self._suffix}"

    __repr__ = __str__

    def with_suffix(self, suffix: str) -> ContainerOrigin:
        return ContainerOrigin(self._task, self._name, self._suffix + suffix)


def check_kind(construct_path: str, prop: str, index: int, value: Any, kind: Kind) -> Any:
    """Check that ``value`` is a CDK object of ``kind``; return its identifying attribute."""
    attribute, type_name, example = kind.cdk_object
    found = read_attribute(value, attribute)
    if found is None:
        raise ExecutionRoleError(
            f"{construct_path}: {prop}[{index}] is {shown(value)}, "
            f"not a {type_name}. Pass a CDK object, for example {example}."
        )
    return found


def _region_of(resource: Any) -> str:
    return str(resource.env.region)


def secret_arn_for_policy(secret: Any, secret_arn: str | None = None) -> str:
    """The ARN that names a secret in IAM.

    A secret imported by name or partial ARN has no known six-character suffix; ``-??????``
    matches exactly that suffix, where ``-*`` or ``*`` would also match ``name-other``.

    :param secret_arn: the secret's ``secret_arn``, when already read.
    """
    full_arn = read_attribute(secret, "secret_full_arn")
    if full_arn is not None:
        return str(full_arn)
    return f"{secret_arn if secret_arn is not None else secret.secret_arn}-??????"


def key_need(
    construct_path: str,
    prop: str,
    index: int,
    key: Any,
    services: tuple[str, ...],
    *,
    label: str = "",
) -> Need:
    """The need of a KMS key; ``label`` names it in messages when it is not ``prop[index]``."""
    label = label or f"{prop}[{index}]"
    key_arn = str(check_kind(construct_path, prop, index, key, Kind.KEY))
    if hasattr(key, "alias_name") or (not is_unresolved(key_arn) and _KMS_ALIAS_ARN.match(key_arn)):
        name = getattr(key, "alias_name", key_arn)
        raise ExecutionRoleError(
            f"{construct_path}: {label} is the KMS alias {name!r}. IAM evaluates "
            "kms:Decrypt against the key ARN, never the alias ARN, so a grant on an alias "
            "allows nothing. Pass the key itself, for example "
            "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')."
        )
    if not is_unresolved(key_arn) and not _KMS_KEY_ARN.match(key_arn):
        raise ExecutionRoleError(
            f"{construct_path}: {label} ({LazyOrigin(key)}) has the ARN {shown_arn(key_arn)}, "
            "which is not a KMS key ARN. kms:Decrypt is evaluated against "
            "arn:<partition>:kms:<region>:<account>:key/<key-id>; pass that ARN, for example "
            "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')."
        )
    check_exact_name(construct_path, prop, index, Kind.KEY, key_arn, LazyOrigin(key))
    return Need(Kind.KEY, key_arn, LazyOrigin(key), _region_of(key), services)


def repository_needs(where: str, prop: str, repositories: Sequence[Any]) -> list[Need]:
    """Image pulls from each ECR repository of ``prop``."""
    needs: list[Need] = []
    for index, repository in enumerate(repositories):
        arn = str(check_kind(where, prop, index, repository, Kind.REPOSITORY))
        check_exact_name(where, prop, index, Kind.REPOSITORY, arn, LazyOrigin(repository))
        needs.append(Need(Kind.REPOSITORY, arn, LazyOrigin(repository)))
    return needs


def log_group_needs(
    where: str, prop: str, log_groups: Sequence[Any], account: str = ""
) -> list[Need]:
    """Log writes to each log group of ``prop``; one of another account than ``account`` (the
    role's, when written out) fails, since awslogs writes to the task's own."""
    needs: list[Need] = []
    for index, log_group in enumerate(log_groups):
        arn = str(check_kind(where, prop, index, log_group, Kind.LOG_GROUP))
        # CDK's log group ARN ends in ":*" (the group's streams) by itself.
        check_exact_name(where, prop, index, Kind.LOG_GROUP, arn, LazyOrigin(log_group))
        elsewhere = log_group_elsewhere(arn, account)
        if elsewhere is not None:
            raise ExecutionRoleError(
                f"{where}: {prop}[{index}] ({LazyOrigin(log_group)}) is "
                + other_account_logs(*elsewhere, account)
            )
        needs.append(Need(Kind.LOG_GROUP, arn, LazyOrigin(log_group)))
    return needs


def secret_needs(
    where: str, prop: str, secrets: Sequence[Any], account: str = "", keys: Sequence[Any] = ()
) -> list[Need]:
    """Reads of each secret of ``prop``, and decryption with the key its object carries.

    A secret of another account than ``account`` (the role's) needs a customer managed key:
    Secrets Manager cannot use the AWS managed ``aws/secretsmanager`` key for a role of another
    account ("Access AWS Secrets Manager secrets from a different account",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html).
    An import by an ARN of another account without its key fails unless ``keys`` (the same
    call's) has a key of the secret's account.
    """
    needs: list[Need] = []
    for index, secret in enumerate(secrets):
        secret_arn = str(check_kind(where, prop, index, secret, Kind.SECRET))
        check_exact_name(where, prop, index, Kind.SECRET, secret_arn, LazyOrigin(secret))
        policy_arn = secret_arn_for_policy(secret, secret_arn)
        # Named by a partial ARN: the name must not end like the suffix it leaves out.
        check_exact_name(where, prop, index, Kind.SECRET, policy_arn, LazyOrigin(secret))
        needs.append(Need(Kind.SECRET, policy_arn, LazyOrigin(secret)))
        key = read_attribute(secret, "encryption_key")
        if key is None:
            _check_other_account_key(where, prop, index, secret, secret_arn, account, keys)
        else:
            needs.append(
                key_need(
                    where,
                    prop,
                    index,
                    key,
                    (Kind.SECRET.service,),
                    label=f"the encryption key of {prop}[{index}]",
                )
            )
    return needs


def _check_other_account_key(
    where: str,
    prop: str,
    index: int,
    secret: Any,
    secret_arn: str,
    account: str,
    keys: Sequence[Any],
) -> None:
    """A secret imported by an ARN of another account, without its key: fails unless ``keys``
    has a key of that account. (A secret of the app in a stack of another account shows in
    the templates, where the verification finds it without a key.)"""
    owner = arn_account(secret_arn)
    if not owner or not account.isdigit() or owner == account:
        return
    if any(str(key.env.account) == owner for key in keys):
        return
    raise ExecutionRoleError(
        f"{where}: {prop}[{index}] ({LazyOrigin(secret)}) is a secret of account {owner}, "
        f"imported without its key; {OTHER_ACCOUNT_SECRET} Import it with its customer managed "
        "key (secretsmanager.Secret.from_secret_attributes(scope, 'Secret', "
        "secret_complete_arn=..., encryption_key=kms.Key.from_key_arn(...))), or name the key "
        "in `keys`."
    )


# Grants what a CDK object's ``grant_*`` method passed to it would grant, and returns those
# statements (``RecordingRole.probe``).
Probe = Callable[[Callable[[Any], object]], Sequence[Any]]


def parameter_needs(
    where: str, prop: str, parameters: Sequence[Any], probe: Probe | None = None
) -> list[Need]:
    """Reads of each SSM parameter of ``prop``, and decryption of a SecureString parameter
    with the key its object holds, through SSM only.

    :param probe: reads what a parameter grants for itself; without it, keys are not read.
    """
    needs: list[Need] = []
    for index, parameter in enumerate(parameters):
        parameter_arn = str(check_kind(where, prop, index, parameter, Kind.PARAMETER))
        check_exact_name(where, prop, index, Kind.PARAMETER, parameter_arn, LazyOrigin(parameter))
        needs.append(Need(Kind.PARAMETER, parameter_arn, LazyOrigin(parameter)))
        key_arn = _secure_string_key(parameter, probe) if probe is not None else None
        if key_arn is not None:
            origin = LazyOrigin(parameter, "the key of ")
            region = _arn_region(parameter_arn) or _region_of(parameter)
            needs.append(Need(Kind.KEY, key_arn, origin, region, (Kind.PARAMETER.service,)))
    return needs


def _secure_string_key(parameter: Any, probe: Probe) -> str | None:
    """The key of a SecureString parameter's object, as the object grants it.

    aws-cdk-lib's parameter objects hold their ``encryptionKey`` without exposing it through
    ``IStringParameter``; their ``grant_read`` grants ``kms:Decrypt`` on it.
    """
    if read_attribute(parameter, "parameter_type") != "SecureString":
        return None
    for statement in probe(parameter.grant_read):
        document = statement.to_statement_json()
        actions = document.get("Action")
        listed = [actions] if isinstance(actions, str) else actions or []
        if any(action in Kind.KEY.actions for action in listed):
            resources = document.get("Resource")
            return str(resources if isinstance(resources, str) else resources[0])
    return None


def _arn_region(arn: str) -> str | None:
    """The region part of an ARN held as a CDK string, when its parts are apart."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


def bucket_of(name_or_arn: str) -> Any | None:
    """The bucket a CDK string of its name or ARN refers to, when it is a bucket of the app.

    aws-cdk-lib keeps a reference to the resource behind such a token; an imported bucket's
    name is plain text and leads nowhere.
    """
    if not is_unresolved(name_or_arn):
        return None
    import aws_cdk as cdk

    tokens = cdk.Tokenization.reverse_string(name_or_arn).tokens
    if len(tokens) != 1 or not isinstance(tokens[0], cdk.Reference):
        return None
    scope = tokens[0].target.node.scope
    return scope if read_attribute(scope, "bucket_arn") is not None else None


def bucket_key_needs(where: str, label: str, bucket: Any) -> list[Need]:
    """Decryption with the customer managed key a bucket encrypts with, through S3 only:
    S3 refuses ``GetObject`` on an SSE-KMS object without it."""
    key = read_attribute(bucket, "encryption_key") if bucket is not None else None
    if key is None:
        return []
    return [
        key_need(
            where, label, 0, key, (Kind.S3_OBJECT.service,), label=f"the encryption key of {label}"
        )
    ]


def key_needs(where: str, prop: str, keys: Sequence[Any]) -> list[Need]:
    """Decryption with each key of ``prop``, through Secrets Manager and SSM."""
    return [key_need(where, prop, index, key, KEY_SERVICES) for index, key in enumerate(keys)]


def log_group_arn_from_name(log_group: Any, suffix: str = "") -> str:
    """``arn:<partition>:logs:<region>:<account>:log-group:<name><suffix>`` of a log group.

    Built from the log group's own environment, so a log group imported from another account
    or region keeps its account and region.
    """
    import aws_cdk as cdk

    env = log_group.env
    partition = cdk.Stack.of(log_group).partition
    return Kind.LOG_GROUP.arn(
        partition, env.region, env.account, f"{log_group.log_group_name}{suffix}"
    )
