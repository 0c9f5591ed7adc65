"""The plan of one execution role: everything it must allow, gathered while the app is built.

A construct checks its props (``_props``), turns them into needs and adds them here; at synth
the plan takes what is observed in the app (aws-cdk-lib's default FireLens routers), is
sealed, and synthesis (``_synthesis``) and the checks (``_checks``) read it. Nothing reads a
construct's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._cfn import flatten
from ._coverage import Cover
from ._errors import ExecutionRoleError
from ._features import (
    container_assets_needs,
    environment_file_needs,
    firelens_config_needs,
    guardduty_needs,
    image_asset_repositories,
    log_group_create_needs,
    log_stream_needs,
    pull_through_needs,
)
from ._firelens import Routers, router_image_needs
from ._kinds import Kind
from ._needs import (
    Need,
    key_needs,
    log_group_needs,
    parameter_needs,
    repository_needs,
    secret_needs,
)

if TYPE_CHECKING:
    from constructs import Construct

    from ._props import ResourceProps, RoleOptions

__all__ = ["AwsManagedPolicy", "Plan", "needs_of_props"]


@dataclass(frozen=True)
class AwsManagedPolicy:
    """An AWS managed policy a kind of role comes with, and what it allows on ``*``.

    :param name: the name after ``arn:<partition>:iam::aws:policy/``.
    :param actions: the actions it allows on every resource.
    :param reason: why the role has it, for the cdk-nag acknowledgment of AwsSolutions-IAM4.
    """

    name: str
    actions: tuple[str, ...]
    reason: str


class Plan:
    """What one execution role must allow.

    :param where: the construct's path, for messages.
    :param options: the role's checked options.
    :param aws_managed_policies: AWS managed policies the kind of role comes with; they count
        toward ``max_managed_policies`` and what they allow counts as covered.
    """

    def __init__(
        self,
        where: str,
        options: RoleOptions,
        aws_managed_policies: Sequence[AwsManagedPolicy] = (),
    ) -> None:
        self.where = where
        self.options = options
        self.aws_managed_policies = tuple(aws_managed_policies)
        self._needs: list[Need] = []
        self._observed: list[Need] = []
        self._families: dict[str, list[Need]] = {}
        self.default_router = False
        #: The default FireLens routers found at synth, when ``default_router`` is set.
        self.routers: Routers | None = None
        self._sealed = False

    # -- while the app is built -------------------------------------------------------------

    def check_open(self) -> None:
        """Fail if synthesis has begun: the role's policies are built by then."""
        if self._sealed:
            raise ExecutionRoleError(
                f"{self.where}: resources were added after synthesis began; add them "
                "while building the app, before app.synth() or Template.from_stack()."
            )

    def add_props(self, scope: Construct, props: ResourceProps) -> None:
        """Add what one call's checked props need (of ``props.family``, when given)."""
        self.check_open()
        self.add(needs_of_props(scope, self.where, props), family=props.family)
        self.default_router = self.default_router or props.firelens_default_router

    def add(self, needs: Sequence[Need], *, family: str | None = None) -> None:
        """Add needs named by props (of ``family``, when given)."""
        self.check_open()
        if family is not None:
            self._families.setdefault(family, []).extend(needs)
        self._needs.extend(needs)

    # -- at synth ----------------------------------------------------------------------------

    def observe_routers(self, routers: Routers) -> None:
        """Add what the default FireLens routers of the role's tasks need."""
        self.routers = routers
        self._observed.extend(routers.needs)

    def seal(self) -> None:
        """Fix the needs: synthesis reads them once from here on."""
        self._sealed = True

    @property
    def sealed(self) -> bool:
        return self._sealed

    # -- what synthesis and the checks read --------------------------------------------------

    @property
    def needs(self) -> tuple[Need, ...]:
        """Every need: from props, then observed at synth."""
        return (*self._needs, *self._observed)

    @property
    def policy_limit(self) -> int:
        """How many customer-managed policies the role may have."""
        return self.options.max_managed_policies - len(self.aws_managed_policies)

    @property
    def role_covers(self) -> list[Cover]:
        """What the role's AWS managed policies allow."""
        return [
            Cover(action.lower(), "*")
            for policy in self.aws_managed_policies
            for action in policy.actions
        ]

    @property
    def families(self) -> Mapping[str, Sequence[Need]]:
        return self._families

    def family_report(self, resolve: Callable[[Any], Any]) -> Mapping[str, Sequence[str]]:
        """Each registered family and one ``kind: ARN`` line per resource it needs."""
        return {
            family: tuple(
                sorted({f"{need.kind.label}: {flatten(resolve(need.arn))}" for need in needs})
            )
            for family, needs in sorted(self._families.items())
        }


def needs_of_props(scope: Construct, where: str, props: ResourceProps) -> list[Need]:
    """The needs of one call's checked props, reading (and checking) each CDK object once."""
    # Checked under their own prop name before they join the log groups written to.
    created = log_group_create_needs(where, props.log_groups_to_create)
    asset_repositories = image_asset_repositories(where, props.image_assets)
    needs = repository_needs(where, "repositories", props.repositories)
    needs += repository_needs(where, "image_assets", asset_repositories)
    group_needs: list[Need] = []
    if props.log_writes:
        group_needs = log_group_needs(where, "log_groups", props.log_groups)
        group_needs += log_group_needs(where, "log_groups_to_create", props.log_groups_to_create)
    scoped_streams = bool(props.log_stream_prefixes) and props.log_writes
    if not scoped_streams:
        needs += group_needs
    needs += secret_needs(where, "secrets", props.secrets)
    needs += secret_needs(where, "registry_credentials", props.registry_credentials)
    needs += parameter_needs(where, "parameters", props.parameters)
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
    needs += pull_through_needs(
        scope, props.pull_through_cache_prefixes, props.pull_through_cache_tagging
    )
    needs += guardduty_needs(scope, where, props.guardduty_runtime_monitoring)
    needs += router_image_needs(scope, where, props.firelens_default_router)
    needs += container_assets_needs(scope, where, props.container_assets)
    return needs
