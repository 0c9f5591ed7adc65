"""The constructs' props, checked and frozen before anything is built.

The public constructors keep their typed keyword arguments, documented one by one; inside,
they are gathered into the frozen objects below, whose ``checked`` constructors raise
:class:`ExecutionRoleError` for every value that cannot give a correct role. Each CDK object
is checked where it is read (``_needs``, ``_features``), which reads it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._cdk_internals import read_attribute
from ._cfn import is_unresolved
from ._declarations import sequence_props, switches
from ._errors import ExecutionRoleError
from ._kinds import ACCOUNT_ID

__all__ = [
    "ECR_PREFIX",
    "ResourceProps",
    "RoleOptions",
    "ScopedProps",
    "as_sequence",
    "check_prefixes",
    "check_switch",
    "shown",
]

# Bucket names as S3 allows them for new buckets: 3 to 63 lowercase letters, digits, dots and
# hyphens, starting and ending with a letter or digit.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# The highest value the quota can be raised to.
_QUOTA_MAX_MANAGED_POLICIES = 25

# Every pattern below is matched with ``fullmatch``: ``$`` would also match before a trailing
# newline. IAM role names are ASCII: letters, digits and +=,.@_-.
_ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
# "/" alone, or "/"-separated parts of printable ASCII, none of them empty.
_ROLE_PATH = re.compile(r"/(?:[\x21-\x2e\x30-\x7e]+/)*")
# IAM's character set for role descriptions (tab, newlines, printable ASCII, Latin-1).
_DESCRIPTION = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]{0,1000}")
# ECS task definition families: up to 255 letters, digits, hyphens and underscores.
_FAMILY = re.compile(r"[A-Za-z0-9_-]{1,255}")
# A stream prefix is put into an ARN: IAM wildcards or ARN separators in it would widen the
# grant or break the ARN.
_STREAM_PREFIX = re.compile(r"[A-Za-z0-9._/#-]{1,256}")
# ECR's own rule for pull-through cache prefixes (2 to 30 characters, "/"-separated parts),
# or ROOT (an ECR-to-ECR rule without a prefix).
ECR_PREFIX = re.compile(
    r"(?=.{2,30}\Z)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*|ROOT"
)
# Name prefixes become part of an ARN followed by "*": IAM wildcards or ARN separators in them
# would widen the grant.
_NAME_PREFIX = re.compile(r"[A-Za-z0-9._/+=@#-]{1,256}")
# Tags: letters of any script, digits, spaces and _ . : / = + - @ (no control characters).
_TAG_KEY = re.compile(r"[\w.:/=+\-@ ]{1,128}")
_TAG_VALUE = re.compile(r"[\w.:/=+\-@ ]{0,256}")


def shown(value: Any) -> str:
    """A value for a message: constructs by their path, plain values with ``!r``."""
    node = getattr(value, "node", None)
    if node is not None:
        return f"the construct {node.path!r}"
    return f"{value!r} ({type(value).__name__})"


def as_sequence(where: str, prop: str, values: Any) -> tuple[Any, ...]:
    """``values`` as a tuple, or an error for a value that is not a sequence of objects."""
    if values is None:
        return ()
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ExecutionRoleError(
            f"{where}: {prop} is {shown(values)}, not a sequence; pass a list of "
            f"CDK objects, for example {prop}=[obj] rather than {prop}=obj."
        )
    if isinstance(values, Iterator):
        # A generator can be read once: a second reader (a subclass, a retry) would see
        # nothing, and the role would allow less than the call named.
        raise ExecutionRoleError(
            f"{where}: {prop} is a {type(values).__name__}, which can be read only once; pass a "
            "list, "
            f"for example {prop}=list(...)."
        )
    return tuple(values)


def check_switch(where: str, prop: str, value: Any) -> bool:
    """``value`` when it is a bool; a string (``"false"`` from ``try_get_context``) is not."""
    if not isinstance(value, bool):
        raise ExecutionRoleError(
            f"{where}: {prop} is {shown(value)}, not True or False. Pass a bool; a value read "
            f"from the context is a string, so compare it, for example "
            f"{prop}=(app.node.try_get_context('...') == 'true')."
        )
    return value


def check_prefixes(
    where: str, prop: str, prefixes: Any, pattern: re.Pattern[str], rule: str
) -> tuple[str, ...]:
    """Each prefix of ``prop``, checked against ``pattern``; ``rule`` explains it."""
    checked: list[str] = []
    for index, prefix in enumerate(as_sequence(where, prop, prefixes)):
        if not isinstance(prefix, str) or not pattern.fullmatch(prefix):
            raise ExecutionRoleError(f"{where}: {prop}[{index}] is {prefix!r}; {rule}")
        checked.append(prefix)
    return tuple(checked)


@dataclass(frozen=True)
class RoleOptions:
    """The role's own settings: name, path, boundary, description, trust and policy cap."""

    role_name: str | None
    path: str | None
    permissions_boundary: Any
    description: str | None
    #: ``None``: conditions unless an AWS Batch job definition uses the role (``_lifecycle``).
    trust_conditions: bool | None
    trust_all_regions: bool
    max_managed_policies: int
    derive: bool = True
    #: HardenExecutionRoles only: whether roles the app made are hardened too.
    app_roles: bool = True
    #: The account owning each bucket the role reads files from, by bucket name (``_buckets``).
    bucket_owner_accounts: tuple[tuple[str, str], ...] = ()
    #: Whether S3 reads carry the bucket owner's account as a condition.
    bucket_owner_condition: bool = True
    #: The interface endpoint IDs and VPC IDs (CDK strings) image pulls are allowed through.
    ecr_pull_endpoints: tuple[str, ...] = ()
    ecr_pull_vpcs: tuple[str, ...] = ()

    @classmethod
    def checked(
        cls,
        where: str,
        *,
        role_name: str | None,
        path: str | None,
        permissions_boundary: Any,
        description: str | None,
        trust_conditions: bool | None,
        trust_all_regions: bool,
        max_managed_policies: int,
        derive: bool = True,
        app_roles: bool = True,
        bucket_owner_accounts: Mapping[str, str] | None = None,
        bucket_owner_condition: bool = True,
        ecr_pull_endpoints: Any = None,
        ecr_pull_vpcs: Any = None,
    ) -> RoleOptions:
        _check_role_name(where, role_name)
        _check_role_path(where, path)
        _check_description(where, description)
        _check_boundary(where, permissions_boundary)
        if trust_conditions is not None:
            check_switch(where, "trust_conditions", trust_conditions)
        for prop, value in (
            ("trust_all_regions", trust_all_regions),
            ("derive", derive),
            ("app_roles", app_roles),
            ("bucket_owner_condition", bucket_owner_condition),
        ):
            check_switch(where, prop, value)
        owners = _check_bucket_owner_accounts(where, bucket_owner_accounts)
        if owners and bucket_owner_condition is False:
            raise ExecutionRoleError(
                f"{where}: bucket_owner_accounts names the owners S3 reads are pinned to, but "
                "bucket_owner_condition=False removes that condition. Set only one of them."
            )
        if trust_all_regions and trust_conditions is False:
            raise ExecutionRoleError(
                f"{where}: trust_all_regions=True widens the aws:SourceArn condition, but "
                "trust_conditions=False removes it. Set only one of them."
            )
        if (
            isinstance(max_managed_policies, bool)
            or not isinstance(max_managed_policies, int)
            or not 1 <= max_managed_policies <= _QUOTA_MAX_MANAGED_POLICIES
        ):
            raise ExecutionRoleError(
                f"{where}: max_managed_policies is {max_managed_policies!r}; IAM allows 1 to "
                f"{_QUOTA_MAX_MANAGED_POLICIES} managed policies per role (10 unless the quota "
                "was raised). Pass an int in that range."
            )
        return cls(
            role_name,
            path,
            permissions_boundary,
            description,
            trust_conditions,
            trust_all_regions,
            max_managed_policies,
            derive,
            app_roles,
            owners,
            bucket_owner_condition,
            _ids_of(where, "ecr_pull_endpoints", ecr_pull_endpoints, "vpc_endpoint_id"),
            _ids_of(where, "ecr_pull_vpcs", ecr_pull_vpcs, "vpc_id"),
        )


_ENDPOINT_EXAMPLES = {
    "vpc_endpoint_id": (
        "ec2.IInterfaceVpcEndpoint",
        "vpc.add_interface_endpoint('Ecr', service=ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER)",
    ),
    "vpc_id": ("ec2.IVpc", "ec2.Vpc.from_lookup(scope, 'Vpc', vpc_id='vpc-...')"),
}


def _ids_of(where: str, prop: str, values: Any, attribute: str) -> tuple[str, ...]:
    """The IDs of the endpoints or VPCs of ``prop`` (CDK objects), in the order given."""
    ids = []
    for index, value in enumerate(as_sequence(where, prop, values)):
        found = read_attribute(value, attribute)
        if not isinstance(found, str):
            type_name, example = _ENDPOINT_EXAMPLES[attribute]
            raise ExecutionRoleError(
                f"{where}: {prop}[{index}] is {shown(value)}, not an {type_name}. Pass the CDK "
                f"object, for example {example}."
            )
        ids.append(found)
    return tuple(ids)


def _check_bucket_owner_accounts(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    """The ``bucket_owner_accounts`` prop, checked: bucket names to 12-digit account IDs (or
    a CDK token that resolves to one)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ExecutionRoleError(
            f"{where}: bucket_owner_accounts is {value!r}, not a mapping. Pass the owner of "
            "each bucket by its name, for example {'config-bucket': '111122223333'}."
        )
    owners: dict[str, str] = {}
    for name, account in value.items():
        if not isinstance(name, str) or not _BUCKET_NAME.fullmatch(name):
            raise ExecutionRoleError(
                f"{where}: bucket_owner_accounts has the key {name!r}, which is not an S3 "
                "bucket name (3 to 63 lowercase letters, digits, dots and hyphens). Name each "
                "bucket by its name, without 'arn:' or 's3://'."
            )
        if not isinstance(account, str) or not (
            ACCOUNT_ID.fullmatch(account) or is_unresolved(account)
        ):
            raise ExecutionRoleError(
                f"{where}: bucket_owner_accounts[{name!r}] is {account!r}, not an AWS account "
                "ID. Give the 12 digits of the account that owns the bucket, as a string."
            )
        owners[name] = account
    return tuple(sorted(owners.items()))


def _check_role_name(where: str, role_name: str | None) -> None:
    if role_name is None or (isinstance(role_name, str) and is_unresolved(role_name)):
        return
    if not isinstance(role_name, str) or not _ROLE_NAME.fullmatch(role_name):
        raise ExecutionRoleError(
            f"{where}: role_name {role_name!r} is not a valid IAM role name. Use 1 to 64 "
            "letters, digits or the characters +=,.@_-, or leave role_name unset to let "
            "CloudFormation generate one."
        )


def _check_role_path(where: str, path: str | None) -> None:
    if path is None or (isinstance(path, str) and is_unresolved(path)):
        return
    if not isinstance(path, str) or len(path) > 512 or not _ROLE_PATH.fullmatch(path):
        raise ExecutionRoleError(
            f"{where}: path {path!r} is not a valid IAM path. It must start and end with '/', "
            "for example '/ecs/', and be at most 512 printable ASCII characters, with no "
            "empty part ('//')."
        )


def _check_description(where: str, description: str | None) -> None:
    if description is None or (isinstance(description, str) and is_unresolved(description)):
        return
    if not isinstance(description, str) or not _DESCRIPTION.fullmatch(description):
        shown_value = (
            repr(description)
            if not isinstance(description, str) or len(description) <= 80
            else f"{description[:40]!r}... ({len(description)} characters)"
        )
        raise ExecutionRoleError(
            f"{where}: description {shown_value} is not a valid IAM role description. Use at "
            "most 1,000 characters: printable ASCII, Latin-1 letters, tabs and line breaks."
        )


def _check_boundary(where: str, boundary: Any) -> None:
    if boundary is not None and getattr(boundary, "managed_policy_arn", None) is None:
        raise ExecutionRoleError(
            f"{where}: permissions_boundary is {shown(boundary)}, not an iam.IManagedPolicy. "
            "Pass a managed policy, for example "
            "iam.ManagedPolicy.from_managed_policy_name(scope, 'Boundary', 'name')."
        )


@dataclass(frozen=True)
class ResourceProps:
    """The resources and features one call names (a constructor, ``add_resources`` or
    ``add_family``), as tuples. CDK objects are checked when they are read."""

    repositories: tuple[Any, ...] = ()
    log_groups: tuple[Any, ...] = ()
    secrets: tuple[Any, ...] = ()
    parameters: tuple[Any, ...] = ()
    keys: tuple[Any, ...] = ()
    registry_credentials: tuple[Any, ...] = ()
    environment_files: tuple[Any, ...] = ()
    firelens_config_files: tuple[Any, ...] = ()
    credential_specs: tuple[Any, ...] = ()
    log_groups_to_create: tuple[Any, ...] = ()
    log_stream_prefixes: tuple[str, ...] = ()
    pull_through_cache_prefixes: tuple[str, ...] = ()
    pull_through_cache_tagging: bool = False
    guardduty_runtime_monitoring: bool = False
    firelens_default_router: bool = False
    image_assets: tuple[Any, ...] = ()
    container_assets: bool = False
    # Whether log groups get write permissions (the starter's managed policy already writes to
    # every log group).
    log_writes: bool = True
    family: str | None = None

    @classmethod
    def checked(cls, where: str, **values: Any) -> ResourceProps:
        """Check the props of one call; unknown names are a programming error (TypeError)."""
        family = values.get("family")
        if family is not None and (not isinstance(family, str) or not _FAMILY.fullmatch(family)):
            raise ExecutionRoleError(
                f"{where}: family {family!r} is not an ECS task definition family; use 1 to "
                "255 letters, digits, hyphens and underscores, the same as the task "
                "definition's family."
            )
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name in _SEQUENCE_PROPS:
                checked[name] = as_sequence(where, name, value)
            elif name in _SWITCHES:
                checked[name] = check_switch(where, name, value)
            else:
                checked[name] = value
        checked["log_stream_prefixes"] = check_prefixes(
            where,
            "log_stream_prefixes",
            checked.get("log_stream_prefixes", ()),
            _STREAM_PREFIX,
            "a stream prefix is the awslogs-stream-prefix of the containers, made of letters, "
            "digits and . _ / # - (no '*', '?' or ':').",
        )
        checked["pull_through_cache_prefixes"] = check_prefixes(
            where,
            "pull_through_cache_prefixes",
            checked.get("pull_through_cache_prefixes", ()),
            ECR_PREFIX,
            "an ECR pull-through cache rule prefix is 2 to 30 lowercase letters, digits and "
            ". _ - /, as ECR accepts it (for example 'docker-hub' or 'team/docker-hub'), or "
            "'ROOT'.",
        )
        if checked.get("pull_through_cache_tagging") and not checked["pull_through_cache_prefixes"]:
            raise ExecutionRoleError(
                f"{where}: pull_through_cache_tagging=True needs pull_through_cache_prefixes; "
                "name the cache rule prefixes whose repositories are tagged."
            )
        stream_prefixes = checked["log_stream_prefixes"]
        if stream_prefixes and not (
            checked.get("log_groups") or checked.get("log_groups_to_create")
        ):
            raise ExecutionRoleError(
                f"{where}: log_stream_prefixes={list(stream_prefixes)!r} scope writes to log "
                "groups, but no log_groups are given; pass the log groups the prefixes apply to."
            )
        return cls(**checked)


_SEQUENCE_PROPS = sequence_props()
# ``log_writes`` is set by a construct, not by its user: the starter's managed policy already
# writes to every log group.
_SWITCHES = switches() | {"log_writes"}


@dataclass(frozen=True)
class ScopedProps:
    """SharedExecutionRole's scoped modes: name prefixes and resource tags."""

    repository_prefixes: tuple[str, ...] = ()
    log_group_prefixes: tuple[str, ...] = ()
    secret_prefixes: tuple[str, ...] = ()
    parameter_prefixes: tuple[str, ...] = ()
    resource_tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def checked(
        cls,
        where: str,
        *,
        repository_prefixes: Any = (),
        log_group_prefixes: Any = (),
        secret_prefixes: Any = (),
        parameter_prefixes: Any = (),
        resource_tags: Any = None,
    ) -> ScopedProps:
        rule = (
            "a name prefix is letters, digits and . _ / + = @ # - (no '*', '?' or ':'), for "
            "example 'team/'."
        )
        prefixes = {
            prop: check_prefixes(where, prop, values, _NAME_PREFIX, rule)
            for prop, values in (
                ("repository_prefixes", repository_prefixes),
                ("log_group_prefixes", log_group_prefixes),
                ("secret_prefixes", secret_prefixes),
                ("parameter_prefixes", parameter_prefixes),
            )
        }
        if "/" in prefixes["parameter_prefixes"]:
            # A parameter's ARN drops its name's leading "/": this prefix leaves none.
            index = prefixes["parameter_prefixes"].index("/")
            raise ExecutionRoleError(
                f"{where}: parameter_prefixes[{index}] is '/', which would name every SSM "
                "parameter of the account and region; give the path the parameters share, "
                "for example '/team/'."
            )
        return cls(**prefixes, resource_tags=_checked_tags(where, resource_tags))


def _checked_tags(where: str, resource_tags: Any) -> tuple[tuple[str, str], ...]:
    if not resource_tags:
        return ()
    if not isinstance(resource_tags, Mapping):
        raise ExecutionRoleError(
            f"{where}: resource_tags is {resource_tags!r}; pass a mapping of tag key to value, "
            "for example {'team': 'payments'}."
        )
    tags: list[tuple[str, str]] = []
    for key, value in sorted(resource_tags.items()):
        if (
            not isinstance(key, str)
            or not isinstance(value, str)
            or not _TAG_KEY.fullmatch(key)
            or not _TAG_VALUE.fullmatch(value)
            or "*" in value
            or "?" in value
        ):
            raise ExecutionRoleError(
                f"{where}: resource_tags has {key!r}: {value!r}; tag keys and values are "
                "strings of letters, digits, spaces and _ . : / = + - @ (no '*' or '?')."
            )
        tags.append((key, value))
    return tuple(tags)
