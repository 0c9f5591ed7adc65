"""Needs for the ECS features beyond images, logs, secrets and parameters.

Environment files and FireLens configuration files in S3, ``awslogs-create-group``, log
stream scoping, the ECR pull-through cache, AWS-owned image repositories (GuardDuty's agent)
and container image assets. Each function takes checked props (``_props``), checks the CDK
objects it reads and returns the needs they imply; the statements for them are built in
``_statements``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ._aws_repositories import AwsOwnedRepository
from ._buckets import object_owner, s3_bucket_arn_of
from ._cfn import flatten, is_unresolved
from ._errors import ExecutionRoleError
from ._kinds import Kind
from ._names import check_exact_name
from ._needs import (
    LazyOrigin,
    Need,
    bucket_key_needs,
    bucket_of,
    check_kind,
    log_group_arn_from_name,
)
from ._pull_through import ROOT
from ._regions import partition_of_region
from ._trust import stack_environment

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

__all__ = [
    "S3File",
    "aws_owned_repository_need",
    "container_assets_fix",
    "container_assets_needs",
    "credential_spec_needs",
    "environment_file_needs",
    "firelens_config_needs",
    "image_asset_repositories",
    "log_group_create_needs",
    "log_stream_needs",
    "pull_through_needs",
]


@dataclass(frozen=True)
class S3File:
    """An object in S3 that ECS reads before the task starts (a FireLens configuration file).

    :param bucket: the bucket.
    :param key: the object key, exactly as in the task definition.
    """

    bucket: s3.IBucket
    key: str


def _s3_needs(scope: Construct, bucket_name: str, key: str, origin: str, bucket: Any) -> list[Need]:
    """A file's read and its bucket's location, owned by the account ``bucket`` (its CDK
    object, when known) names."""
    partition = cdk.Stack.of(scope).partition
    owner = object_owner(bucket)
    return [
        Need(Kind.S3_OBJECT, f"arn:{partition}:s3:::{bucket_name}/{key}", origin, owner=owner),
        Need(Kind.S3_BUCKET, f"arn:{partition}:s3:::{bucket_name}", origin, owner=owner),
    ]


def _check_key(where: str, prop: str, index: int, key: Any) -> None:
    if (
        not isinstance(key, str)
        or not key
        or (not is_unresolved(key) and ("*" in key or "?" in key or "${" in key))
    ):
        raise ExecutionRoleError(
            f"{where}: {prop}[{index}] has the object key {key!r}; give the exact key of one "
            "object (no '*' or '?', which IAM reads as wildcards, and no '${', which IAM reads "
            "as a policy variable)."
        )


def environment_file_needs(scope: Construct, where: str, files: Sequence[Any]) -> list[Need]:
    """``s3:GetObject`` on each environment file, ``s3:GetBucketLocation`` on its bucket."""
    needs: list[Need] = []
    for index, environment_file in enumerate(files):
        if isinstance(environment_file, (str, bytes)) or not hasattr(environment_file, "bind"):
            raise ExecutionRoleError(
                f"{where}: environment_files[{index}] is {environment_file!r}, not an "
                "ecs.EnvironmentFile. Pass the same object the container uses, for example "
                "ecs.EnvironmentFile.from_bucket(bucket, 'app.env')."
            )
        config = environment_file.bind(scope)
        location = config.s3_location
        _check_key(where, "environment_files", index, location.object_key)
        label = f"environment_files[{index}]"
        bucket = bucket_of(location.bucket_name)
        needs.extend(_s3_needs(scope, location.bucket_name, location.object_key, label, bucket))
        needs.extend(bucket_key_needs(where, label, bucket))
    return needs


def firelens_config_needs(scope: Construct, where: str, files: Sequence[Any]) -> list[Need]:
    """The same permissions for FireLens configuration files in S3 (EC2 launch type)."""
    needs: list[Need] = []
    for index, config_file in enumerate(files):
        if not isinstance(config_file, S3File):
            raise ExecutionRoleError(
                f"{where}: firelens_config_files[{index}] is {config_file!r}, not an S3File. "
                "Pass S3File(bucket=bucket, key='fluent-bit.conf')."
            )
        check_kind(where, "firelens_config_files", index, config_file.bucket, Kind.S3_BUCKET)
        _check_key(where, "firelens_config_files", index, config_file.key)
        label = f"firelens_config_files[{index}]"
        bucket = config_file.bucket
        needs.extend(_s3_needs(scope, bucket.bucket_name, config_file.key, label, bucket))
        needs.extend(bucket_key_needs(where, label, config_file.bucket))
    return needs


def credential_spec_needs(scope: Construct, where: str, specs: Sequence[Any]) -> list[Need]:
    """Reads of each Active Directory credential spec (gMSA) the ECS agent fetches before the
    task starts: ``s3:GetObject`` (and the bucket's location and key) for a file in S3,
    ``ssm:GetParameters`` for an SSM parameter.

    The Amazon ECS Developer Guide's pages on gMSA for Linux and Windows containers say the
    task execution role must read the credential spec from S3 or SSM; the actions they list
    for S3 differ from page to page. The ECS agent reads a credential spec in S3 as it reads an
    environment file: ``GetBucketLocation`` for the bucket's region, then ``GetObject``
    (aws/amazon-ecs-agent, ``agent/s3/factory/factory.go`` and
    ``agent/taskresource/credentialspec``), so both are allowed, as for environment files. A
    domainless gMSA's user secret is named inside the file, not in the task definition: pass
    it in ``secrets``.
    """
    needs: list[Need] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, ecs.CredentialSpec):
            raise ExecutionRoleError(
                f"{where}: credential_specs[{index}] is {spec!r}, not an ecs.CredentialSpec. "
                "Pass the same object the container uses, for example "
                "ecs.DomainJoinedCredentialSpec.from_s3_bucket(bucket, 'gmsa.json')."
            )
        location = str(spec.bind().location)
        label = f"credential_specs[{index}]"
        where_it_is = flatten(cdk.Stack.of(scope).resolve(location))
        if ":ssm:" in where_it_is:
            needs.append(Need(Kind.PARAMETER, location, label))
            continue
        bucket_arn = s3_bucket_arn_of(location)
        bucket = bucket_of(bucket_arn)
        owner = object_owner(bucket)
        needs.append(Need(Kind.S3_OBJECT, location, label, owner=owner))
        needs.append(Need(Kind.S3_BUCKET, bucket_arn, label, owner=owner))
        needs.extend(bucket_key_needs(where, label, bucket))
    return needs


def log_group_create_needs(where: str, log_groups: Sequence[Any]) -> list[Need]:
    """``logs:CreateLogGroup`` on exactly each group, for ``awslogs-create-group``."""
    needs: list[Need] = []
    for index, log_group in enumerate(log_groups):
        check_kind(where, "log_groups_to_create", index, log_group, Kind.LOG_GROUP)
        arn = log_group_arn_from_name(log_group)
        check_exact_name(
            where, "log_groups_to_create", index, Kind.LOG_GROUP_CREATE, arn, LazyOrigin(log_group)
        )
        needs.append(Need(Kind.LOG_GROUP_CREATE, arn, LazyOrigin(log_group)))
    return needs


def log_stream_needs(
    log_group_needs: Sequence[Need], log_groups: Sequence[Any], prefixes: Sequence[str]
) -> list[Need]:
    """Log writes scoped to ``log-group:<group>:log-stream:<prefix>/*`` for each prefix.

    The awslogs driver names streams ``prefix/container-name/task-id``, so the prefix is the
    task definition's ``stream_prefix``.

    :param log_group_needs: the needs of ``log_groups``, in the same order.
    """
    needs: list[Need] = []
    for log_group, group_need in zip(log_groups, log_group_needs, strict=True):
        for prefix in prefixes:
            needs.append(
                Need(
                    Kind.LOG_STREAM,
                    log_group_arn_from_name(log_group, f":log-stream:{prefix}/*"),
                    group_need.origin,
                    grant_aliases=(group_need.arn,),
                    reason=_STREAM_REASON,
                )
            )
    return needs


def pull_through_needs(
    scope: Construct,
    where: str,
    prefixes: Sequence[str],
    tagging: bool,
    repositories: Sequence[Need] = (),
) -> list[Need]:
    """Pull-through cache: import and first-pull repository creation under each prefix.

    ``ROOT`` (an ECR-to-ECR rule whose cache repositories have the upstream names, see
    ``_pull_through``) has no prefix to scope by: the cache actions go on each of
    ``repositories`` (the ``repositories`` prop's needs) of the stack's account and region.
    """
    if not prefixes:
        return []
    stack = cdk.Stack.of(scope)
    kinds = [Kind.PULL_THROUGH] + [Kind.PULL_THROUGH_TAGGING] * tagging
    needs: list[Need] = []
    for prefix in prefixes:
        origin = f"pull_through_cache_prefixes {prefix!r}"
        if prefix == ROOT:
            needs.extend(_root_needs(stack, where, kinds, repositories, origin))
            continue
        arn = Kind.REPOSITORY.arn(stack.partition, stack.region, stack.account, f"{prefix}/*")
        needs.extend(
            Need(kind, arn, origin, reason=_PULL_THROUGH_REASON, wildcard="/*")
            for kind in [Kind.REPOSITORY, *kinds]
        )
    return needs


def _root_needs(
    stack: cdk.Stack, where: str, kinds: Sequence[Kind], repositories: Sequence[Need], origin: str
) -> list[Need]:
    place = (str(stack.region), str(stack.account))
    local = [need for need in repositories if tuple(need.arn.split(":")[3:5]) == place]
    if not local:
        raise ExecutionRoleError(
            f"{where}: pull_through_cache_prefixes has {ROOT!r}, the prefix of an ECR-to-ECR "
            "rule whose cache repositories have their upstream names, so no prefix names them. "
            "List those repositories in `repositories` (ecr.Repository.from_repository_name("
            "scope, 'Repo', 'team/app')), or define the rule in the app "
            "(ecr.CfnPullThroughCacheRule), whose images derivation reads exactly."
        )
    return [Need(kind, need.arn, origin) for need in local for kind in kinds]


def aws_owned_repository_need(
    scope: Construct,
    where: str,
    owned: AwsOwnedRepository,
    *,
    named_in_props: bool = True,
) -> Need:
    """Pulls from an AWS-owned ECR repository whose account depends on the region.

    :param named_in_props: whether the role's owner takes ``repositories`` (the aspect does
        not): what a region the library does not know is fixed with.
    """
    prop, repository, accounts, source = owned.prop, owned.repository, owned.accounts, owned.source
    partition, region, _ = stack_environment(cdk.Stack.of(scope))
    if is_unresolved(region):
        # Environment-agnostic stack: look the account up at deploy time. A region missing
        # from the mapping fails the deployment rather than granting anything broader.
        mapping = cdk.CfnMapping(
            scope,
            owned.mapping_id,
            mapping={name: {"account": account} for name, account in accounts.items()},
        )
        account = mapping.find_in_map(region, "account")
    elif region in accounts:
        account = accounts[region]
    else:
        # The example ARN in the region's own partition (the stack's may be a token).
        shown_partition = partition_of_region(region) or "aws"
        fix = (
            "Pass the repository"
            if named_in_props
            else "Give the task definitions of that region a MinimalExecutionRole with the "
            "repository"
        )
        raise ExecutionRoleError(
            f"{where}: {prop}=True, but the {repository} repository of region {region!r} is "
            f"not known to this library (it knows {', '.join(sorted(accounts))}). {fix} "
            f"from {source} in repositories instead, for example "
            f"ecr.Repository.from_repository_arn(scope, 'Repo', "
            f"'arn:{shown_partition}:ecr:{region}:<account>:repository/{repository}')."
        )
    arn = Kind.REPOSITORY.arn(partition, region, account, repository)
    return Need(Kind.REPOSITORY, arn, prop)


_DEFAULT_QUALIFIER = "hnb659fds"

_PULL_THROUGH_REASON = (
    "A pull-through cache creates one repository per upstream image under its rule prefix, "
    "unknown before the first pull; the wildcard covers only repositories under that prefix."
)
_STREAM_REASON = (
    "The awslogs driver names streams prefix/container/task-id, unknown before launch; the "
    "wildcard covers only streams under the task's stream prefix in this log group."
)


def container_assets_needs(scope: Construct, where: str, enabled: bool) -> list[Need]:
    """Pulls from the CDK bootstrap's container-assets repository of the stack's environment.

    ``ContainerImage.from_asset`` and ``DockerImageAsset`` push there; aws-cdk-lib grants the
    pull on exactly that repository, which this names the same way.
    """
    if not enabled:
        return []
    stack = cdk.Stack.of(scope)
    synthesizer = stack.synthesizer
    if not hasattr(synthesizer, "DEFAULT_IMAGE_ASSETS_REPOSITORY_NAME"):
        raise ExecutionRoleError(
            f"{where}: container_assets=True names the container-assets repository of the "
            f"CDK bootstrap, but the stack uses {type(synthesizer).__name__}, which has none. "
            "Pass the repository your images are pushed to in `repositories` instead."
        )
    # A synthesizer bound to the stack knows its qualifier; one passed to the Stack as an
    # object does not expose the qualifier given to its constructor, so the context key CDK
    # itself reads comes next. A wrong guess is caught by the coverage check, which names the
    # repository aws-cdk-lib really grants.
    qualifier = (
        getattr(synthesizer, "bootstrap_qualifier", None)
        or stack.node.try_get_context("@aws-cdk/core:bootstrapQualifier")
        or _DEFAULT_QUALIFIER
    )
    name = f"cdk-{qualifier}-container-assets-{stack.account}-{stack.region}"
    arn = Kind.REPOSITORY.arn(stack.partition, stack.region, stack.account, name)
    return [Need(Kind.REPOSITORY, arn, "container_assets")]


_ECR_PULL = frozenset(action.lower() for action in Kind.REPOSITORY.actions)


def container_assets_fix(action: str, resource: str) -> str | None:
    """How to fix a pull from the CDK bootstrap's container-assets repository."""
    if action not in _ECR_PULL or "-container-assets-" not in resource:
        return None
    return (
        "pass `container_assets=True` (ContainerImage.from_asset pushes to the CDK "
        "bootstrap's container-assets repository), or `image_assets=[asset]` for a "
        "DockerImageAsset"
    )


def image_asset_repositories(where: str, assets: Sequence[Any]) -> list[Any]:
    """The repositories of ``ecr_assets.DockerImageAsset`` objects."""
    repositories = []
    for index, asset in enumerate(assets):
        if isinstance(asset, (str, bytes)) or not hasattr(asset, "image_uri"):
            raise ExecutionRoleError(
                f"{where}: image_assets[{index}] is {asset!r}, not an ecr_assets.DockerImageAsset. "
                "Pass the asset object, or use container_assets=True for images built with "
                "ContainerImage.from_asset."
            )
        repositories.append(asset.repository)
    return repositories
