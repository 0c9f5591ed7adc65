"""Needs in, IAM statements out: the one place that decides what the role allows.

Every statement here is justified by a need ECS has when it prepares a task (see the
"Default settings" table in the README). The order of statements and of resources inside
them is fixed (by kind, then by the resolved resource), so the template does not change when
props are given in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._cfn import canonical, max_chars, sort_key
from ._kinds import BUCKET_OWNER_KEY, ECR_TOKEN_ACTION, KEY_SERVICES, Kind, Shape

if TYPE_CHECKING:
    from ._needs import Need

__all__ = ["Resource", "Statement", "build_statements"]

# How the kms:Decrypt statement names each service a key is used through.
_SERVICE_SIDS = {kind.service: kind.via_sid for kind in Kind if kind.via_sid}

# Why a statement's wildcards are unavoidable, for their cdk-nag acknowledgments.
_TOKEN_REASON = (
    "ecr:GetAuthorizationToken supports no resource-level permissions; "
    "image pulls are scoped to repositories in the EcrImagePull statement."
)
_LOGS_WRITE_REASON = (
    "The awslogs driver creates one log stream per container and task "
    "(prefix/container/task-id), unknown before launch; the wildcard covers only "
    "streams of this log group."
)
_TAG_REASON = (
    "Tag-scoped: the resource part names every {what} of the account and region, and the "
    "aws:ResourceTag condition allows only those carrying the tag; the role stays one size "
    "however many task families use it."
)


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
        return replace(self, resources=tuple(resources))

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
    """Resources in the order of their template form, each resource once: an ARN written with
    the stack's partition (read from an image URI) and the same ARN built from the partition
    token name one resource, written as the need that came first names it (a prop's, or a
    grant's, before what derivation reads from a container)."""
    by_resource: dict[str, Resource] = {}
    for resource in resources:
        by_resource.setdefault(canonical(resource.resolved), resource)
    by_key = {resource.key: resource for resource in by_resource.values()}
    return tuple(by_key[key] for key in sorted(by_key))


def build_statements(
    needs: Sequence[Need],
    resolve: Callable[[Any], Any],
    *,
    url_suffix: str,
    pseudo_max_chars: Mapping[str, int] | None = None,
    pull_condition: dict[str, Any] | None = None,
) -> list[Statement]:
    """Turn needs into the role's statements, in a fixed order, without duplicates.

    Statements follow the order of ``Kind``; kinds that share a statement id (log groups and
    log streams) share the statement.

    :param needs: what the task families need.
    :param resolve: resolves a CDK string to its template form (``Stack.resolve``).
    :param url_suffix: the stack's URL suffix token, for ``kms:ViaService`` values.
    :param pseudo_max_chars: the length of pseudo parameters known for the stack (the
        partition of a stack in a known region), used instead of their longest value.
    :param pull_condition: the ``StringEquals`` condition the image pulls carry (the VPC
        endpoints or VPCs they come through), if any.
    """
    # One resolve for every ARN: each resolve is a call into aws-cdk-lib.
    resolved_arns = dict(zip(needs, resolve([need.arn for need in needs]), strict=True))

    def resource(need: Need) -> Resource:
        resolved = resolved_arns[need] if need in resolved_arns else resolve(need.arn)
        return Resource(
            need.arn,
            resolved,
            max_chars(resolved, need.kind.longest_arn, pseudo_max_chars),
            need.reason,
        )

    by_kind: dict[Kind, list[Need]] = {}
    for need in needs:
        by_kind.setdefault(need.kind, []).append(need)
    statements: list[Statement] = []
    if Kind.REPOSITORY in by_kind or Kind.PULL_THROUGH in by_kind:
        statements.append(
            Statement(
                "EcrAuthorizationToken",
                (ECR_TOKEN_ACTION,),
                (Resource("*", "*", 3),),
                reason=_TOKEN_REASON,
            )
        )
    for sid, kinds in _statement_layout():
        shape = kinds[0].shape
        if shape is Shape.VIA_SERVICE:
            statements.extend(
                _key_statements(by_kind.get(Kind.KEY, ()), resource, resolve, url_suffix)
            )
            continue
        kind_needs = [need for kind in kinds for need in by_kind.get(kind, ())]
        if not kind_needs:
            continue
        if shape is Shape.OWNED:
            statements.extend(_owned_statements(sid, kinds[0], kind_needs, resource, resolve))
            continue
        resources = _unique_sorted([resource(need) for need in kind_needs])
        if shape is Shape.TAGGED:
            statements.append(_tag_statement(kinds[0], kind_needs, resources, resolve, url_suffix))
        elif kinds[0] is Kind.REPOSITORY and pull_condition:
            condition = {"StringEquals": pull_condition}
            statements.append(
                Statement(sid, kinds[0].actions, resources, condition, resolve(condition))
            )
        else:
            reason = _LOGS_WRITE_REASON if kinds[0] is Kind.LOG_GROUP else ""
            statements.append(Statement(sid, kinds[0].actions, resources, reason=reason))
    return statements


def _statement_layout() -> list[tuple[str, list[Kind]]]:
    """Statement ids in the order of ``Kind``, each with the kinds it holds."""
    layout: dict[str, list[Kind]] = {}
    for kind in Kind:
        layout.setdefault(kind.sid, []).append(kind)
    return list(layout.items())


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
        base_sid = Kind.KEY.sid + "And".join(_SERVICE_SIDS[s] for s in group_services)
        sid_counts[base_sid] = sid_counts.get(base_sid, 0) + 1
        count = sid_counts[base_sid]
        single = len(via) == 1
        statements.append(
            Statement(
                base_sid if count == 1 else f"{base_sid}{count}",
                Kind.KEY.actions,
                _unique_sorted(key_resources),
                condition={"StringEquals": {"kms:ViaService": via[0] if single else via}},
                condition_resolved={
                    "StringEquals": {"kms:ViaService": via_resolved[0] if single else via_resolved}
                },
            )
        )
    return statements


def _owned_statements(
    sid: str,
    kind: Kind,
    needs: Sequence[Need],
    resource: Callable[[Need], Resource],
    resolve: Callable[[Any], Any],
) -> list[Statement]:
    """One statement per bucket owner, each pinned to its owner's account (``_buckets``), in
    the order of the owners' template form; buckets without an owner (the condition switched
    off) in one statement without a condition, first."""
    owners = sorted({need.owner for need in needs})
    resolved_owners = dict(zip(owners, resolve(owners), strict=True)) if owners else {}
    groups: dict[str, tuple[str, list[Resource]]] = {}
    for need in needs:
        key = sort_key(resolved_owners[need.owner]) if need.owner else ""
        groups.setdefault(key, (need.owner, []))[1].append(resource(need))
    statements = []
    for index, key in enumerate(sorted(groups)):
        owner, resources = groups[key]
        condition = {"StringEquals": {BUCKET_OWNER_KEY: owner}} if owner else None
        statements.append(
            Statement(
                sid if index == 0 else f"{sid}{index + 1}",
                kind.actions,
                _unique_sorted(resources),
                condition=condition,
                condition_resolved=(
                    {"StringEquals": {BUCKET_OWNER_KEY: resolved_owners[owner]}} if owner else None
                ),
            )
        )
    return statements


def _tag_statement(
    kind: Kind,
    needs: Sequence[Need],
    resources: tuple[Resource, ...],
    resolve: Callable[[Any], Any],
    url_suffix: str,
) -> Statement:
    """Every resource of the account and region that carries the tags of ``needs``."""
    need = needs[0]
    condition: dict[str, Any] = {f"aws:ResourceTag/{key}": value for key, value in need.tags}
    if kind is Kind.KEY_BY_TAG:
        condition["kms:ViaService"] = [
            f"{service}.{need.region}.{url_suffix}" for service in KEY_SERVICES
        ]
    return Statement(
        kind.sid,
        kind.actions,
        resources,
        condition={"StringEquals": condition},
        condition_resolved=resolve({"StringEquals": condition}),
        reason=_TAG_REASON.format(what=kind.what),
    )
