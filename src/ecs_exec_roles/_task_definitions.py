"""Needs read from the task definitions that use a role, where aws-cdk-lib grants nothing.

aws-cdk-lib's grants cover images from ``ContainerImage.from_ecr_repository``, ``awslogs``
with a log group object and ``secrets``. It grants nothing for environment files in S3, for
``awslogs-create-group``, for log options given as plain strings, or for an ECR image named by
URI with ``ContainerImage.from_registry``; ECS still needs the permissions at launch. These
are read here from each container of each task definition whose execution role is the role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from constructs import IConstruct

from ._needs import LazyOrigin

__all__ = [
    "TaskNeed",
    "ecr_image_repository",
    "task_definitions_using",
    "task_needs",
]

# <account>.dkr.ecr.<region>.<amazonaws.com | amazonaws.com.cn>/<name>[:tag | @sha256:digest]
_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<name>[a-z0-9][a-z0-9._/-]*?)(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class TaskNeed:
    """A permission one container of a task definition needs at launch."""

    action: str
    resource: Any
    origin: str | LazyOrigin
    prop: str
    # The task definition, for the family name of a message; read only when one is printed.
    task: Any = field(default=None, compare=False)

    @property
    def family(self) -> str:
        if self.task is None or cdk.Token.is_unresolved(self.task.family):
            return ""
        return str(self.task.family)


def _partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def ecr_image_repository(image: str) -> tuple[str, str, str, str] | None:
    """(partition, region, account, repository name) of an ECR image URI, else ``None``."""
    match = _ECR_IMAGE_URI.match(image)
    if match is None:
        return None
    region = match["region"]
    return _partition_of(region), region, match["account"], match["name"]


# The app's task definitions by execution role path, built once per app on first use. The
# checks that use it run at synth, when the construct tree is complete and can no longer
# change (aws-cdk-lib refuses changes after synthesis).
_INDEX_ATTRIBUTE = "_ecs_exec_roles_task_definitions_by_role"


def _task_definition_index(root: IConstruct) -> dict[str, list[ecs.TaskDefinition]]:
    index: dict[str, list[ecs.TaskDefinition]] | None = getattr(root, _INDEX_ATTRIBUTE, None)
    if index is None:
        index = {}
        for construct in root.node.find_all():
            if isinstance(construct, ecs.TaskDefinition):
                execution_role = construct.execution_role
                if execution_role is not None:
                    index.setdefault(execution_role.node.path, []).append(construct)
        setattr(root, _INDEX_ATTRIBUTE, index)
    return index


def task_definitions_using(scope: IConstruct, role_path: str) -> Iterator[ecs.TaskDefinition]:
    """Every task definition in the app of ``scope`` whose execution role is at ``role_path``."""
    yield from _task_definition_index(scope.node.root).get(role_path, ())


def _containers(task: ecs.TaskDefinition) -> Iterator[ecs.ContainerDefinition]:
    for child in task.node.children:
        if isinstance(child, ecs.ContainerDefinition):
            yield child


def task_needs(scope: IConstruct, role_path: str) -> tuple[list[TaskNeed], list[str]]:
    """The needs of every container of the task definitions using ``role``, and the paths
    of those task definitions that log through FireLens without a log router.

    aws-cdk-lib adds a default router to such a task while it renders the template, after
    every check has run: it pulls an image named by an SSM parameter and grants ECR actions
    on ``*`` and writes to a log group it creates, none of which this role can name.
    """
    needs: list[TaskNeed] = []
    routerless: list[str] = []
    for task in task_definitions_using(scope, role_path):
        stack = cdk.Stack.of(task)
        task_needs: list[TaskNeed] = []
        has_router = uses_firelens = False
        for container in _containers(task):
            origin = LazyOrigin(container, "container ")
            task_needs.extend(_environment_file_needs(stack, container, origin))
            if isinstance(container, ecs.FirelensLogRouter):
                has_router = True
                task_needs.extend(_firelens_config_needs(stack, container, origin))
            config = container.log_driver_config
            if config is not None:
                uses_firelens = uses_firelens or config.log_driver == "awsfirelens"
                task_needs.extend(_log_needs(stack, container, config, origin))
            task_needs.extend(_image_needs(stack, container, origin))
        needs.extend(replace(need, task=task) for need in task_needs)
        if uses_firelens and not has_router:
            routerless.append(task.node.path)
    return needs, routerless


def _s3_object_needs(
    stack: cdk.Stack, bucket: str, key: str, origin: LazyOrigin, prop: str
) -> list[TaskNeed]:
    object_arn = stack.resolve(f"arn:{stack.partition}:s3:::{bucket}/{key}")
    bucket_arn = stack.resolve(f"arn:{stack.partition}:s3:::{bucket}")
    return [
        TaskNeed("s3:GetObject", object_arn, origin, prop),
        TaskNeed("s3:GetBucketLocation", bucket_arn, origin, prop),
    ]


def _environment_file_needs(
    stack: cdk.Stack, container: ecs.ContainerDefinition, origin: LazyOrigin
) -> list[TaskNeed]:
    needs: list[TaskNeed] = []
    for config in container.environment_files or ():
        if str(config.file_type) in ("s3", "EnvironmentFileType.S3"):
            location = config.s3_location
            needs.extend(
                _s3_object_needs(
                    stack,
                    location.bucket_name,
                    location.object_key,
                    origin.with_suffix(" for its environment file"),
                    "environment_files",
                )
            )
    return needs


_S3_ARN = re.compile(r"^arn:[^:]+:s3:::(?P<bucket>[^/]+)/(?P<key>.+)$")


def _firelens_config_needs(
    stack: cdk.Stack, container: ecs.ContainerDefinition, origin: LazyOrigin
) -> list[TaskNeed]:
    config = getattr(container, "firelens_config", None)
    options = config.options if config is not None else None
    if options is None or options.config_file_type != ecs.FirelensConfigFileType.S3:
        return []
    value = stack.resolve(options.config_file_value)
    match = _S3_ARN.match(value) if isinstance(value, str) else None
    if match is None:
        return []
    return _s3_object_needs(
        stack,
        match["bucket"],
        match["key"],
        origin.with_suffix(" for its FireLens config file"),
        "firelens_config_files",
    )


def _log_needs(
    stack: cdk.Stack, container: ecs.ContainerDefinition, config: Any, origin: LazyOrigin
) -> list[TaskNeed]:
    if config.log_driver != "awslogs" or config.options is None:
        return []
    options = dict(config.options)
    group = options.get("awslogs-group")
    if group is None:
        return []
    region = options.get("awslogs-region", stack.region)
    group_arn = f"arn:{stack.partition}:logs:{region}:{stack.account}:log-group:{group}"
    prefix = options.get("awslogs-stream-prefix")
    # The driver names streams prefix/container-name/task-id, or the container ID without prefix.
    stream = f"{prefix}/{container.container_name}/*" if prefix else "*"
    stream_arn = stack.resolve(f"{group_arn}:log-stream:{stream}")
    needs = [
        TaskNeed(
            "logs:CreateLogStream", stream_arn, origin.with_suffix(" for awslogs"), "log_groups"
        ),
        TaskNeed("logs:PutLogEvents", stream_arn, origin.with_suffix(" for awslogs"), "log_groups"),
    ]
    create = stack.resolve(options.get("awslogs-create-group", "false"))
    if isinstance(create, str) and create.lower() == "true":
        needs.append(
            TaskNeed(
                "logs:CreateLogGroup",
                stack.resolve(group_arn),
                origin.with_suffix(" for awslogs-create-group"),
                "log_groups_to_create",
            )
        )
    return needs


def _image_needs(
    stack: cdk.Stack, container: ecs.ContainerDefinition, origin: LazyOrigin
) -> list[TaskNeed]:
    image = stack.resolve(container.image_name)
    if not isinstance(image, str):
        return []
    repository = ecr_image_repository(image)
    if repository is None:
        return []
    partition, region, account, name = repository
    arn = f"arn:{partition}:ecr:{region}:{account}:repository/{name}"
    where = origin.with_suffix(f" for its image {image}")
    return [
        TaskNeed("ecr:GetAuthorizationToken", "*", where, "repositories"),
        *(
            TaskNeed(action, arn, where, "repositories")
            for action in (
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            )
        ),
    ]
