"""Needs in, IAM statements out: the one place that decides what the role allows.

Every statement here is justified by a need ECS has when it prepares a task (see the
"Default settings" table in the README). The order of statements and of resources inside
them is fixed (by kind, then by the resolved resource), so the template does not change when
props are given in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._cfn import max_chars, sort_key
from ._needs import UNRESOLVED_ARN_MAX_CHARS, Need

__all__ = [
    "ECR_PULL_ACTIONS",
    "ECS_EXECUTION_ACTIONS",
    "Resource",
    "Statement",
    "build_statements",
]

ECR_TOKEN_ACTION = "ecr:GetAuthorizationToken"
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)
LOGS_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
PARAMETER_READ_ACTIONS = ("ssm:GetParameters",)
KEY_DECRYPT_ACTIONS = ("kms:Decrypt",)
LOGS_CREATE_GROUP_ACTIONS = ("logs:CreateLogGroup",)
S3_OBJECT_ACTIONS = ("s3:GetObject",)
S3_BUCKET_ACTIONS = ("s3:GetBucketLocation",)
PULL_THROUGH_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
PULL_THROUGH_TAGGING_ACTIONS = ("ecr:TagResource",)

# Every action the ECS agent or Fargate uses with a task execution role, by lower-case name.
# A grant's other actions (DescribeSecret from grant_read, ssm:GetParameter, ...) are never
# called by ECS.
ECS_EXECUTION_ACTIONS = {
    action.lower(): action
    for action in (
        ECR_TOKEN_ACTION,
        *ECR_PULL_ACTIONS,
        *LOGS_WRITE_ACTIONS,
        "logs:CreateLogGroup",
        *SECRET_READ_ACTIONS,
        *PARAMETER_READ_ACTIONS,
        *KEY_DECRYPT_ACTIONS,
        "s3:GetObject",
        "s3:GetBucketLocation",
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
        "ecr:TagResource",
    )
}

# Which prop covers an action, for coverage messages.
ACTION_PROPS = {
    ECR_TOKEN_ACTION.lower(): "repositories",
    **{action.lower(): "repositories" for action in ECR_PULL_ACTIONS},
    **{action.lower(): "log_groups" for action in LOGS_WRITE_ACTIONS},
    **{action.lower(): "secrets" for action in SECRET_READ_ACTIONS},
    **{action.lower(): "parameters" for action in PARAMETER_READ_ACTIONS},
    **{action.lower(): "keys" for action in KEY_DECRYPT_ACTIONS},
    "logs:createloggroup": "log_groups_to_create",
    "s3:getobject": "environment_files` or `firelens_config_files",
    "s3:getbucketlocation": "environment_files` or `firelens_config_files",
    "ecr:batchimportupstreamimage": "pull_through_cache_prefixes",
    "ecr:createrepository": "pull_through_cache_prefixes",
    "ecr:tagresource": "pull_through_cache_prefixes` (with pull_through_cache_tagging=True)",
}

# The actions each kind of need is allowed, as the statements below grant them.
KIND_ACTIONS: dict[str, tuple[str, ...]] = {
    "repository": ECR_PULL_ACTIONS,
    "log_group": LOGS_WRITE_ACTIONS,
    "secret": SECRET_READ_ACTIONS,
    "parameter": PARAMETER_READ_ACTIONS,
    "key": KEY_DECRYPT_ACTIONS,
    "log_stream": LOGS_WRITE_ACTIONS,
    "log_group_create": LOGS_CREATE_GROUP_ACTIONS,
    "s3_object": S3_OBJECT_ACTIONS,
    "s3_bucket": S3_BUCKET_ACTIONS,
    "pull_through": PULL_THROUGH_ACTIONS,
    "pull_through_tagging": PULL_THROUGH_TAGGING_ACTIONS,
    "secret_by_tag": SECRET_READ_ACTIONS,
    "parameter_by_tag": PARAMETER_READ_ACTIONS,
    "key_by_tag": KEY_DECRYPT_ACTIONS,
}

_SERVICE_SIDS = {"secretsmanager": "SecretsManager", "ssm": "Ssm"}


@dataclass(frozen=True)
class Resource:
    """A statement resource: the CDK string that goes into the template and its resolved form."""

    value: str
    resolved: Any
    max_chars: int
    # Why a wildcard in this resource is unavoidable (else the statement's reason applies).
    reason: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return sort_key(self.resolved)


@dataclass(frozen=True)
class Statement:
    """An Allow statement, kept in the form the template will have."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[Resource, ...]
    condition: dict[str, dict[str, Any]] | None = None
    condition_resolved: Any = None
    # Why the statement exists, for cdk-nag acknowledgments of its wildcards.
    reason: str = field(default="", compare=False)

    def with_resources(self, resources: Sequence[Resource]) -> Statement:
        return Statement(
            self.sid,
            self.actions,
            tuple(resources),
            self.condition,
            self.condition_resolved,
            self.reason,
        )

    def to_json(self) -> dict[str, Any]:
        """The statement with CDK strings, ready for ``iam.PolicyStatement.from_json``."""
        document: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": list(self.actions) if len(self.actions) > 1 else self.actions[0],
            "Resource": (
                [resource.value for resource in self.resources]
                if len(self.resources) > 1
                else self.resources[0].value
            ),
        }
        if self.condition:
            document["Condition"] = self.condition
        return document


def _unique_sorted(resources: Sequence[Resource]) -> tuple[Resource, ...]:
    by_key: dict[str, Resource] = {}
    for resource in resources:
        by_key.setdefault(resource.key, resource)
    return tuple(by_key[key] for key in sorted(by_key))


def build_statements(
    needs: Sequence[Need],
    resolve: Callable[[Any], Any],
    *,
    url_suffix: str,
    pseudo_max_chars: Mapping[str, int] | None = None,
) -> list[Statement]:
    """Turn needs into the role's statements, in a fixed order, without duplicates.

    :param needs: what the task families need.
    :param resolve: resolves a CDK string to its template form (``Stack.resolve``).
    :param url_suffix: the stack's URL suffix token, for ``kms:ViaService`` values.
    :param pseudo_max_chars: the length of pseudo parameters known for the stack (the
        partition of a stack in a known region), used instead of their longest value.
    """

    # One resolve for every ARN: each resolve is a call into aws-cdk-lib.
    resolved_arns = dict(zip(needs, resolve([need.arn for need in needs]), strict=True))

    def resource(need: Need) -> Resource:
        resolved = resolved_arns[need] if need in resolved_arns else resolve(need.arn)
        return Resource(
            need.arn,
            resolved,
            max_chars(resolved, UNRESOLVED_ARN_MAX_CHARS[need.kind], pseudo_max_chars),
            need.reason,
        )

    by_kind: dict[str, list[Need]] = {}
    for need in needs:
        by_kind.setdefault(need.kind, []).append(need)

    def resources_of(kind: str) -> tuple[Resource, ...]:
        return _unique_sorted([resource(need) for need in by_kind.get(kind, ())])

    statements: list[Statement] = []
    repositories = resources_of("repository")
    pull_through = resources_of("pull_through")
    if repositories or pull_through:
        statements.append(
            Statement(
                "EcrAuthorizationToken",
                (ECR_TOKEN_ACTION,),
                (Resource("*", "*", 3),),
                reason="ecr:GetAuthorizationToken supports no resource-level permissions; "
                "image pulls are scoped to repositories in the EcrImagePull statement.",
            )
        )
    if repositories:
        statements.append(Statement("EcrImagePull", ECR_PULL_ACTIONS, repositories))
    if pull_through:
        statements.append(Statement("EcrPullThroughCache", PULL_THROUGH_ACTIONS, pull_through))
    tagging = resources_of("pull_through_tagging")
    if tagging:
        statements.append(
            Statement("EcrPullThroughCacheTagging", PULL_THROUGH_TAGGING_ACTIONS, tagging)
        )
    log_writes = _unique_sorted([*resources_of("log_group"), *resources_of("log_stream")])
    if log_writes:
        statements.append(
            Statement(
                "LogsWrite",
                LOGS_WRITE_ACTIONS,
                log_writes,
                reason="The awslogs driver creates one log stream per container and task "
                "(prefix/container/task-id), unknown before launch; the wildcard covers only "
                "streams of this log group.",
            )
        )
    log_groups_to_create = resources_of("log_group_create")
    if log_groups_to_create:
        statements.append(
            Statement("LogsCreateGroup", LOGS_CREATE_GROUP_ACTIONS, log_groups_to_create)
        )
    secrets = resources_of("secret")
    if secrets:
        statements.append(Statement("SecretsRead", SECRET_READ_ACTIONS, secrets))
    parameters = resources_of("parameter")
    if parameters:
        statements.append(Statement("ParametersRead", PARAMETER_READ_ACTIONS, parameters))
    s3_objects = resources_of("s3_object")
    if s3_objects:
        statements.append(Statement("S3FilesRead", S3_OBJECT_ACTIONS, s3_objects))
        statements.append(
            Statement("S3FilesBucketLocation", S3_BUCKET_ACTIONS, resources_of("s3_bucket"))
        )
    statements.extend(_key_statements(by_kind.get("key", ()), resource, resolve, url_suffix))
    statements.extend(_tag_statements(by_kind, resource, resolve, url_suffix))
    return statements


def _key_statements(
    key_needs: Sequence[Need],
    resource: Callable[[Need], Resource],
    resolve: Callable[[Any], Any],
    url_suffix: str,
) -> list[Statement]:
    # One key can serve secrets and parameters: merge the services each key is used through.
    keys: dict[str, tuple[Resource, set[str], str]] = {}
    for need in key_needs:
        key_resource = resource(need)
        entry = keys.setdefault(key_resource.key, (key_resource, set(), need.region))
        entry[1].update(need.services)
    # Keys that share the same kms:ViaService values (services and region) share a statement.
    groups: dict[str, tuple[tuple[str, ...], list[str], Any, list[Resource]]] = {}
    for key_resource, services, region in keys.values():
        ordered = tuple(sorted(services))
        via = [f"{service}.{region}.{url_suffix}" for service in ordered]
        via_resolved = resolve(via)
        group = groups.setdefault(sort_key(via_resolved), (ordered, via, via_resolved, []))
        group[3].append(key_resource)
    statements = []
    sid_counts: dict[str, int] = {}
    for group_key in sorted(groups):
        group_services, via, via_resolved, key_resources = groups[group_key]
        base_sid = "KmsDecryptVia" + "And".join(_SERVICE_SIDS[s] for s in group_services)
        sid_counts[base_sid] = sid_counts.get(base_sid, 0) + 1
        count = sid_counts[base_sid]
        single = len(via) == 1
        statements.append(
            Statement(
                base_sid if count == 1 else f"{base_sid}{count}",
                KEY_DECRYPT_ACTIONS,
                _unique_sorted(key_resources),
                condition={"StringEquals": {"kms:ViaService": via[0] if single else via}},
                condition_resolved={
                    "StringEquals": {"kms:ViaService": via_resolved[0] if single else via_resolved}
                },
            )
        )
    return statements


_TAG_REASON = (
    "Tag-scoped: the resource part names every {what} of the account and region, and the "
    "aws:ResourceTag condition allows only those carrying the tag; the role stays one size "
    "however many task families use it."
)


def _tag_statements(
    by_kind: dict[str, list[Need]],
    resource: Callable[[Need], Resource],
    resolve: Callable[[Any], Any],
    url_suffix: str,
) -> list[Statement]:
    statements: list[Statement] = []
    layout = (
        ("secret_by_tag", "SecretsReadByTag", SECRET_READ_ACTIONS, "secret", ()),
        ("parameter_by_tag", "ParametersReadByTag", PARAMETER_READ_ACTIONS, "parameter", ()),
        ("key_by_tag", "KmsDecryptByTag", KEY_DECRYPT_ACTIONS, "key", ("secretsmanager", "ssm")),
    )
    for kind, sid, actions, what, services in layout:
        needs = by_kind.get(kind, ())
        if not needs:
            continue
        need = needs[0]
        condition: dict[str, Any] = {f"aws:ResourceTag/{key}": value for key, value in need.tags}
        if services:
            condition["kms:ViaService"] = [
                f"{service}.{need.region}.{url_suffix}" for service in services
            ]
        statements.append(
            Statement(
                sid,
                actions,
                _unique_sorted([resource(n) for n in needs]),
                condition={"StringEquals": condition},
                condition_resolved=resolve({"StringEquals": condition}),
                reason=_TAG_REASON.format(what=what),
            )
        )
    return statements
