"""Every prop of the constructs, declared once: its name, type, default, documentation and the
kinds of need it feeds.

The constructors and ``add_*`` methods keep explicit, typed keyword signatures and docstrings
(IDEs and type checkers read them); ``tests/test_declarations.py`` fails when a signature or a
docstring differs from this table, or when a method does not hand a prop on. ``_props`` reads
which props are sequences and which are switches from here.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any

from ._kinds import Kind

__all__ = [
    "DEFAULT_MAX_MANAGED_POLICIES",
    "PROPS",
    "Prop",
    "props_taken",
    "sequence_props",
    "switches",
]

# IAM's default quota of managed policies attached to one role.
DEFAULT_MAX_MANAGED_POLICIES = 10

_NONE = "Default: - none."


@dataclass(frozen=True)
class Prop:
    """One prop, as every signature that takes it writes it."""

    name: str
    #: The annotation as the signatures write it (they postpone evaluation: a string).
    annotation: str
    default: Any
    #: The ``:param:`` text of every docstring that documents the prop.
    doc: str
    #: The kinds of need a value of the prop can add (none for the role's own settings).
    feeds: tuple[Kind, ...] = ()
    #: Whether what the prop covers shows only at synth, in what the app renders or grants
    #: (the finalizer's observers read the app for a role given it, as for one that derives).
    observed: bool = False


_REPOSITORY = (Kind.REPOSITORY,)
_FILES = (Kind.S3_OBJECT, Kind.S3_BUCKET)

PROPS: dict[str, Prop] = {
    prop.name: prop
    for prop in (
        Prop(
            "family",
            "str",
            None,
            "the task definition's ``family``.",
        ),
        Prop(
            "repositories",
            "Sequence[ecr.IRepository] | None",
            None,
            "ECR repositories the tasks' images come from. Default: - no ECR access.",
            _REPOSITORY,
        ),
        Prop(
            "log_groups",
            "Sequence[logs.ILogGroup] | None",
            None,
            "log groups the ``awslogs`` driver writes to. Default: - no log access.",
            (Kind.LOG_GROUP, Kind.LOG_STREAM),
        ),
        Prop(
            "secrets",
            "Sequence[secretsmanager.ISecret] | None",
            None,
            "Secrets Manager secrets used in ``secrets`` of the containers; the key of an "
            "encrypted secret is added to ``kms:Decrypt`` automatically. Default: - no secret "
            "access.",
            (Kind.SECRET, Kind.KEY),
        ),
        Prop(
            "parameters",
            "Sequence[ssm.IParameter] | None",
            None,
            "SSM parameters used in ``secrets`` of the containers. Default: - no parameter access.",
            (Kind.PARAMETER, Kind.KEY),
        ),
        Prop(
            "keys",
            "Sequence[kms.IKey] | None",
            None,
            "customer managed KMS keys that encrypt parameters (CDK does not expose a "
            "parameter's key) or secrets imported without their key. Default: - only the keys "
            "of the given secrets.",
            (Kind.KEY,),
        ),
        Prop(
            "registry_credentials",
            "Sequence[secretsmanager.ISecret] | None",
            None,
            "Secrets Manager secrets holding private registry credentials "
            "(``ContainerImage.from_registry(..., credentials=secret)``). " + _NONE,
            (Kind.SECRET, Kind.KEY),
        ),
        Prop(
            "environment_files",
            "Sequence[ecs.EnvironmentFile] | None",
            None,
            "the ``ecs.EnvironmentFile`` objects the containers use (each file's "
            "``s3:GetObject``, its bucket's ``s3:GetBucketLocation``). " + _NONE,
            (*_FILES, Kind.KEY),
        ),
        Prop(
            "firelens_config_files",
            "Sequence[S3File] | None",
            None,
            "FireLens configuration files in S3 (EC2 launch type), as :class:`S3File`. " + _NONE,
            (*_FILES, Kind.KEY),
        ),
        Prop(
            "credential_specs",
            "Sequence[ecs.CredentialSpec] | None",
            None,
            "the ``ecs.CredentialSpec`` objects (gMSA) the containers use: ``s3:GetObject`` on "
            "a file in S3, or ``ssm:GetParameters`` on a parameter. " + _NONE,
            (*_FILES, Kind.PARAMETER, Kind.KEY),
        ),
        Prop(
            "log_groups_to_create",
            "Sequence[logs.ILogGroup] | None",
            None,
            "log groups the ``awslogs`` driver creates (``awslogs-create-group``): "
            "``logs:CreateLogGroup`` on each, and log writes. Default: - no log group creation.",
            (Kind.LOG_GROUP_CREATE, Kind.LOG_GROUP, Kind.LOG_STREAM),
        ),
        Prop(
            "log_stream_prefixes",
            "Sequence[str] | None",
            None,
            "scope log writes to ``log-group:<group>:log-stream:<prefix>/*`` for each prefix "
            "(the containers' ``stream_prefix``). Default: - every stream of each log group.",
            (Kind.LOG_STREAM,),
        ),
        Prop(
            "pull_through_cache_prefixes",
            "Sequence[str] | None",
            None,
            "the prefixes of ECR pull-through cache rules made outside the app (a rule of the app, "
            "``ecr.CfnPullThroughCacheRule``, is read at synth): pulls, "
            "``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on "
            "``repository/<prefix>/*``; for ``ROOT``, on each of ``repositories``. Default: - "
            "the rules of the app only.",
            (Kind.REPOSITORY, Kind.PULL_THROUGH, Kind.PULL_THROUGH_TAGGING),
        ),
        Prop(
            "pull_through_cache_tagging",
            "bool",
            False,
            "also allow ``ecr:TagResource`` there, for a repository creation template that "
            "tags. Default: - ``False``.",
            (Kind.PULL_THROUGH_TAGGING,),
        ),
        Prop(
            "image_assets",
            "Sequence[ecr_assets.DockerImageAsset] | None",
            None,
            "Docker image assets the containers use; allows pulls from their repository. " + _NONE,
            _REPOSITORY,
        ),
        Prop(
            "container_assets",
            "bool",
            False,
            "allow pulls from the CDK bootstrap's container-assets repository of the stack's "
            "environment (``ContainerImage.from_asset``; a custom qualifier is read from the "
            "synthesizer or the context). Default: - ``False``.",
            _REPOSITORY,
        ),
        Prop(
            "guardduty_runtime_monitoring",
            "bool",
            False,
            "allow pulling the GuardDuty Runtime Monitoring agent GuardDuty adds to Fargate "
            "tasks, from its AWS-owned repository of the stack's region. Default: - ``False`` "
            "(a role scoped to your repositories blocks the agent).",
            _REPOSITORY,
            observed=True,
        ),
        Prop(
            "firelens_default_router",
            "bool",
            False,
            "cover the FireLens log router aws-cdk-lib adds to a task definition that logs "
            "through FireLens without one: pulls from the AWS-owned ``aws-for-fluent-bit`` "
            "repository of the stack's region (never ECR on ``*``) and writes to the router's "
            "log group. Default: - ``False``: add the router yourself.",
            (Kind.REPOSITORY, Kind.LOG_GROUP, Kind.LOG_STREAM),
            observed=True,
        ),
        Prop(
            "derive",
            "bool",
            True,
            "also allow what the task definitions in the app that use the role need, read at "
            "synth from aws-cdk-lib's grants and their containers and scoped as the props would "
            "scope it. Default: - ``True``; ``False`` allows only the props, and a need they "
            "miss fails synth.",
        ),
        Prop(
            "role_name",
            "str | None",
            None,
            "the role's name. Default: - a name generated by CloudFormation.",
        ),
        Prop("path", "str | None", None, "the role's IAM path. Default: - ``/``."),
        Prop(
            "permissions_boundary",
            "iam.IManagedPolicy | None",
            None,
            "a permissions boundary for the role. " + _NONE,
        ),
        Prop("description", "str | None", None, "the role's description. " + _NONE),
        Prop(
            "trust_conditions",
            "bool | None",
            None,
            "add ``aws:SourceArn`` and ``aws:SourceAccount`` conditions to the trust policy. "
            "Default: - ``True``, but for a role an AWS Batch job definition uses, whose tasks "
            "AWS does not document sending them: none there unless ``True`` is passed.",
        ),
        Prop(
            "trust_all_regions",
            "bool",
            False,
            "use ``*`` as the region of ``aws:SourceArn``, for a role used by tasks in several "
            "regions. Default: - ``False``, the stack's region.",
        ),
        Prop(
            "bucket_owner_accounts",
            "Mapping[str, str] | None",
            None,
            "the account that owns a bucket the tasks read files from, by bucket name, for a "
            "bucket of another account whose object does not say so (``EnvironmentFile`` and "
            "``CredentialSpec`` keep only the bucket's name). Default: - each bucket's own "
            "account (a bucket of the app: its stack's; ``Bucket.from_bucket_attributes(..., "
            "account=...)``), else the role's stack's.",
        ),
        Prop(
            "bucket_owner_condition",
            "bool",
            True,
            "pin every S3 read to the bucket owner's account (``aws:ResourceAccount``), so a "
            "bucket deleted and created again under its name by another account is never read. "
            "Default: - ``True``; ``False`` drops the condition, and then a task reads whatever "
            "account holds the bucket name.",
        ),
        Prop(
            "ecr_pull_endpoints",
            "Sequence[ec2.IInterfaceVpcEndpoint] | None",
            None,
            "the ECR interface VPC endpoints (``ecr.dkr``) the tasks pull images through: the "
            "pulls are allowed only through them (``aws:SourceVpce``; "
            "``ecr:GetAuthorizationToken`` cannot carry it). Default: - pulls over any network.",
        ),
        Prop(
            "ecr_pull_vpcs",
            "Sequence[ec2.IVpc] | None",
            None,
            "the VPCs whose ECR interface endpoints the tasks pull images through: the pulls are "
            "allowed only from them (``aws:SourceVpc``). Default: - pulls from any network.",
        ),
        Prop(
            "app_roles",
            "bool",
            True,
            "also harden each ``iam.Role`` the app made and passes as ``execution_role`` (the "
            "object, or its ARN or name), when its templates use it only as an execution role: its "
            "policies and managed policies (``AmazonECSTaskExecutionRolePolicy``) replaced by "
            "derived ones, trust conditions added. A role with another use (a task role, "
            "another service, another principal in its trust) is left as it is, with a warning "
            "naming the use. Default: - ``True``; ``False`` leaves every role the app made as "
            "it is.",
        ),
        Prop(
            "max_managed_policies",
            "int",
            DEFAULT_MAX_MANAGED_POLICIES,
            "how many managed policies the role may use (StarterExecutionRole's AWS managed "
            "policy included). Default: - 10, IAM's default quota.",
        ),
        Prop(
            "repository_prefixes",
            "Sequence[str] | None",
            None,
            "scoped mode: pulls from every repository of the stack's account and region whose "
            "name starts with a prefix. Default: - none (enumerated).",
            _REPOSITORY,
        ),
        Prop(
            "log_group_prefixes",
            "Sequence[str] | None",
            None,
            "scoped mode: writes to every such log group. " + _NONE,
            (Kind.LOG_GROUP,),
        ),
        Prop(
            "secret_prefixes",
            "Sequence[str] | None",
            None,
            "scoped mode: reads of every such secret. " + _NONE,
            (Kind.SECRET,),
        ),
        Prop(
            "parameter_prefixes",
            "Sequence[str] | None",
            None,
            "scoped mode: reads of every such parameter (prefixes with or without a leading "
            "``/``). " + _NONE,
            (Kind.PARAMETER,),
        ),
        Prop(
            "resource_tags",
            "Mapping[str, str] | None",
            None,
            "scoped mode: allow reading every secret and parameter, and decrypting through "
            "Secrets Manager or SSM with every key, of the stack's account and region that "
            "carries all these tags (``aws:ResourceTag``). " + _NONE,
            (Kind.SECRET_BY_TAG, Kind.PARAMETER_BY_TAG, Kind.KEY_BY_TAG),
        ),
    )
}


def sequence_props() -> frozenset[str]:
    """The props that take a sequence of values."""
    return frozenset(name for name, prop in PROPS.items() if prop.annotation.startswith("Seq"))


def switches() -> frozenset[str]:
    """The props that are True or False."""
    return frozenset(name for name, prop in PROPS.items() if prop.annotation == "bool")


@functools.cache
def props_taken(owner: type) -> frozenset[str]:
    """The props ``owner`` (a construct or the aspect) takes in its constructor and methods."""
    names: set[str] = set()
    for member in vars(owner).values():
        if inspect.isfunction(member):
            names.update(inspect.signature(member).parameters)
    for base in owner.__bases__:
        if base.__module__.startswith(__package__ or "ecs_exec_roles"):
            names |= props_taken(base)
    return frozenset(names & PROPS.keys())
