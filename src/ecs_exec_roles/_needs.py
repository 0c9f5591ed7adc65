"""Typed CDK props turned into resource needs, with input checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk

from ._errors import ExecutionRoleError

__all__ = ["KIND_PROPS", "Need", "needs_from_props"]

# The prop a user adds a resource to, per kind of need; used in every coverage message.
KIND_PROPS = {
    "repository": "repositories",
    "log_group": "log_groups",
    "secret": "secrets",
    "parameter": "parameters",
    "key": "keys",
}

# What each kind must look like, and how a user gets one from a name.
_KIND_HINTS = {
    "repository": (
        "repository_arn",
        "ecr.IRepository",
        "ecr.Repository.from_repository_name(scope, 'Repo', 'name')",
    ),
    "log_group": (
        "log_group_arn",
        "logs.ILogGroup",
        "logs.LogGroup.from_log_group_name(scope, 'Logs', 'name')",
    ),
    "secret": (
        "secret_arn",
        "secretsmanager.ISecret",
        "secretsmanager.Secret.from_secret_name_v2(scope, 'Secret', 'name')",
    ),
    "parameter": (
        "parameter_arn",
        "ssm.IParameter",
        "ssm.StringParameter.from_string_parameter_name(scope, 'Param', 'name')",
    ),
    "key": ("key_arn", "kms.IKey", "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')"),
}

# Longest ARN each kind can have; used as the size bound of an ARN the template cannot know
# (a resource created in the stack). Name limits: ECR repository 256, log group 512,
# secret 512 (+7 for the random suffix), SSM parameter ARN 1011 in total, KMS key id 36.
UNRESOLVED_ARN_MAX_CHARS = {
    "repository": 60 + 256,
    "log_group": 60 + 512 + 2,
    "secret": 60 + 512 + 7,
    "parameter": 1011,
    "key": 60 + 36,
}

_KMS_ALIAS_ARN = re.compile(r"^arn:[^:]+:kms:[^:]*:[^:]*:alias/")


@dataclass(frozen=True)
class Need:
    """One resource the execution role must name.

    :param kind: ``repository``, ``log_group``, ``secret``, ``parameter`` or ``key``.
    :param arn: the IAM resource as a CDK string (may hold tokens).
    :param origin: where it came from, for messages (a construct path or the prop).
    :param region: the resource's region (a token in environment-agnostic stacks); keys use
        it for ``kms:ViaService``.
    :param services: for keys, the services allowed to use the key (``kms:ViaService``).
    """

    kind: str
    arn: str
    origin: str
    region: str = ""
    services: tuple[str, ...] = ()

    @property
    def prop(self) -> str:
        return KIND_PROPS[self.kind]


def _origin(resource: Any) -> str:
    node = getattr(resource, "node", None)
    return str(node.path) if node is not None else repr(resource)


def _check_kind(construct_path: str, prop: str, index: int, value: Any, kind: str) -> None:
    attribute, type_name, example = _KIND_HINTS[kind]
    if isinstance(value, (str, bytes)) or not hasattr(value, attribute):
        raise ExecutionRoleError(
            f"{construct_path}: {prop}[{index}] is {value!r} ({type(value).__name__}), "
            f"not a {type_name}. Pass a CDK object, for example {example}."
        )


def _as_sequence(construct_path: str, prop: str, values: Any) -> Sequence[Any]:
    if values is None:
        return ()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ExecutionRoleError(
            f"{construct_path}: {prop} is {values!r}; pass a sequence of CDK objects, "
            f"for example {prop}=[obj] rather than {prop}=obj."
        )
    return tuple(values)


def _region_of(resource: Any) -> str:
    return str(resource.env.region)


def secret_arn_for_policy(secret: Any) -> str:
    """The ARN that names a secret in IAM.

    A secret imported by name or partial ARN has no known six-character suffix; ``-??????``
    matches exactly that suffix, where ``-*`` or ``*`` would also match ``name-other``.
    """
    full_arn = secret.secret_full_arn
    if full_arn is not None:
        return str(full_arn)
    return f"{secret.secret_arn}-??????"


def key_need(
    construct_path: str, prop: str, index: int, key: Any, services: tuple[str, ...]
) -> Need:
    _check_kind(construct_path, prop, index, key, "key")
    if hasattr(key, "alias_name") or (
        not cdk.Token.is_unresolved(key.key_arn) and _KMS_ALIAS_ARN.match(str(key.key_arn))
    ):
        name = getattr(key, "alias_name", key.key_arn)
        raise ExecutionRoleError(
            f"{construct_path}: {prop}[{index}] is the KMS alias {name!r}. IAM evaluates "
            "kms:Decrypt against the key ARN, never the alias ARN, so a grant on an alias "
            "allows nothing. Pass the key itself, for example "
            "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')."
        )
    return Need("key", str(key.key_arn), _origin(key), _region_of(key), services)


def needs_from_props(
    construct_path: str,
    *,
    repositories: Any = (),
    log_groups: Any = (),
    secrets: Any = (),
    parameters: Any = (),
    keys: Any = (),
) -> list[Need]:
    """Check each prop and turn it into needs; keys of encrypted secrets are added too."""
    needs: list[Need] = []
    for index, repository in enumerate(_as_sequence(construct_path, "repositories", repositories)):
        _check_kind(construct_path, "repositories", index, repository, "repository")
        needs.append(Need("repository", str(repository.repository_arn), _origin(repository)))
    for index, log_group in enumerate(_as_sequence(construct_path, "log_groups", log_groups)):
        _check_kind(construct_path, "log_groups", index, log_group, "log_group")
        needs.append(Need("log_group", str(log_group.log_group_arn), _origin(log_group)))
    for index, secret in enumerate(_as_sequence(construct_path, "secrets", secrets)):
        _check_kind(construct_path, "secrets", index, secret, "secret")
        needs.append(Need("secret", secret_arn_for_policy(secret), _origin(secret)))
        key = secret.encryption_key
        if key is not None:
            needs.append(key_need(construct_path, "secrets", index, key, ("secretsmanager",)))
    for index, parameter in enumerate(_as_sequence(construct_path, "parameters", parameters)):
        _check_kind(construct_path, "parameters", index, parameter, "parameter")
        needs.append(Need("parameter", str(parameter.parameter_arn), _origin(parameter)))
    for index, key in enumerate(_as_sequence(construct_path, "keys", keys)):
        needs.append(key_need(construct_path, "keys", index, key, ("secretsmanager", "ssm")))
    return needs
