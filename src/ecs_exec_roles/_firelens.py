"""FireLens log routers with AWS's image, in one place.

aws-cdk-lib adds a ``log-router`` container while it renders a task definition whose
containers log through ``awsfirelens`` without a router of their own: its image is the public
SSM parameter ``/aws/service/aws-for-fluent-bit/<tag>`` (the ``aws-for-fluent-bit`` repository
of an AWS-owned account of the region), it logs with ``awslogs`` to a log group aws-cdk-lib
creates, and aws-cdk-lib grants the execution role ECR pulls on ``*`` for the image. Apps and
libraries add routers with the same image under other names (from the SSM parameter, or with
aws-cdk-lib's own function, which grants the same pull on ``*``).

With ``firelens_default_router=True`` (or ``derive=True``) the role instead allows the
AWS-owned repository of the stack's region, and the log group of aws-cdk-lib's router, which
exists only once the task definition has been rendered: the finalizer renders the task
definitions that use the role before its statements are built (``_usage``), and
:func:`observe_default_routers` finds every container whose image is AWS's FireLens image
(``_reader``). The check then accounts for one pull on ``*`` per router it found
(:meth:`Routers.accounted_for`), and no more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_logs as logs

from ._aws_repositories import FLUENT_BIT
from ._cdk_internals import FIRELENS_LOG_GROUP_ID
from ._features import aws_owned_repository_need
from ._kinds import ECR_PULL_ACTIONS, ECR_TOKEN_ACTION, Kind
from ._needs import LazyOrigin, Need
from ._reader import Registry

if TYPE_CHECKING:
    from aws_cdk import aws_ecs as ecs
    from constructs import Construct

    from ._plan import Plan
    from ._usage import RoleUsage

__all__ = [
    "Routers",
    "is_router_image_grant",
    "observe_default_routers",
    "router_image_fix",
    "router_image_needs",
]


# The prop that asks a role to cover the default routers without deriving.
_SWITCH = FLUENT_BIT.prop


def router_image_needs(
    scope: Construct, where: str, enabled: bool, *, named_in_props: bool = True
) -> list[Need]:
    """Pulls from the AWS-owned aws-for-fluent-bit repository of the stack's region: the image
    of aws-cdk-lib's default FireLens log router.

    :param named_in_props: whether the role's owner takes ``repositories``.
    """
    if not enabled:
        return []
    return [aws_owned_repository_need(scope, where, FLUENT_BIT, named_in_props=named_in_props)]


@dataclass
class Routers:
    """The FireLens routers with AWS's image of a role's task definitions, found while they
    were rendered.

    :param needs: the log group each of aws-cdk-lib's routers in the role's stack writes to.
    :param tasks: the task definition of each router the role covers.
    :param errors: a message for each router in another stack, which the role cannot cover.
    """

    needs: list[Need] = field(default_factory=list)
    tasks: list[ecs.TaskDefinition] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def values(self) -> list[str]:
        return [need.arn for need in self.needs]

    def accounted_for(self, grants: Sequence[Mapping[str, Any]]) -> set[int]:
        """aws-cdk-lib's pull on ``*`` for the image of each router the role covers: one such
        grant per router, whoever rendered the task definition first."""
        shaped = [index for index, grant in enumerate(grants) if is_router_image_grant(grant)]
        return set(shaped[: len(self.tasks)])


def observe_default_routers(plan: Plan, usage: RoleUsage) -> Routers | None:
    """The default routers of the role's task definitions, when the plan covers them: asked
    for (``firelens_default_router=True``) or derived (``derive=True``).

    A derived role pulls the router's image from the AWS-owned repository of the region (the
    needs of its log group are derived from aws-cdk-lib's grant, scoped to its streams).
    """
    asked = _SWITCH in plan.switches
    if not (asked or plan.derive):
        return None
    found = Routers()
    for view in usage.tasks:
        names = [i.container for i in view.read.images if i.source.registry is Registry.FLUENT_BIT]
        if not names:
            continue
        task = view.entry.task
        if task.stack is not usage.stack and not plan.derive:
            # A derived role's needs for it go into the task's stack (``_derive``).
            found.errors.append(
                f"{plan.where}: the FireLens log router of {task.node.path} is in another "
                "stack than the role, whose router log group this role cannot name without a "
                "dependency cycle between the stacks. Add the router yourself with "
                "task.add_firelens_log_router(...) and a log group from this role's stack "
                "in `log_groups`."
            )
            continue
        found.tasks.extend(task for _ in names)
        if plan.derive:
            continue
        for name in names:
            # aws-cdk-lib's own router logs to the log group it creates under it; the log
            # group of a router the app added is in the app's `log_groups`.
            router = task.node.try_find_child(name) if not view.entry.is_l1 else None
            log_group = None
            if router is not None:
                log_group = router.node.try_find_child(FIRELENS_LOG_GROUP_ID)
            if isinstance(log_group, logs.LogGroup):
                found.needs.append(
                    Need(
                        Kind.LOG_GROUP,
                        log_group.log_group_arn,
                        LazyOrigin(task, "the default FireLens log router of "),
                    )
                )
    if found.tasks and not asked:
        found.needs.extend(
            router_image_needs(
                usage.owner, plan.where, True, named_in_props="repositories" in plan.takes
            )
        )
    return found


# What aws-cdk-lib grants the execution role for its default FireLens log router's image.
_ROUTER_IMAGE_ACTIONS = frozenset((ECR_TOKEN_ACTION, *ECR_PULL_ACTIONS))


def is_router_image_grant(grant: Mapping[str, Any]) -> bool:
    """Whether ``grant`` (resolved) has the shape of the pull on ``*`` aws-cdk-lib makes for
    its default router's image."""
    actions = grant.get("Action")
    actions = [actions] if isinstance(actions, str) else actions or []
    return (
        grant.get("Effect", "Allow") == "Allow"
        and grant.get("Resource") in ("*", ["*"])
        and "Condition" not in grant
        and set(actions) == _ROUTER_IMAGE_ACTIONS
    )


_ECR_PULL = frozenset(action.lower() for action in ECR_PULL_ACTIONS)


def router_image_fix(action: str, resource: str) -> str | None:
    """How to fix an ECR pull on ``*``: aws-cdk-lib grants one for its default router."""
    if resource != "*" or action not in _ECR_PULL:
        return None
    return (
        "this role names repositories, never '*'; aws-cdk-lib grants ECR "
        "on '*' for its default FireLens log router: pass "
        "firelens_default_router=True (pulls from the aws-for-fluent-bit "
        "repository of the region only), or add the router with "
        "task.add_firelens_log_router(...) and an image from a repository "
        "in `repositories` (or from public.ecr.aws)"
    )
