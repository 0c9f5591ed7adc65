"""The policy and trust policy an audited role should have, ready to paste.

What the role's task definitions need at launch (``_requests``) becomes the library's needs
and then its statements (``_statements``), so the audit recommends exactly what the
constructs would write for the same tasks: exact resources, one statement per kind, the
``kms:ViaService`` and bucket-owner conditions, and a trust policy with the confused-deputy
conditions (``_trust``). Values the templates do not resolve stay in the policy as their
labels (``<...>``), for the reader to fill in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ._evaluate import ANY_VALUE, Request
from ._kinds import BUCKET_OWNER_KEY, ECR_TOKEN_ACTION, Kind, Shape, kind_of_action
from ._needs import Need
from ._requests import LaunchNeed
from ._statements import build_statements
from ._symbols import Symbols
from ._trust import ASSUME_ROLE_ACTION, ECS_TASKS_SERVICE, confused_deputy_conditions

__all__ = ["granted_requests", "recommended_policy", "recommended_trust"]

_POLICY_VERSION = "2012-10-17"


def recommended_policy(
    needs: Iterable[LaunchNeed], symbols: Symbols, *, url_suffix: str, account: str
) -> dict[str, Any]:
    """The identity policy that allows exactly ``needs``.

    :param url_suffix: the role's stack's URL suffix, for ``kms:ViaService``.
    :param account: the role's account: the owner of a bucket whose owner the templates do
        not show (the constructs' default).
    """
    library_needs = [need for launch in needs for need in _needs_of(launch, account, url_suffix)]
    statements = build_statements(
        list(dict.fromkeys(library_needs)), lambda value: value, url_suffix=url_suffix
    )
    return {
        "Version": _POLICY_VERSION,
        "Statement": [_shown(statement.to_json(), symbols) for statement in statements],
    }


def recommended_trust(
    partition: str,
    regions: Sequence[str],
    account: str,
    symbols: Symbols,
    *,
    conditions: bool = True,
) -> dict[str, Any]:
    """The trust policy for tasks of ``account`` in ``regions`` (any region for several),
    with the confused-deputy conditions unless ``conditions`` is false (a role AWS Batch
    uses, as the constructs write it)."""
    region = regions[0] if len(set(regions)) == 1 else "*"
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": ECS_TASKS_SERVICE},
        "Action": ASSUME_ROLE_ACTION,
    }
    if conditions:
        statement["Condition"] = confused_deputy_conditions(partition, region, account)
    return {"Version": _POLICY_VERSION, "Statement": [_shown(statement, symbols)]}


def _shown(value: Any, symbols: Symbols) -> Any:
    """``value`` with each placeholder as its label (JSON keeps its shape)."""
    if isinstance(value, str):
        return symbols.display(value)
    if isinstance(value, list):
        return [_shown(item, symbols) for item in value]
    if isinstance(value, dict):
        return {key: _shown(item, symbols) for key, item in value.items()}
    return value


def granted_requests(launch: LaunchNeed) -> tuple[Request, ...]:
    """The requests of a launch need as the constructs allow them: an ``awslogs`` stream by
    its prefix (``prefix/*``, the unit ``log_stream_prefixes`` names), not by its container,
    so that one statement serves every container of the prefix."""
    if not (launch.log_group and launch.stream_prefix):
        return launch.requests
    streams = f"{launch.log_group}:log-stream:{launch.stream_prefix}/*"
    return tuple(
        replace(request, resource=streams) if request.resource == launch.resource else request
        for request in launch.requests
    )


def _needs_of(launch: LaunchNeed, account: str, url_suffix: str) -> list[Need]:
    """The library's needs for one launch need: its kind read from the actions and the
    resource, the services and region of a key from ``kms:ViaService``, a bucket's owner
    from ``aws:ResourceAccount``."""
    needs = []
    for request in granted_requests(launch):
        if request.action == ECR_TOKEN_ACTION:
            continue  # comes with every repository
        kind = _kind_of(request.action, request.resource)
        if kind is None:
            continue
        if kind is Kind.KEY:
            via = str(request.context.get("kms:ViaService", ""))
            service, _, rest = via.partition(".")
            if not service:
                continue  # no role can use it (the AWS managed key of another account)
            region = rest.removesuffix(f".{url_suffix}")
            needs.append(Need(kind, request.resource, "", region=region, services=(service,)))
            continue
        owner = str(request.context.get(BUCKET_OWNER_KEY, ""))
        if kind.shape is Shape.OWNED:
            owner = account if owner in ("", ANY_VALUE) else owner
            needs.append(Need(kind, request.resource, "", owner=owner))
            continue
        needs.append(Need(kind, request.resource, ""))
    return needs


def _kind_of(action: str, resource: str) -> Kind | None:
    """The kind of a request (``kind_of_action``), a log stream told from its log group by
    the resource."""
    kind = kind_of_action(action.lower())
    if kind is Kind.LOG_GROUP and ":log-stream:" in resource:
        return Kind.LOG_STREAM
    return kind
