"""Every kind of resource an execution role names: one table, read by every other module.

Each kind is one row (:class:`_Row`): which actions ECS calls on a resource of that kind,
which statement its resources go into, the prop a user names one in (for messages), the longest
ARN it can have (the size bound of an ARN the template cannot know), how its ARNs are made and
read (:meth:`Kind.arn`, :meth:`Kind.name_in`), the wildcard they may end in, and the CDK object
its prop takes. No action name is written anywhere else (the trust policy's aside).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ACCOUNT_ID",
    "BUCKET_OWNER_KEY",
    "ECR_PULL_ACTIONS",
    "ECR_READ_ONLY_EXTRA_ACTIONS",
    "ECR_TOKEN_ACTION",
    "ECS_EXECUTION_ACTIONS",
    "KEY_SERVICES",
    "LOGS_WRITE_ACTIONS",
    "OTHER_ACCOUNT_SECRET",
    "Kind",
    "Shape",
    "arn_account",
    "decrypt_via",
    "ecs_subset",
    "glob",
    "kind_of_action",
    "log_group_elsewhere",
    "other_account_logs",
]

ECR_TOKEN_ACTION = "ecr:GetAuthorizationToken"
# The condition key that pins an S3 request to the account owning the bucket (the one the ECS
# task execution role page recommends; see ``_buckets``).
BUCKET_OWNER_KEY = "aws:ResourceAccount"
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)
LOGS_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# The ECR reads AmazonEC2ContainerRegistryReadOnly allows besides a pull, which ECS never
# calls for a task (``_aws_managed``), in the policy's order.
ECR_READ_ONLY_EXTRA_ACTIONS = (
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
)
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


#: Why a secret of another account needs a customer managed key.
OTHER_ACCOUNT_SECRET = (
    "Secrets Manager lets a role of another account read a secret only through a customer "
    "managed key, never the AWS managed aws/secretsmanager key."
)


class Shape(enum.Enum):
    """How a kind's statement is built."""

    PLAIN = "plain"  # the actions on the resources
    VIA_SERVICE = "via_service"  # per kms:ViaService condition
    TAGGED = "tagged"  # every resource of the account, with aws:ResourceTag conditions
    OWNED = "owned"  # per bucket owner, with an aws:ResourceAccount condition


@dataclass(frozen=True)
class _Row:
    """Every fact of one kind (see :class:`Kind`'s attributes)."""

    label: str
    prop: str
    actions: tuple[str, ...]
    sid: str
    longest_arn: int
    marker: str
    shape: Shape = Shape.PLAIN
    wildcard: str = ""
    what: str = ""
    via_sid: str = ""
    cdk_object: tuple[str, str, str] | None = None


_ECR_REPOSITORY = _arn_head("ecr", "repository/") + 256
_S3_FILES = "environment_files`, `firelens_config_files` or `credential_specs"


# The rows of the kinds, in the order of the role's statements.
_REPOSITORY = _Row(
    "repository",
    "repositories",
    ECR_PULL_ACTIONS,
    "EcrImagePull",
    _ECR_REPOSITORY,
    "repository/",
    cdk_object=(
        "repository_arn",
        "ecr.IRepository",
        "ecr.Repository.from_repository_name(scope, 'Repo', 'name')",
    ),
)

_PULL_THROUGH = _Row(
    "pull_through",
    "pull_through_cache_prefixes",
    _PULL_THROUGH_ACTIONS,
    "EcrPullThroughCache",
    _ECR_REPOSITORY,
    "repository/",
)

_PULL_THROUGH_TAGGING = _Row(
    "pull_through_tagging",
    "pull_through_cache_prefixes` (with pull_through_cache_tagging=True)",
    _PULL_THROUGH_TAGGING_ACTIONS,
    "EcrPullThroughCacheTagging",
    _ECR_REPOSITORY,
    "repository/",
)

_LOG_GROUP = _Row(
    "log_group",
    "log_groups",
    LOGS_WRITE_ACTIONS,
    "LogsWrite",
    _arn_head("logs", "log-group:") + 512 + len(":*"),
    "log-group:",
    wildcard=":*",
    what="log group (and its streams)",
    cdk_object=(
        "log_group_arn",
        "logs.ILogGroup",
        "logs.LogGroup.from_log_group_name(scope, 'Logs', 'name')",
    ),
)

_LOG_STREAM = _Row(
    "log_stream",
    "log_groups",
    LOGS_WRITE_ACTIONS,
    "LogsWrite",
    _arn_head("logs", "log-group:") + 512 + len(":log-stream:") + 512,
    "log-group:",
    wildcard="/*",
)

_LOG_GROUP_CREATE = _Row(
    "log_group_create",
    "log_groups_to_create",
    _LOGS_CREATE_GROUP_ACTIONS,
    "LogsCreateGroup",
    _arn_head("logs", "log-group:") + 512,
    "log-group:",
)

_SECRET = _Row(
    "secret",
    "secrets",
    _SECRET_READ_ACTIONS,
    "SecretsRead",
    _arn_head("secretsmanager", "secret:") + 512 + len("-AbCdEf"),
    "secret:",
    wildcard="-??????",
    via_sid="SecretsManager",
    cdk_object=(
        "secret_arn",
        "secretsmanager.ISecret",
        "secretsmanager.Secret.from_secret_name_v2(scope, 'Secret', 'name')",
    ),
)

_PARAMETER = _Row(
    "parameter",
    "parameters",
    _PARAMETER_READ_ACTIONS,
    "ParametersRead",
    1011,
    "parameter/",
    via_sid="Ssm",
    cdk_object=(
        "parameter_arn",
        "ssm.IParameter",
        "ssm.StringParameter.from_string_parameter_name(scope, 'Param', 'name')",
    ),
)

_S3_OBJECT = _Row(
    "s3_object",
    _S3_FILES,
    ("s3:GetObject",),
    "S3FilesRead",
    _S3_HEAD + 63 + len("/") + 1024,
    ":::",
    Shape.OWNED,
    via_sid="S3",
)

_S3_BUCKET = _Row(
    "s3_bucket",
    _S3_FILES,
    ("s3:GetBucketLocation",),
    "S3FilesBucketLocation",
    _S3_HEAD + 63,
    ":::",
    Shape.OWNED,
    cdk_object=(
        "bucket_name",
        "s3.IBucket",
        "s3.Bucket.from_bucket_name(scope, 'Bucket', 'name')",
    ),
)

_KEY = _Row(
    "key",
    "keys",
    _KEY_DECRYPT_ACTIONS,
    "KmsDecryptVia",
    _arn_head("kms", "key/") + 36,
    "key/",
    Shape.VIA_SERVICE,
    cdk_object=(
        "key_arn",
        "kms.IKey",
        "kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')",
    ),
)

_SECRET_BY_TAG = _Row(
    "secret_by_tag",
    "resource_tags",
    _SECRET_READ_ACTIONS,
    "SecretsReadByTag",
    80,
    "secret:",
    Shape.TAGGED,
    what="secret",
)

_PARAMETER_BY_TAG = _Row(
    "parameter_by_tag",
    "resource_tags",
    _PARAMETER_READ_ACTIONS,
    "ParametersReadByTag",
    80,
    "parameter/",
    Shape.TAGGED,
    what="parameter",
)

_KEY_BY_TAG = _Row(
    "key_by_tag",
    "resource_tags",
    _KEY_DECRYPT_ACTIONS,
    "KmsDecryptByTag",
    80,
    "key/",
    Shape.TAGGED,
    what="key",
)


class Kind(enum.Enum):
    """A kind of resource need, one row of facts each. Members are in the order of the role's
    statements."""

    REPOSITORY = _REPOSITORY
    PULL_THROUGH = _PULL_THROUGH
    PULL_THROUGH_TAGGING = _PULL_THROUGH_TAGGING
    LOG_GROUP = _LOG_GROUP
    LOG_STREAM = _LOG_STREAM
    LOG_GROUP_CREATE = _LOG_GROUP_CREATE
    SECRET = _SECRET
    PARAMETER = _PARAMETER
    S3_OBJECT = _S3_OBJECT
    S3_BUCKET = _S3_BUCKET
    KEY = _KEY
    SECRET_BY_TAG = _SECRET_BY_TAG
    PARAMETER_BY_TAG = _PARAMETER_BY_TAG
    KEY_BY_TAG = _KEY_BY_TAG

    def __init__(self, row: _Row) -> None:
        #: How reports and messages name the kind.
        self.label = row.label
        #: The prop (or props) a resource of this kind is added to, as messages name it.
        self.prop = row.prop
        #: The actions ECS calls on a resource of this kind, as the role allows them.
        self.actions = row.actions
        #: The same in lower case, as actions are compared (IAM matches them ignoring case).
        self.lowered_actions = tuple(action.lower() for action in row.actions)
        #: The statement the kind's resources go into (a prefix for keys).
        self.sid = row.sid
        #: The longest ARN of the kind: the size bound of an ARN the template cannot know.
        self.longest_arn = row.longest_arn
        #: What a kind's ARN holds right before the resource's name (``repository/``).
        self.marker = row.marker
        self.shape = row.shape
        #: The IAM wildcard a kind's ARN may end in by itself, after the name: a log group's
        #: streams (``:*``), a secret's random suffix (``-??????``), a stream prefix's streams.
        self.wildcard = row.wildcard
        #: How the reason of a scoped statement names a resource of the kind.
        self.what = row.what or row.label
        #: How the ``kms:Decrypt`` statement's Sid names decryption through the kind's
        #: service (``KmsDecryptViaSecretsManager``); empty for a kind no key is used through.
        self.via_sid = row.via_sid
        self._cdk_object = row.cdk_object

    def __repr__(self) -> str:
        return f"Kind.{self.name}"

    @property
    def cdk_object(self) -> tuple[str, str, str]:
        """The CDK object a prop of the kind takes: the attribute that identifies it, its type
        and an example, as a message names them."""
        if self._cdk_object is None:
            raise KeyError(self)
        return self._cdk_object

    @property
    def service(self) -> str:
        """The service of the kind's ARNs and actions (``ecr``, ``secretsmanager``)."""
        return self.actions[0].split(":", 1)[0]

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


# What an ARN holds that is not written out: a token of a CDK string, or a part of template
# text shown as <...> (which may hold colons of its own).
_UNWRITTEN = re.compile(r"[$#]\{Token\[[^\]]*\]\}|<[^<>]*>")
#: An AWS account ID, as a policy writes it out.
ACCOUNT_ID = re.compile(r"\d{12}")


def arn_account(arn: str) -> str:
    """The account an ARN (a CDK string, or template text) names, when written out; "" for
    an account only deployment tells, or text that is no ARN."""
    fields = _UNWRITTEN.sub("_", arn).split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return ""
    return fields[4] if ACCOUNT_ID.fullmatch(fields[4]) else ""


def log_group_elsewhere(arn: str, account: str) -> tuple[str, str] | None:
    """The name and account of the log group ``arn`` names (a CDK string, or template text)
    when its account and ``account`` (the role's) are both written out and differ: the awslogs
    driver writes to the task's own account. ``None`` otherwise."""
    fields = _UNWRITTEN.sub("_", arn).split(":", 6)
    if len(fields) < 7 or fields[2] != "logs" or fields[5] != "log-group":
        return None
    if not (ACCOUNT_ID.fullmatch(fields[4]) and ACCOUNT_ID.fullmatch(account)):
        return None
    return (fields[6].split(":")[0], fields[4]) if fields[4] != account else None


def other_account_logs(group: str, group_account: str, account: str) -> str:
    """Why awslogs cannot write into ``group`` of ``group_account`` for a task of
    ``account``, and what works instead."""
    return (
        f"the log group {group!r} of account {group_account}, but the awslogs driver writes "
        f"to the log group of that name in the task's own account ({account}): CloudWatch "
        "Logs lets no role of another account write into a log group. Use a log group of the "
        "task's account, or send the logs to the other account with a log router (FireLens), "
        "whose writes use the task role."
    )
