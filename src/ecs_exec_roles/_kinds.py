"""Every kind of resource an execution role names: one table, read by every other module.

A kind says which actions ECS calls on a resource of that kind, which statement its resources
go into, the prop a user names one in (for messages), and the longest ARN it can have (the size
bound of an ARN the template cannot know). No action name is written anywhere else.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "ECR_PULL_ACTIONS",
    "ECR_TOKEN_ACTION",
    "ECS_EXECUTION_ACTIONS",
    "KEY_SERVICES",
    "LOGS_WRITE_ACTIONS",
    "Kind",
    "Shape",
    "decrypt_via",
    "ecs_subset",
    "glob",
    "kind_of_action",
]

ECR_TOKEN_ACTION = "ecr:GetAuthorizationToken"
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)
LOGS_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
_LOGS_CREATE_GROUP_ACTIONS = ("logs:CreateLogGroup",)
_SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
_PARAMETER_READ_ACTIONS = ("ssm:GetParameters",)
_KEY_DECRYPT_ACTIONS = ("kms:Decrypt",)
_PULL_THROUGH_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
_PULL_THROUGH_TAGGING_ACTIONS = ("ecr:TagResource",)

# Longest names, as the services document them: ECR repository 256, log group 512, log stream
# 512, secret 512 (+7 for the random suffix), SSM parameter ARN 1,011 in total, KMS key id 36,
# S3 bucket 63, object key 1,024.
_LONGEST_PARTITION = len("aws-iso-b")
_LONGEST_REGION = 16  # "ap-southeast-7", "us-gov-west-1"; 16 leaves room for longer names
_ACCOUNT = 12


def _arn_head(service: str, resource_type: str) -> int:
    """Characters of ``arn:<partition>:<service>:<region>:<account>:<type>`` at their longest."""
    return (
        len(f"arn::{service}:::{resource_type}") + _LONGEST_PARTITION + _LONGEST_REGION + _ACCOUNT
    )


_S3_HEAD = len("arn::s3:::") + _LONGEST_PARTITION


class Shape(enum.Enum):
    """How a kind's statement is built."""

    PLAIN = "plain"  # the actions on the resources
    VIA_SERVICE = "via_service"  # per kms:ViaService condition
    TAGGED = "tagged"  # every resource of the account, with aws:ResourceTag conditions


class Kind(enum.Enum):
    """A kind of resource need. Members are in the order of the role's statements."""

    # label, prop to fix a gap, actions, statement id, longest ARN, statement shape
    REPOSITORY = (
        "repository",
        "repositories",
        ECR_PULL_ACTIONS,
        "EcrImagePull",
        _arn_head("ecr", "repository/") + 256,
    )
    PULL_THROUGH = (
        "pull_through",
        "pull_through_cache_prefixes",
        _PULL_THROUGH_ACTIONS,
        "EcrPullThroughCache",
        _arn_head("ecr", "repository/") + 256,
    )
    PULL_THROUGH_TAGGING = (
        "pull_through_tagging",
        "pull_through_cache_prefixes` (with pull_through_cache_tagging=True)",
        _PULL_THROUGH_TAGGING_ACTIONS,
        "EcrPullThroughCacheTagging",
        _arn_head("ecr", "repository/") + 256,
    )
    LOG_GROUP = (
        "log_group",
        "log_groups",
        LOGS_WRITE_ACTIONS,
        "LogsWrite",
        _arn_head("logs", "log-group:") + 512 + len(":*"),
    )
    LOG_STREAM = (
        "log_stream",
        "log_groups",
        LOGS_WRITE_ACTIONS,
        "LogsWrite",
        _arn_head("logs", "log-group:") + 512 + len(":log-stream:") + 512,
    )
    LOG_GROUP_CREATE = (
        "log_group_create",
        "log_groups_to_create",
        _LOGS_CREATE_GROUP_ACTIONS,
        "LogsCreateGroup",
        _arn_head("logs", "log-group:") + 512,
    )
    SECRET = (
        "secret",
        "secrets",
        _SECRET_READ_ACTIONS,
        "SecretsRead",
        _arn_head("secretsmanager", "secret:") + 512 + len("-AbCdEf"),
    )
    PARAMETER = ("parameter", "parameters", _PARAMETER_READ_ACTIONS, "ParametersRead", 1011)
    S3_OBJECT = (
        "s3_object",
        "environment_files`, `firelens_config_files` or `credential_specs",
        ("s3:GetObject",),
        "S3FilesRead",
        _S3_HEAD + 63 + len("/") + 1024,
    )
    S3_BUCKET = (
        "s3_bucket",
        "environment_files`, `firelens_config_files` or `credential_specs",
        ("s3:GetBucketLocation",),
        "S3FilesBucketLocation",
        _S3_HEAD + 63,
    )
    KEY = (
        "key",
        "keys",
        _KEY_DECRYPT_ACTIONS,
        "KmsDecryptVia",
        _arn_head("kms", "key/") + 36,
        Shape.VIA_SERVICE,
    )
    SECRET_BY_TAG = (
        "secret_by_tag",
        "resource_tags",
        _SECRET_READ_ACTIONS,
        "SecretsReadByTag",
        80,
        Shape.TAGGED,
    )
    PARAMETER_BY_TAG = (
        "parameter_by_tag",
        "resource_tags",
        _PARAMETER_READ_ACTIONS,
        "ParametersReadByTag",
        80,
        Shape.TAGGED,
    )
    KEY_BY_TAG = (
        "key_by_tag",
        "resource_tags",
        _KEY_DECRYPT_ACTIONS,
        "KmsDecryptByTag",
        80,
        Shape.TAGGED,
    )

    def __init__(
        self,
        label: str,
        prop: str,
        actions: tuple[str, ...],
        sid: str,
        longest_arn: int,
        shape: Shape = Shape.PLAIN,
    ) -> None:
        #: How reports and messages name the kind.
        self.label = label
        #: The prop (or props) a resource of this kind is added to, as messages name it.
        self.prop = prop
        #: The actions ECS calls on a resource of this kind, as the role allows them.
        self.actions = actions
        #: The same in lower case, as actions are compared (IAM matches them ignoring case).
        self.lowered_actions = tuple(action.lower() for action in actions)
        #: The statement the kind's resources go into (a prefix for keys).
        self.sid = sid
        #: The longest ARN of the kind: the size bound of an ARN the template cannot know.
        self.longest_arn = longest_arn
        self.shape = shape

    def __repr__(self) -> str:
        return f"Kind.{self.name}"

    @property
    def marker(self) -> str:
        """What a kind's ARN holds right before the resource's name (``repository/``)."""
        return _MARKERS[self]

    @property
    def via_sid(self) -> str:
        """How the ``kms:Decrypt`` statement's Sid names decryption through the kind's
        service (``KmsDecryptViaSecretsManager``); empty for a kind no key is used through."""
        return _VIA_SIDS.get(self, "")

    def arn(self, partition: str, region: str, account: str, name: str) -> str:
        """The ARN of the resource of this kind named ``name`` (S3's have no region or
        account)."""
        if self.marker == ":::":
            return f"arn:{partition}:{self.service}:::{name}"
        return f"arn:{partition}:{self.service}:{region}:{account}:{self.marker}{name}"

    def name_in(self, arn: str) -> str | None:
        """What follows the kind's marker in ``arn`` (a secret's name and what may follow it),
        or None for an ARN of another kind."""
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != self.service:
            return None
        if self.marker == ":::":
            return parts[5] if parts[3] == parts[4] == "" else None
        return parts[5][len(self.marker) :] if parts[5].startswith(self.marker) else None

    @property
    def cdk_object(self) -> tuple[str, str, str]:
        """The CDK object a prop of the kind takes: the attribute that identifies it, its type
        and an example, as a message names them."""
        return _CDK_OBJECTS[self]

    @property
    def service(self) -> str:
        """The service of the kind's ARNs and actions (``ecr``, ``secretsmanager``)."""
        return self.actions[0].split(":", 1)[0]

    @property
    def what(self) -> str:
        """How the reason of a scoped statement names a resource of the kind."""
        return _WHAT.get(self, self.label)

    @property
    def wildcard(self) -> str:
        """The IAM wildcard a kind's ARN may end in by itself, after the name: a log group's
        streams (``:*``), a secret's random suffix (``-??????``), a stream prefix's streams."""
        return _WILDCARDS.get(self, "")


_MARKERS = {
    Kind.REPOSITORY: "repository/",
    Kind.PULL_THROUGH: "repository/",
    Kind.PULL_THROUGH_TAGGING: "repository/",
    Kind.LOG_GROUP: "log-group:",
    Kind.LOG_STREAM: "log-group:",
    Kind.LOG_GROUP_CREATE: "log-group:",
    Kind.SECRET: "secret:",
    Kind.PARAMETER: "parameter/",
    Kind.S3_OBJECT: ":::",
    Kind.S3_BUCKET: ":::",
    Kind.KEY: "key/",
    Kind.SECRET_BY_TAG: "secret:",
    Kind.PARAMETER_BY_TAG: "parameter/",
    Kind.KEY_BY_TAG: "key/",
}
# The CDK object a prop of the kind takes: the attribute read of it, its type, an example.
_CDK_OBJECTS = {
    Kind.REPOSITORY: (
        "repository_arn",
        "ecr.IRepository",
        "ecr.Repository.from_repository_name(scope, 'Repo', 'name')",
    ),
    Kind.LOG_GROUP: (
        "log_group_arn",
        "logs.ILogGroup",
        "logs.LogGroup.from_log_group_name(scope, 'Logs', 'name')",
    ),
    Kind.SECRET: (
        "secret_arn",
        "secretsmanager.ISecret",
        "secretsmanager.Secret.from_secret_name_v2(scope, 'Secret', 'name')",
    ),
    Kind.PARAMETER: (
        "parameter_arn",
        "ssm.IParameter",
        "ssm.StringParameter.from_string_parameter_name(scope, 'Param', 'name')",
    ),
    Kind.KEY: ("key_arn", "kms.IKey", "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')"),
    Kind.S3_BUCKET: (
        "bucket_name",
        "s3.IBucket",
        "s3.Bucket.from_bucket_name(scope, 'Bucket', 'name')",
    ),
}
# The Sid part of decryption through the service of the kinds whose resources a key encrypts.
_VIA_SIDS = {Kind.SECRET: "SecretsManager", Kind.PARAMETER: "Ssm", Kind.S3_OBJECT: "S3"}
_WILDCARDS = {Kind.LOG_GROUP: ":*", Kind.LOG_STREAM: "/*", Kind.SECRET: "-??????"}
_WHAT = {
    Kind.LOG_GROUP: "log group (and its streams)",
    Kind.SECRET_BY_TAG: "secret",
    Kind.PARAMETER_BY_TAG: "parameter",
    Kind.KEY_BY_TAG: "key",
}


# Every action the ECS agent or Fargate uses with a task execution role, by lower-case name.
# A grant's other actions (DescribeSecret from grant_read, ssm:GetParameter, ...) are never
# called by ECS.
ECS_EXECUTION_ACTIONS = {
    action.lower(): action for action in (ECR_TOKEN_ACTION, *(a for k in Kind for a in k.actions))
}

# The kind a gap on an action is fixed with: the first kind allowing it (the ECR token comes
# with every repository).
_KIND_OF_ACTION = {ECR_TOKEN_ACTION.lower(): Kind.REPOSITORY}
for _kind in Kind:
    for _action in _kind.actions:
        _KIND_OF_ACTION.setdefault(_action.lower(), _kind)


def kind_of_action(action: str) -> Kind | None:
    """The kind whose prop fixes a missing ``action`` (lower-case), if ECS calls it."""
    return _KIND_OF_ACTION.get(action)


@lru_cache(maxsize=4096)
def glob(pattern: str) -> re.Pattern[str]:
    """An IAM pattern (``*`` and ``?`` wildcards) as a regular expression."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


# The services a key named in props or by tag is used through: those that hold the task's
# secrets and parameters (a bucket's key is named by its bucket, through S3).
KEY_SERVICES = (Kind.SECRET.service, Kind.PARAMETER.service)


def decrypt_via(service: str) -> str:
    """How coverage names a key's decryption through ``service`` (``kms:ViaService``)."""
    return f"{Kind.KEY.lowered_actions[0]} via {service}"


def ecs_subset(actions: Iterable[str]) -> list[str]:
    """The actions ECS calls among ``actions`` (lower-case; wildcards expanded), in order."""
    subset: list[str] = []
    for action in actions:
        lower = action.lower()
        if "*" not in lower and "?" not in lower:
            if lower in ECS_EXECUTION_ACTIONS and lower not in subset:
                subset.append(lower)
            continue
        pattern = glob(lower)
        subset.extend(
            sorted(a for a in ECS_EXECUTION_ACTIONS if pattern.fullmatch(a) and a not in subset)
        )
    return subset
