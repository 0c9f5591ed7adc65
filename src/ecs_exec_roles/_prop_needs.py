"""The needs of one call's checked props: every kind of need, in one fixed order.

Each CDK object is read (and checked) once here, before anything is built from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._declarations import switches
from ._features import (
    container_assets_needs,
    credential_spec_needs,
    environment_file_needs,
    firelens_config_needs,
    image_asset_repositories,
    log_group_create_needs,
    log_stream_needs,
    pull_through_needs,
)
from ._firelens import router_image_needs
from ._guardduty import guardduty_needs
from ._kinds import Kind
from ._needs import (
    Need,
    Probe,
    key_needs,
    log_group_needs,
    parameter_needs,
    repository_needs,
    secret_needs,
)

if TYPE_CHECKING:
    from constructs import Construct

    from ._plan import Plan
    from ._props import ResourceProps

__all__ = ["add_props", "needs_of_props"]


def needs_of_props(
    scope: Construct,
    where: str,
    props: ResourceProps,
    probe: Probe | None = None,
    *,
    named_in_props: bool = True,
    account: str = "",
) -> list[Need]:
    """The needs of one call's checked props, reading (and checking) each CDK object once.

    :param probe: reads what an object grants for itself (a SecureString parameter's key).
    :param named_in_props: whether the role's owner takes ``repositories`` (the aspect does
        not), for the fix of an AWS-owned repository the library does not know.
    :param account: the role's account, which a log group's must be (awslogs writes to the
        task's own account).
    """
    # Checked under their own prop name before they join the log groups written to.
    created = log_group_create_needs(where, props.log_groups_to_create)
    asset_repositories = image_asset_repositories(where, props.image_assets)
    repositories = repository_needs(where, "repositories", props.repositories)
    needs = repositories + repository_needs(where, "image_assets", asset_repositories)
    group_needs: list[Need] = []
    if props.log_writes:
        group_needs = log_group_needs(where, "log_groups", props.log_groups, account)
        group_needs += log_group_needs(
            where, "log_groups_to_create", props.log_groups_to_create, account
        )
    scoped_streams = bool(props.log_stream_prefixes) and props.log_writes
    if not scoped_streams:
        needs += group_needs
    needs += secret_needs(where, "secrets", props.secrets, account, props.keys)
    needs += secret_needs(
        where, "registry_credentials", props.registry_credentials, account, props.keys
    )
    needs += parameter_needs(where, "parameters", props.parameters, probe)
    needs += key_needs(where, "keys", props.keys)
    if scoped_streams:
        needs += log_stream_needs(
            [need for need in group_needs if need.kind is Kind.LOG_GROUP],
            (*props.log_groups, *props.log_groups_to_create),
            props.log_stream_prefixes,
        )
    needs += created
    needs += environment_file_needs(scope, where, props.environment_files)
    needs += firelens_config_needs(scope, where, props.firelens_config_files)
    needs += credential_spec_needs(scope, where, props.credential_specs)
    needs += pull_through_needs(
        scope,
        where,
        props.pull_through_cache_prefixes,
        props.pull_through_cache_tagging,
        repositories,
    )
    needs += guardduty_needs(
        scope, where, props.guardduty_runtime_monitoring, named_in_props=named_in_props
    )
    needs += router_image_needs(
        scope, where, props.firelens_default_router, named_in_props=named_in_props
    )
    needs += container_assets_needs(scope, where, props.container_assets)
    return needs


def add_props(
    plan: Plan, scope: Construct, props: ResourceProps, probe: Probe | None = None
) -> None:
    """Add the needs of one call's checked props to ``plan``, and the switches it sets."""
    needs = needs_of_props(
        scope,
        plan.where,
        props,
        probe,
        named_in_props="repositories" in plan.takes,
        account=plan.account,
    )
    plan.add(needs, family=props.family)
    plan.switches.update(name for name in switches() if getattr(props, name, False) is True)
