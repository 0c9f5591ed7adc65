"""MinimalExecutionRole: one task family's role, scoped to exactly its resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from constructs import Construct

from ._base import ExecutionRoleBase
from ._declarations import DEFAULT_MAX_MANAGED_POLICIES
from ._features import S3File

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_ecr_assets as ecr_assets
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_secretsmanager as secretsmanager
    from aws_cdk import aws_ssm as ssm

__all__ = ["MinimalExecutionRole"]


class MinimalExecutionRole(ExecutionRoleBase):
    """A task execution role for one task family that names exactly its resources.

    The role allows the ECR pull actions on each repository (and ``ecr:GetAuthorizationToken``,
    which has no resource-level permissions), log writes to each log group,
    ``secretsmanager:GetSecretValue`` on each secret, ``ssm:GetParameters`` on each parameter and
    ``kms:Decrypt`` through Secrets Manager or SSM on each customer managed key. Nothing else.
    Pass :attr:`role` as the task definition's ``execution_role``; grants that aws-cdk-lib
    makes to it are checked at synth instead of being added.

    :param scope: the parent construct.
    :param id: the construct ID; part of the role's logical ID.
    :param repositories: ECR repositories the tasks' images come from. Default: - no ECR access.
    :param log_groups: log groups the ``awslogs`` driver writes to. Default: - no log access.
    :param secrets: Secrets Manager secrets used in ``secrets`` of the containers; the key of an
        encrypted secret is added to ``kms:Decrypt`` automatically. Default: - no secret access.
    :param parameters: SSM parameters used in ``secrets`` of the containers. Default: - no parameter
        access.
    :param keys: customer managed KMS keys that encrypt parameters (CDK does not expose a
        parameter's key) or secrets imported without their key. Default: - only the keys of the
        given secrets.
    :param registry_credentials: Secrets Manager secrets holding private registry credentials
        (``ContainerImage.from_registry(..., credentials=secret)``). Default: - none.
    :param environment_files: the ``ecs.EnvironmentFile`` objects the containers use (each file's
        ``s3:GetObject``, its bucket's ``s3:GetBucketLocation``). Default: - none.
    :param firelens_config_files: FireLens configuration files in S3 (EC2 launch type), as
        :class:`S3File`. Default: - none.
    :param credential_specs: the ``ecs.CredentialSpec`` objects (gMSA) the containers use:
        ``s3:GetObject`` on a file in S3, or ``ssm:GetParameters`` on a parameter. Default: - none.
    :param log_groups_to_create: log groups the ``awslogs`` driver creates
        (``awslogs-create-group``): ``logs:CreateLogGroup`` on each, and log writes. Default: - no
        log group creation.
    :param log_stream_prefixes: scope log writes to ``log-group:<group>:log-stream:<prefix>/*`` for
        each prefix (the containers' ``stream_prefix``). Default: - every stream of each log group.
    :param pull_through_cache_prefixes: the prefixes of ECR pull-through cache rules made outside
        the app (a rule of the app, ``ecr.CfnPullThroughCacheRule``, is read at synth): pulls,
        ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on ``repository/<prefix>/*``;
        for ``ROOT``, on each of ``repositories``. Default: - the rules of the app only.
    :param pull_through_cache_tagging: also allow ``ecr:TagResource`` there, for a repository
        creation template that tags. Default: - ``False``.
    :param guardduty_runtime_monitoring: allow pulling the GuardDuty Runtime Monitoring agent
        GuardDuty adds to Fargate tasks, from its AWS-owned repository of the stack's region.
        Default: - ``False`` (a role scoped to your repositories blocks the agent).
    :param firelens_default_router: cover the FireLens log router aws-cdk-lib adds to a task
        definition that logs through FireLens without one: pulls from the AWS-owned
        ``aws-for-fluent-bit`` repository of the stack's region (never ECR on ``*``) and writes to
        the router's log group. Default: - ``False``: add the router yourself.
    :param image_assets: Docker image assets the containers use; allows pulls from their repository.
        Default: - none.
    :param container_assets: allow pulls from the CDK bootstrap's container-assets repository of the
        stack's environment (``ContainerImage.from_asset``; a custom qualifier is read from the
        synthesizer or the context). Default: - ``False``.
    :param derive: also allow what the task definitions in the app that use the role need, read at
        synth from aws-cdk-lib's grants and their containers and scoped as the props would scope it.
        Default: - ``True``; ``False`` allows only the props, and a need they miss fails synth.
    :param role_name: the role's name. Default: - a name generated by CloudFormation.
    :param path: the role's IAM path. Default: - ``/``.
    :param permissions_boundary: a permissions boundary for the role. Default: - none.
    :param description: the role's description. Default: - none.
    :param trust_conditions: add ``aws:SourceArn`` and ``aws:SourceAccount`` conditions to the trust
        policy. Default: - ``True``, but for a role an AWS Batch job definition uses, whose tasks
        AWS does not document sending them: none there unless ``True`` is passed.
    :param trust_all_regions: use ``*`` as the region of ``aws:SourceArn``, for a role used by tasks
        in several regions. Default: - ``False``, the stack's region.
    :param bucket_owner_accounts: the account that owns a bucket the tasks read files from, by
        bucket name, for a bucket of another account whose object does not say so
        (``EnvironmentFile`` and ``CredentialSpec`` keep only the bucket's name). Default: - each
        bucket's own account (a bucket of the app: its stack's; ``Bucket.from_bucket_attributes(...,
        account=...)``), else the role's stack's.
    :param bucket_owner_condition: pin every S3 read to the bucket owner's account
        (``aws:ResourceAccount``), so a bucket deleted and created again under its name by another
        account is never read. Default: - ``True``; ``False`` drops the condition, and then a task
        reads whatever account holds the bucket name.
    :param ecr_pull_endpoints: the ECR interface VPC endpoints (``ecr.dkr``) the tasks pull images
        through: the pulls are allowed only through them (``aws:SourceVpce``;
        ``ecr:GetAuthorizationToken`` cannot carry it). Default: - pulls over any network.
    :param ecr_pull_vpcs: the VPCs whose ECR interface endpoints the tasks pull images through: the
        pulls are allowed only from them (``aws:SourceVpc``). Default: - pulls from any network.
    :param max_managed_policies: how many managed policies the role may use (StarterExecutionRole's
        AWS managed policy included). Default: - 10, IAM's default quota.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repositories: Sequence[ecr.IRepository] | None = None,
        log_groups: Sequence[logs.ILogGroup] | None = None,
        secrets: Sequence[secretsmanager.ISecret] | None = None,
        parameters: Sequence[ssm.IParameter] | None = None,
        keys: Sequence[kms.IKey] | None = None,
        registry_credentials: Sequence[secretsmanager.ISecret] | None = None,
        environment_files: Sequence[ecs.EnvironmentFile] | None = None,
        firelens_config_files: Sequence[S3File] | None = None,
        credential_specs: Sequence[ecs.CredentialSpec] | None = None,
        log_groups_to_create: Sequence[logs.ILogGroup] | None = None,
        log_stream_prefixes: Sequence[str] | None = None,
        pull_through_cache_prefixes: Sequence[str] | None = None,
        pull_through_cache_tagging: bool = False,
        image_assets: Sequence[ecr_assets.DockerImageAsset] | None = None,
        container_assets: bool = False,
        guardduty_runtime_monitoring: bool = False,
        firelens_default_router: bool = False,
        derive: bool = True,
        role_name: str | None = None,
        path: str | None = None,
        permissions_boundary: iam.IManagedPolicy | None = None,
        description: str | None = None,
        trust_conditions: bool | None = None,
        trust_all_regions: bool = False,
        bucket_owner_accounts: Mapping[str, str] | None = None,
        bucket_owner_condition: bool = True,
        ecr_pull_endpoints: Sequence[ec2.IInterfaceVpcEndpoint] | None = None,
        ecr_pull_vpcs: Sequence[ec2.IVpc] | None = None,
        max_managed_policies: int = DEFAULT_MAX_MANAGED_POLICIES,
    ) -> None:
        super().__init__(
            scope,
            id,
            derive=derive,
            role_name=role_name,
            path=path,
            permissions_boundary=permissions_boundary,
            description=description,
            trust_conditions=trust_conditions,
            trust_all_regions=trust_all_regions,
            bucket_owner_accounts=bucket_owner_accounts,
            bucket_owner_condition=bucket_owner_condition,
            ecr_pull_endpoints=ecr_pull_endpoints,
            ecr_pull_vpcs=ecr_pull_vpcs,
            max_managed_policies=max_managed_policies,
        )
        self._add_props(
            repositories=repositories,
            log_groups=log_groups,
            secrets=secrets,
            parameters=parameters,
            keys=keys,
            registry_credentials=registry_credentials,
            environment_files=environment_files,
            firelens_config_files=firelens_config_files,
            credential_specs=credential_specs,
            log_groups_to_create=log_groups_to_create,
            log_stream_prefixes=log_stream_prefixes,
            pull_through_cache_prefixes=pull_through_cache_prefixes,
            pull_through_cache_tagging=pull_through_cache_tagging,
            image_assets=image_assets,
            container_assets=container_assets,
            guardduty_runtime_monitoring=guardduty_runtime_monitoring,
            firelens_default_router=firelens_default_router,
        )
