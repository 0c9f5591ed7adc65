"""Derivation: the needs of the task definitions that use a role, observed at synth.

Two sources, both of which the synth-time check reads too:

- the grants aws-cdk-lib makes to the role for its task definitions, reduced to the actions
  ECS calls (``secretsmanager:GetSecretValue``, never ``DescribeSecret``; ``ssm:GetParameters``
  only; ``kms:Decrypt`` only through the service that uses the key);
- the containers, for what aws-cdk-lib grants nothing for: ECR images named by URI, ``awslogs``
  options (streams scoped to the stream prefix, ``awslogs-create-group``), environment files,
  FireLens configuration files and credential specs in S3 or SSM.

Each becomes a need scoped exactly as the props would scope it; what the plan's needs already
cover adds nothing. A grant derivation does not reduce to an exact resource (a wildcard, an
action ECS never calls, a file bucket's ``*``) is left to the check, which fails synth on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk

from ._cfn import canonical, flatten
from ._coverage import Cover, CoverIndex, covers_of
from ._derive_containers import DeriveContext, Stream, container_needs
from ._errors import ExecutionRoleError
from ._express import EXPRESS_LOG_GROUP_REASON
from ._kinds import (
    KEY_SERVICES,
    OTHER_ACCOUNT_SECRET,
    Kind,
    arn_account,
    decrypt_via,
    ecs_subset,
    log_group_elsewhere,
    other_account_logs,
)
from ._names import name_problem
from ._needs import (
    ContainerOrigin,
    LazyOrigin,
    Need,
    key_need,
)
from ._statements import build_statements

if TYPE_CHECKING:
    from constructs import Construct

    from ._plan import Plan
    from ._usage import GrantView, RoleUsage, SecretKeys, StackValues

__all__ = ["Derived", "observe_task_definitions"]

_STREAM_REASON = (
    "The awslogs driver names streams prefix/container/task-id, unknown before launch; the "
    "wildcard covers only streams under the task's stream prefix in this log group."
)
_LOG_GROUP_REASON = (
    "The awslogs driver creates one log stream per container and task, unknown before "
    "launch; the wildcard covers only streams of this log group."
)

# The kinds a grant is reduced to.
_GRANT_KINDS = (Kind.REPOSITORY, Kind.LOG_GROUP, Kind.SECRET, Kind.PARAMETER, Kind.KEY)
# Services ECS decrypts through with an execution role, as they name themselves in
# kms:ViaService.
_VIA_SERVICES = (Kind.SECRET.service, Kind.PARAMETER.service, Kind.S3_OBJECT.service)
_VIA_SERVICE = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<region>.+)\.amazonaws\.com(?:\.cn)?$")


class Derived:
    """The needs derived for a role (an observation of its plan): every need its grants and
    task definitions show, less those the plan covers (computed once the lifecycle has
    resolved ``values``, together with every other role's)."""

    def __init__(
        self,
        plan: Plan,
        values: StackValues,
        candidates: Sequence[Need],
        errors: Sequence[str] = (),
        secret_keys: SecretKeys | None = None,
        owner: Construct | None = None,
    ) -> None:
        self.errors: Sequence[str] = errors
        self._owner = owner
        self._secret_keys = secret_keys
        self._plan = plan
        self._stack_values = values
        self._candidates = candidates
        self._needs: list[Need] | None = None

    @property
    def values(self) -> list[str]:
        return [need.arn for need in self._candidates]

    @property
    def needs(self) -> list[Need]:
        if self._needs is None:
            self._needs = []  # while the plan's other needs are read below
            needs = _uncovered(self._plan, self._stack_values, self._candidates)
            # The keys of the secrets the plan does not cover yet, read from their objects.
            secrets = [need for need in needs if need.kind is Kind.SECRET]
            resolved = self._stack_values.resolve([need.arn for need in secrets])
            keys, errors = _secret_key_needs(
                self._plan.where, self._secret_keys, list(zip(secrets, resolved, strict=True))
            )
            errors += _keyless_other_account_secrets(
                self._plan, list(zip(secrets, resolved, strict=True)), keys
            )
            self._needs = needs
            self.errors = [*self.errors, *errors]
            self._needs = needs + _uncovered(self._plan, self._stack_values, keys)
        return self._needs

    def accounted_for(self, grants: Sequence[Mapping[str, Any]]) -> set[int]:
        """Reads of whole buckets the task definitions read files from (an environment-file
        asset's ``readers``): the role allows those files only, and a warning says so."""
        files = [need.arn for need in self._candidates if need.kind is Kind.S3_BUCKET]
        if not files:
            return set()
        buckets = {canonical(value) for value in self._stack_values.resolve(files)}
        narrowed = {index for index, grant in enumerate(grants) if _reads_in(grant, buckets)}
        if narrowed and self._owner is not None:
            shown = ", ".join(sorted(buckets))
            cdk.Annotations.of(self._owner).add_warning_v2(
                "ecs-exec-roles:bucket-read-narrowed",
                f"{self._plan.where}: the app grants the execution role reads of whole buckets "
                f"its task definitions read files from ({shown}; an environment file's "
                "`readers`, say). The role allows only the files they read.",
            )
        return narrowed


# What ECS reads of a bucket it takes files from.
_FILE_READS = frozenset(
    action for kind in (Kind.S3_OBJECT, Kind.S3_BUCKET) for action in kind.lowered_actions
)


def _reads_in(grant: Mapping[str, Any], buckets: set[str]) -> bool:
    """Whether ``grant`` (resolved) allows only ECS's file reads, on ``buckets`` or objects in
    them."""
    if grant.get("Effect", "Allow") != "Allow":
        return False
    if any(key in grant for key in ("Condition", "NotAction", "NotResource")):
        return False
    actions = set(ecs_subset(_as_list(grant.get("Action"))))
    resources = [canonical(resource) for resource in _as_list(grant.get("Resource"))]
    return (
        bool(actions)
        and actions <= _FILE_READS
        and bool(resources)
        and all(r in buckets or r.split("/", 1)[0] in buckets for r in resources)
    )


def observe_task_definitions(plan: Plan, usage: RoleUsage) -> Derived | None:
    """The needs of the role's task definitions that its plan does not cover yet."""
    if not plan.derive:
        return None
    context = DeriveContext(plan.where, usage)
    needs = _grant_needs(context) + _container_needs(context)
    return Derived(plan, usage.stack_values, needs, context.errors, usage.secret_keys, usage.owner)


# -- grants --------------------------------------------------------------------------------


def _grant_needs(context: DeriveContext) -> list[Need]:
    needs: list[Need] = []
    grants = context.usage.grants
    for index, grant in enumerate(grants):
        resolved = grant.resolved
        if resolved.get("Effect", "Allow") != "Allow" or "NotAction" in resolved:
            continue
        if "NotResource" in resolved:
            continue
        actions = set(ecs_subset(_as_list(resolved.get("Action"))))
        tokens = _as_list(grant.tokens.get("Resource"))
        templates = _as_list(resolved.get("Resource"))
        if len(tokens) != len(templates):
            # A list token (or a value that resolves to nothing): not one resource per string,
            # so nothing is derived from it; the check reports what it does not cover.
            continue
        resources = list(zip(tokens, templates, strict=True))
        for kind in _GRANT_KINDS:
            if not actions.intersection(action.lower() for action in kind.actions):
                continue
            for token, template in resources:
                if name_problem(kind, flatten(template)) is not None:
                    continue
                need = _grant_need(context, kind, token, template, grant, grants[index + 1 :])
                if need is not None:
                    needs.append(need)
    return needs


def _grant_need(
    context: DeriveContext,
    kind: Kind,
    token: str,
    template: Any,
    grant: GrantView,
    following: Sequence[GrantView],
) -> Need | None:
    origin = _grant_origin(grant)
    if kind is Kind.LOG_GROUP:
        # Scoped to the streams the containers write once their options are read.
        context.log_group_grants.append((token, template, grant))
        return None
    if kind is Kind.KEY:
        need = _key_need(context, token, template, grant, following, origin)
        return replace(need, home=context.home_of(grant)) if need is not None else None
    if kind is Kind.REPOSITORY:
        context.granted_repositories.add(flatten(template))
    return Need(kind, token, origin, home=context.home_of(grant))


def _secret_key_needs(
    where: str, keys: SecretKeys | None, secrets: Sequence[tuple[Need, Any]]
) -> tuple[list[Need], list[str]]:
    """The customer managed keys the objects of granted secrets hold, through Secrets
    Manager (and what cannot be allowed).

    aws-cdk-lib grants a secret's key to a ``ViaServicePrincipal``, which never reaches the
    role's own policy: the grant lands in the policy of a key of the app (which names the
    role), and nowhere for an imported key.

    :param secrets: the granted secrets' needs, with their template form.
    """
    by_arn = keys.by_arn() if keys is not None and secrets else {}
    needs: list[Need] = []
    errors: list[str] = []
    for need, template in secrets:
        holder = by_arn.get(canonical(template))
        if holder is None:
            continue
        secret, key = holder
        label = f"the encryption key of the secret {LazyOrigin(secret)}"
        try:
            found = key_need(where, "secrets", 0, key, (Kind.SECRET.service,), label=label)
            needs.append(replace(found, home=need.home))
        except ExecutionRoleError as error:
            errors.append(str(error))
    return needs, errors


def _keyless_other_account_secrets(
    plan: Plan, secrets: Sequence[tuple[Need, Any]], keys: Sequence[Need]
) -> list[str]:
    """A secret of another account the role reads, with no customer managed key of that
    account known to the role (from the secret's object, or ``keys``): the read cannot work
    (``_kinds.OTHER_ACCOUNT_SECRET``)."""
    if not plan.account.isdigit():
        return []
    accounts = {arn_account(need.arn) for need in [*plan.needs, *keys] if need.kind is Kind.KEY}
    errors = []
    for need, template in secrets:
        shown = flatten(template)
        owner = arn_account(shown)
        if owner and owner != plan.account and owner not in accounts:
            errors.append(
                f"{plan.where}: {need.origin} reads the secret {shown} of account {owner}, "
                f"with no customer managed key the role knows; {OTHER_ACCOUNT_SECRET} Import "
                "the secret with its key (secretsmanager.Secret.from_secret_attributes(scope, "
                "'Secret', secret_complete_arn=..., encryption_key=kms.Key.from_key_arn(...))), "
                "or name the key in `keys`."
            )
    return errors


def _key_need(
    context: DeriveContext,
    token: str,
    template: Any,
    grant: GrantView,
    following: Sequence[GrantView],
    origin: str | LazyOrigin | ContainerOrigin,
) -> Need | None:
    """Decryption with a key, through the service that uses it.

    aws-cdk-lib's grants name the service in ``kms:ViaService`` for a secret's key; a
    SecureString parameter's key is granted without a condition, right before the parameter's
    own grant (``ParameterBase.grantRead``), so the next grant names the service then.
    """
    via = _as_list(
        ((grant.tokens.get("Condition") or {}).get("StringEquals") or {}).get("kms:ViaService")
    )
    pairs = [match for value in via if (match := _VIA_SERVICE.match(str(value)))]
    if via and len(pairs) == len(via) and all(m["service"] in _VIA_SERVICES for m in pairs):
        region = pairs[0]["region"]
        services = tuple(sorted({m["service"] for m in pairs}))
        return Need(Kind.KEY, token, origin, region, services)
    if not via and following and _reads_parameters(following[0]):
        return Need(
            Kind.KEY, token, origin, _region_of(template, context.region), (Kind.PARAMETER.service,)
        )
    return None


def _reads_parameters(grant: GrantView) -> bool:
    actions = ecs_subset(_as_list(grant.resolved.get("Action")))
    return set(Kind.PARAMETER.lowered_actions) <= set(actions) and "Condition" not in grant.resolved


def _grant_origin(grant: GrantView) -> str | LazyOrigin:
    task = grant.record.task_definition
    return LazyOrigin(task, "a grant for ") if task is not None else "a grant to the role"


# -- containers ----------------------------------------------------------------------------


def _stream_need(context: DeriveContext, stream: Stream) -> Need:
    """Writes to the streams of a log group no grant names, under the stream's prefix."""
    suffix = f":log-stream:{stream.prefix}/*" if stream.prefix else ":*"
    kind = Kind.LOG_STREAM if stream.prefix else Kind.LOG_GROUP
    reason = _STREAM_REASON if stream.prefix else _LOG_GROUP_REASON
    wildcard = ""
    if stream.group_wildcard:
        # The log group ECS creates for an Express Mode service, named at deployment: the ARN
        # ends in the wildcard of its name.
        wildcard = stream.group_wildcard + suffix
        reason = EXPRESS_LOG_GROUP_REASON
    return Need(
        kind,
        stream.arn(context, suffix),
        stream.origin,
        reason=reason,
        home=stream.home,
        wildcard=wildcard,
    )


def _container_needs(context: DeriveContext) -> list[Need]:
    needs, streams = container_needs(context)
    return needs + _log_needs(context, streams)


def _log_needs(context: DeriveContext, streams: Sequence[Stream]) -> list[Need]:
    """Log writes: each granted log group scoped to the stream prefixes its containers use,
    then the log groups containers name without a grant, and the groups they create."""
    needs: list[Need] = []
    claimed: set[int] = set()
    # Each stream by the group it writes to (its name in template form, and its region), in
    # the stack its task definition is in: a log group's logical ID names it in its stack only.
    by_group: dict[tuple[str, str, int], list[tuple[int, Stream]]] = {}
    for index, stream in enumerate(streams):
        for region in (stream.region_key, ""):
            key = (stream.group_key, region, id(stream.home))
            by_group.setdefault(key, []).append((index, stream))
    for token, template, grant in context.log_group_grants:
        home = context.home_of(grant)
        uses = by_group.get((*_granted_group(template), id(home)), [])
        claimed.update(index for index, _ in uses)
        elsewhere = log_group_elsewhere(flatten(template), context.account)
        if uses and elsewhere is not None:
            first = uses[0][1]
            context.errors.append(
                f"{context.where}: {first.origin} writes to "
                + other_account_logs(first.group_key, elsewhere[1], context.account)
            )
            continue
        prefixes = sorted({stream.prefix for _, stream in uses})
        if not uses or "" in prefixes:
            needs.append(
                Need(
                    Kind.LOG_GROUP, token, _grant_origin(grant), reason=_LOG_GROUP_REASON, home=home
                )
            )
            continue
        first = uses[0][1]
        needs.extend(
            Need(
                Kind.LOG_STREAM,
                first.arn(context, f":log-stream:{prefix}/*"),
                first.origin,
                grant_aliases=(token,),
                reason=_STREAM_REASON,
                home=first.home,
            )
            for prefix in prefixes
        )
    for index, stream in enumerate(streams):
        if index not in claimed:
            needs.append(_stream_need(context, stream))
        if stream.create_group:
            needs.append(
                Need(
                    Kind.LOG_GROUP_CREATE, stream.arn(context, ""), stream.origin, home=stream.home
                )
            )
    return needs


# <LogicalId.Arn> of a log group of the app, or arn:<partition>:logs:<region>:<account>:
# log-group:<name>:* as the template names an imported one.
_GET_ATT_ARN = re.compile(r"^<(?P<logical_id>[A-Za-z0-9]+)\.Arn>$")
_LOG_GROUP_ARN = re.compile(
    r"^arn:(?:<AWS::Partition>|[^:]+):logs:(?P<region><AWS::Region>|[^:]+):"
    r"(?P<account><AWS::AccountId>|[^:]+):log-group:(?P<name>[^:]+):\*$"
)


def _granted_group(template: Any) -> tuple[str, str]:
    """The group a log-group grant names, as streams are indexed: ``(<LogicalId>, "")`` for a
    log group of the app, ``(name, region)`` for one named by its ARN."""
    flat = flatten(template)
    match = _GET_ATT_ARN.match(flat)
    if match:
        return f"<{match['logical_id']}>", ""
    match = _LOG_GROUP_ARN.match(flat)
    return (match["name"], match["region"]) if match else ("", "")


def _region_of(template: Any, default: str) -> str:
    flat = flatten(template)
    parts = flat.split(":")
    if len(parts) > 3 and parts[3] and not parts[3].startswith("<"):
        return parts[3]
    return default


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _uncovered(plan: Plan, values: StackValues, needs: Sequence[Need]) -> list[Need]:
    """``needs`` less those the plan's other needs allow already (a narrower duplicate, or a
    need a name-prefix or tag statement covers, adds nothing).

    A resource of the app is named by its logical ID, which names it in its own stack only:
    a need in another stack's template is compared with the plan's needs of that stack.
    """
    if not needs:
        return []
    resolve = values.resolve
    indexes: dict[int, CoverIndex] = {}

    def index_of(home: Any) -> CoverIndex:
        if id(home) not in indexes:
            others = [other for other in plan.needs if other.home is home]
            existing = build_statements(others, resolve, url_suffix=values.url_suffix)
            extra = plan.role_covers if home is None else []
            covers = covers_of(existing, others, extra, resolve, values.stream_pattern)
            indexes[id(home)] = CoverIndex([*covers, *_key_covers(others, resolve)])
        return indexes[id(home)]

    kept: list[Need] = []
    resolved = resolve([need.arn for need in needs])
    for need, template in zip(needs, resolved, strict=True):
        pattern = canonical(template)
        if need.kind is Kind.KEY:
            # A key is covered for a service only where the plan decrypts through it.
            asked = [decrypt_via(service) for service in need.services]
        else:
            asked = [action.lower() for action in need.kind.actions]
        homes = [need.home] if need.home is None or _LOCAL.search(pattern) else [need.home, None]
        if not any(all(index_of(h).allows(a, pattern) for a in asked) for h in homes):
            kept.append(need)
    return kept


# A part of a resolved value that names a resource of the template's stack (not a pseudo
# parameter).
_LOCAL = re.compile(r"<(?!AWS::)")


def _key_covers(needs: Sequence[Need], resolve: Callable[[Any], Any]) -> list[Cover]:
    """Each key of the plan, per service it may be used through."""
    keys = [need for need in needs if need.kind in (Kind.KEY, Kind.KEY_BY_TAG)]
    return [
        Cover(decrypt_via(service), canonical(template))
        for need, template in zip(keys, resolve([need.arn for need in keys]), strict=True)
        for service in (need.services or KEY_SERVICES)
    ]
