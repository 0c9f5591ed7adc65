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

# (prop, kind, service, ARN resource type up to the name, what the reason calls it)
_PREFIX_LAYOUT = (
    ("repository_prefixes", Kind.REPOSITORY, "ecr", "repository/", "repository"),
    (
        "log_group_prefixes",
        Kind.LOG_GROUP,
        "logs",
        "log-group:",
        "log group (and its streams)",
    ),
    ("secret_prefixes", Kind.SECRET, "secretsmanager", "secret:", "secret"),
    ("parameter_prefixes", Kind.PARAMETER, "ssm", "parameter/", "parameter"),
)


def scoped_needs(scope: Construct, props: ScopedProps) -> list[Need]:
    """The needs of the name prefixes, then of the resource tags."""
    return _prefix_needs(scope, props) + _tag_needs(scope, props.resource_tags)


def _prefix_needs(scope: Construct, props: ScopedProps) -> list[Need]:
    """Needs that name every resource under a name prefix, for scale without enumeration."""
    partition, region, account = stack_environment(cdk.Stack.of(scope))
    needs: list[Need] = []
    for prop, kind, service, resource_type, what in _PREFIX_LAYOUT:
        for prefix in getattr(props, prop):
            # Parameter ARNs hold the name without its leading "/".
            name = prefix.removeprefix("/") if kind is Kind.PARAMETER else prefix
            needs.append(
                Need(
                    kind,
                    f"arn:{partition}:{service}:{region}:{account}:{resource_type}{name}*",
                    f"{prop} {prefix!r}",
                    reason=_PREFIX_REASON.format(what=what),
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
        Need(Kind.SECRET_BY_TAG, f"{head}:secretsmanager:{tail}:secret:*", origin, tags=tags),
        Need(Kind.PARAMETER_BY_TAG, f"{head}:ssm:{tail}:parameter/*", origin, tags=tags),
        Need(Kind.KEY_BY_TAG, f"{head}:kms:{tail}:key/*", origin, stack.region, tags=tags),
    ]
