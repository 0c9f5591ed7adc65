"""What the ECS agent asks IAM for with a task's execution role, as requests to evaluate.

The reader (``_reader``) finds what a task definition's containers need; here each need
becomes the API calls ECS makes at launch, each with the action, the resource's ARN (as text,
``_template``), the request context IAM sees (``kms:ViaService``) and the prop that allows it.
A value only deployment tells takes a form every deployed value matches: a log stream's task
ID and a partial secret ARN's random suffix are written as the patterns IAM would need
(``*``, ``??????``), which only a pattern at least as wide allows.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._assembly import Assembly
from ._aws_repositories import FLUENT_BIT_ACCOUNTS, FLUENT_BIT_REPOSITORY
from ._evaluate import ANY_VALUE, Request
from ._kinds import BUCKET_OWNER_KEY, ECR_PULL_ACTIONS, ECR_TOKEN_ACTION, OTHER_ACCOUNT_SECRET, Kind
from ._pull_through import ROOT, CacheRule, rule_for, rules_of_templates
from ._reader import (
    File,
    Registry,
    SecretRef,
    SecretSource,
    TaskRead,
)
from ._regions import partition_of_region
from ._symbols import PLACEHOLDER
from ._template import Template

__all__ = ["LaunchNeed", "task_requests"]

# The network a pull comes through (an ECR interface endpoint, its VPC): only deployment
# tells, so a condition on it holds (``ecr_pull_endpoints``, ``ecr_pull_vpcs``).
_PULL_NETWORK = {"aws:SourceVpce": ANY_VALUE, "aws:SourceVpc": ANY_VALUE}
_SECRET_READ = Kind.SECRET.actions
_PARAMETER_READ = Kind.PARAMETER.actions
_KEY_DECRYPT = Kind.KEY.actions


@dataclass(frozen=True)
class LaunchNeed:
    """Requests ECS makes for one need of one container.

    :param what: the need, for messages (``its image ...``, ``awslogs``).
    :param prop: the prop of the constructs that allows it.
    :param resource: the resource, as text.
    :param log_group: for awslogs, the log group's ARN (without streams).
    :param stream_prefix: for awslogs, the stream prefix.
    :param fix: the fix with the constructs' props, when not ``add the resource to prop``.
    """

    container: str
    what: str
    prop: str
    resource: str
    requests: tuple[Request, ...] = field(default=())
    log_group: str = ""
    stream_prefix: str = ""
    #: How the constructs' props allow it, where adding the resource to ``prop`` does not.
    fix: str = ""


def task_requests(assembly: Assembly, template: Template, read: TaskRead) -> Iterator[LaunchNeed]:
    """Every need of a task definition in ``template``, as the requests ECS makes."""
    builder = _Builder(assembly, template)
    for image in read.images:
        yield from builder.image(image.container, image.text, image.source)
    for logs in read.logs:
        yield from builder.logs(logs)
    for secret in read.secrets:
        yield from builder.secret(secret)
    for file in read.files:
        yield from builder.file(file)


class _Builder:
    def __init__(self, assembly: Assembly, template: Template) -> None:
        self.assembly = assembly
        self.template = template
        self.partition = assembly.pseudo(template, "AWS::Partition")
        self.region = assembly.pseudo(template, "AWS::Region")
        self.account = assembly.pseudo(template, "AWS::AccountId")

    def _need(
        self,
        container: str,
        what: str,
        prop: str,
        resource: str,
        actions: tuple[str, ...],
        context: Mapping[str, str] | None = None,
    ) -> LaunchNeed:
        requests = tuple(Request(action, resource, context or {}) for action in actions)
        return LaunchNeed(container, what, prop, resource, requests)

    # -- images ----------------------------------------------------------------------------------

    def image(self, container: str, text: str, source: Any) -> Iterator[LaunchNeed]:
        shown = self.assembly.symbols.display(text)
        if source.registry is Registry.ECR:
            arn, prop = source.repository_arn, "repositories"
        elif source.registry is Registry.FLUENT_BIT:
            account = self.assembly.region_mapping(self.template, FLUENT_BIT_ACCOUNTS)
            arn = Kind.REPOSITORY.arn(self.partition, self.region, account, FLUENT_BIT_REPOSITORY)
            prop = "firelens_default_router"
        else:
            return
        what = f"its image {shown}"
        yield self._need(container, what, prop, "*", (ECR_TOKEN_ACTION,))
        yield self._need(container, what, prop, arn, ECR_PULL_ACTIONS, _PULL_NETWORK)
        yield from _cache_needs(self.assembly, container, what, arn)

    # -- logs ------------------------------------------------------------------------------------

    def logs(self, logs: Any) -> Iterator[LaunchNeed]:
        region = logs.region
        known = None if PLACEHOLDER.search(region) else partition_of_region(region)
        partition = known or self.partition
        group_arn = Kind.LOG_GROUP.arn(partition, region, self.account, logs.group)
        # The driver names streams prefix/container-name/task-id, or the container's ID
        # without a prefix: a task's ID is unknown before launch.
        stream = f"{logs.prefix}/{logs.container}/*" if logs.prefix else "*"
        need = self._need(
            logs.container,
            "awslogs",
            "log_groups",
            f"{group_arn}:log-stream:{stream}",
            Kind.LOG_STREAM.actions,
        )
        yield replace(need, log_group=group_arn, stream_prefix=logs.prefix)
        if logs.create_group:
            yield self._need(
                logs.container,
                "awslogs-create-group",
                "log_groups_to_create",
                group_arn,
                Kind.LOG_GROUP_CREATE.actions,
            )

    # -- secrets ---------------------------------------------------------------------------------

    def secret(self, secret: SecretRef) -> Iterator[LaunchNeed]:
        what = _SECRET_PURPOSES[secret.purpose] + (f" {secret.name}" if secret.name else "")
        if secret.source is SecretSource.PARAMETER:
            yield self._need(
                secret.container,
                what,
                "parameters",
                secret.arn,
                _PARAMETER_READ,
                self._tags(self._parameter_of(secret.arn)),
            )
            return
        prop = "registry_credentials" if secret.purpose == "repositoryCredentials" else "secrets"
        # A secret named without its random suffix: the suffix is any six characters.
        arn = f"{secret.arn}-??????" if secret.partial else secret.arn
        found = self.assembly.resource_of(secret.arn, "AWS::SecretsManager::Secret")
        yield self._need(secret.container, what, prop, arn, _SECRET_READ, self._tags(found))
        key = None
        if found is not None:
            key = self._key_arn(found[0], found[0].properties(found[1]).get("KmsKeyId"))
            if key is None:
                yield from _aws_managed_key_need(self.assembly, self.account, secret, what, found)
        if key is not None:
            yield self._key_need(secret.container, f"the key of {what}", key, Kind.SECRET.service)

    def _parameter_of(self, arn: str) -> tuple[Template, str] | None:
        """The SSM parameter of the app with the ARN ``arn``: of that name, in a stack of
        that region and account."""
        parts = arn.split(":", 5)
        if len(parts) != 6:
            return None
        name = parts[5].removeprefix("parameter/")
        for candidate in (name, f"/{name}"):
            found = self.assembly.resource_of(candidate, "AWS::SSM::Parameter")
            if found is not None:
                region = self.assembly.pseudo(found[0], "AWS::Region")
                account = self.assembly.pseudo(found[0], "AWS::AccountId")
                return found if (region, account) == (parts[3], parts[4]) else None
        return None

    def _tags(self, resource: tuple[Template, str] | None) -> dict[str, str]:
        """The tags a resource carries, as the request context holds them: those of its
        resource in the template, or any (a resource imported into the app)."""
        if resource is None:
            return {"aws:ResourceTag/*": ANY_VALUE}
        template, logical_id = resource
        tags = self.assembly.resolve(template, template.properties(logical_id).get("Tags"))
        if isinstance(tags, dict):  # an SSM parameter's tags are a map
            pairs = list(tags.items())
        else:
            pairs = [(t.get("Key"), t.get("Value")) for t in tags or [] if isinstance(t, dict)]
        return {
            f"aws:ResourceTag/{key}": value
            for key, value in pairs
            if isinstance(key, str) and isinstance(value, str)
        }

    def _key_arn(
        self, template: Template, key: Any
    ) -> tuple[str, str, tuple[Template, str] | None] | None:
        """A customer managed key's ARN, its region and its resource (when of the app)."""
        if key is None:
            return None
        region = self.assembly.pseudo(template, "AWS::Region")
        reference = None
        if isinstance(key, dict) and isinstance(key.get("Ref"), str):
            reference = key["Ref"]
        elif isinstance(key, dict) and isinstance(key.get("Fn::GetAtt"), list):
            reference = key["Fn::GetAtt"][0]
        if reference is not None and template.resource_type(reference) == "AWS::KMS::Key":
            arn = self.assembly.text(template, {"Fn::GetAtt": [reference, "Arn"]})
            return (arn, region, (template, reference)) if arn is not None else None
        text = self.assembly.text(template, key)
        if text is None or ":alias/" in text or text.startswith("alias/"):
            return None
        # A key's ARN names its own region; a key ID is of the resource's region.
        if Kind.KEY.name_in(text) is not None:
            return text, text.split(":")[3], None
        return Kind.KEY.arn(self.partition, region, self.account, text), region, None

    def _key_need(
        self,
        container: str,
        what: str,
        key: tuple[str, str, tuple[Template, str] | None],
        service: str,
    ) -> LaunchNeed:
        """The decryption of a customer managed key by ``service`` on the task's behalf."""
        key_arn, region, key_resource = key
        context = {"kms:ViaService": self._via(service, region), **self._tags(key_resource)}
        return self._need(container, what, "keys", key_arn, _KEY_DECRYPT, context)

    def _via(self, service: str, region: str) -> str:
        suffix = self.assembly.pseudo(self.template, "AWS::URLSuffix")
        return f"{service}.{region}.{suffix}"

    # -- files -----------------------------------------------------------------------------------

    def file(self, file: File) -> Iterator[LaunchNeed]:
        what, prop = _FILE_PURPOSES[file.purpose]
        if not file.in_s3:
            tags = self._tags(self._parameter_of(file.arn))
            yield self._need(file.container, what, prop, file.arn, _PARAMETER_READ, tags)
            return
        bucket = self._bucket(file.bucket_arn)
        owner = {BUCKET_OWNER_KEY: _bucket_owner(self.assembly, bucket)}
        yield self._need(file.container, what, prop, file.arn, Kind.S3_OBJECT.actions, owner)
        yield self._need(file.container, what, prop, file.bucket_arn, Kind.S3_BUCKET.actions, owner)
        key = self._bucket_key(bucket)
        if key is not None:
            yield self._key_need(
                file.container, f"the key of the bucket of {what}", key, Kind.S3_OBJECT.service
            )

    def _bucket(self, bucket_arn: str) -> tuple[Template, str] | None:
        """The bucket of the app with the ARN ``bucket_arn``."""
        name = bucket_arn.split(":::", 1)[1] if ":::" in bucket_arn else ""
        return self.assembly.resource_of(name, "AWS::S3::Bucket") if name else None

    def _bucket_key(
        self, bucket: tuple[Template, str] | None
    ) -> tuple[str, str, tuple[Template, str] | None] | None:
        """The customer managed key a bucket of the app encrypts with (SSE-KMS)."""
        if bucket is None:
            return None
        template, logical_id = bucket
        encryption = template.properties(logical_id).get("BucketEncryption") or {}
        rules = encryption.get("ServerSideEncryptionConfiguration") or []
        for rule in rules if isinstance(rules, list) else []:
            default = (rule or {}).get("ServerSideEncryptionByDefault") or {}
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
                return self._key_arn(template, default.get("KMSMasterKeyID"))
        return None


def _aws_managed_key_need(
    assembly: Assembly, account: str, secret: SecretRef, what: str, found: tuple[Template, str]
) -> Iterator[LaunchNeed]:
    """A secret of the app in a stack of another account, without a customer managed key:
    the AWS managed key it uses cannot serve a role of another account, so no role allows the
    decryption (``_kinds.OTHER_ACCOUNT_SECRET``)."""
    owner = assembly.pseudo(found[0], "AWS::AccountId")
    if not (owner.isdigit() and account.isdigit()) or owner == account:
        return
    region = assembly.pseudo(found[0], "AWS::Region")
    partition = assembly.pseudo(found[0], "AWS::Partition")
    alias = f"arn:{partition}:kms:{region}:{owner}:alias/aws/secretsmanager"
    label = assembly.label(found[0], found[1])
    yield LaunchNeed(
        secret.container,
        f"the AWS managed key of {what} ({label}, of account {owner})",
        "secrets",
        alias,
        tuple(Request(action, alias, {}) for action in _KEY_DECRYPT),
        fix=f"give the secret a customer managed key (encryption_key=...): {OTHER_ACCOUNT_SECRET}",
    )


def _cache_needs(assembly: Assembly, container: str, what: str, arn: str) -> Iterator[LaunchNeed]:
    """The cache actions on an image's repository, when a pull-through cache rule of the
    assembly pulls it (``_pull_through``)."""
    rule = rule_for(_cache_rules(assembly), arn)
    if rule is None:
        return
    actions = Kind.PULL_THROUGH.actions + Kind.PULL_THROUGH_TAGGING.actions * rule.tagging
    fix = f"add the rule's prefix {rule.prefix!r} to `pull_through_cache_prefixes`"
    if rule.prefix == ROOT:
        fix += " and the repository to `repositories`"
    yield LaunchNeed(
        container,
        f"{what}, pulled through the cache rule {rule.where}",
        "pull_through_cache_prefixes",
        arn,
        tuple(Request(action, arn, {}) for action in actions),
        fix=fix,
    )


_RULES: weakref.WeakKeyDictionary[Assembly, list[CacheRule]] = weakref.WeakKeyDictionary()


def _cache_rules(assembly: Assembly) -> list[CacheRule]:
    """The pull-through cache rules of the assembly's templates, read once per assembly."""
    if assembly not in _RULES:
        _RULES[assembly] = rules_of_templates(
            (
                template.resource_type(logical_id),
                assembly.pseudo(template, "AWS::AccountId"),
                assembly.pseudo(template, "AWS::Region"),
                assembly.label(template, logical_id),
                assembly.resolve(template, template.properties(logical_id)),
            )
            for template in assembly.templates
            for logical_id in template.resources
            if template.resource_type(logical_id).startswith("AWS::ECR::")
        )
    return _RULES[assembly]


def _bucket_owner(assembly: Assembly, bucket: tuple[Template, str] | None) -> str:
    """The account owning a bucket: its stack's for a bucket of the app; any for one imported
    into the app, whose owner the templates do not show."""
    return ANY_VALUE if bucket is None else assembly.pseudo(bucket[0], "AWS::AccountId")


_SECRET_PURPOSES = {
    "secrets": "its secret",
    "secretOptions": "its log driver secret option",
    "repositoryCredentials": "its registry credentials",
}
_FILE_PURPOSES = {
    "environmentFiles": ("its environment file", "environment_files"),
    "firelensConfiguration": ("its FireLens config file", "firelens_config_files"),
    "credentialSpecs": ("its credential spec", "credential_specs"),
}
