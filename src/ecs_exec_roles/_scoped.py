"""SharedExecutionRole's scoped modes: every resource under a name prefix, or with a tag.

Both trade exact enumeration for a role of constant size (see the README's trade-off); the
props are checked in ``_props.ScopedProps``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk

from ._kinds import Kind
from ._needs import Need
from ._trust import stack_environment

if TYPE_CHECKING:
    from constructs import Construct

    from ._props import ScopedProps

__all__ = ["scoped_needs"]

_PREFIX_REASON = (
    "Scoped mode chosen by the user (SharedExecutionRole name prefixes): every {what} whose "
    "name starts with the prefix, so the role stays one size however many task families "
    "use it."
)

# Each name-prefix prop and the kind of the resources it names.
_PREFIX_PROPS = (
    ("repository_prefixes", Kind.REPOSITORY),
    ("log_group_prefixes", Kind.LOG_GROUP),
    ("secret_prefixes", Kind.SECRET),
    ("parameter_prefixes", Kind.PARAMETER),
)


def scoped_needs(scope: Construct, props: ScopedProps) -> list[Need]:
    """The needs of the name prefixes, then of the resource tags."""
    return _prefix_needs(scope, props) + _tag_needs(scope, props.resource_tags)


def _prefix_needs(scope: Construct, props: ScopedProps) -> list[Need]:
    """Needs that name every resource under a name prefix, for scale without enumeration."""
    partition, region, account = stack_environment(cdk.Stack.of(scope))
    needs: list[Need] = []
    for prop, kind in _PREFIX_PROPS:
        for prefix in getattr(props, prop):
            # Parameter ARNs hold the name without its leading "/".
            name = prefix.removeprefix("/") if kind is Kind.PARAMETER else prefix
            needs.append(
                Need(
                    kind,
                    f"arn:{partition}:{kind.service}:{region}:{account}:{kind.marker}{name}*",
                    f"{prop} {prefix!r}",
                    reason=_PREFIX_REASON.format(what=kind.what),
                    wildcard="*",
                )
            )
    return needs


def _tag_needs(scope: Construct, tags: tuple[tuple[str, str], ...]) -> list[Need]:
    """Secrets, parameters and keys of the account and region that carry the given tags."""
    if not tags:
        return []
    stack = cdk.Stack.of(scope)
    head = f"arn:{stack.partition}"
    tail = f"{stack.region}:{stack.account}"
    origin = f"resource_tags {dict(tags)!r}"
    return [
        Need(
            kind,
            f"{head}:{kind.service}:{tail}:{kind.marker}*",
            origin,
            stack.region if kind is Kind.KEY_BY_TAG else "",
            tags=tags,
        )
        for kind in (Kind.SECRET_BY_TAG, Kind.PARAMETER_BY_TAG, Kind.KEY_BY_TAG)
    ]
