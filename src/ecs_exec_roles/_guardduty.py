"""The GuardDuty Runtime Monitoring agent, in one place.

When GuardDuty monitors a cluster's Fargate tasks it adds its agent to each task as it starts:
no template shows it. ECS pulls the agent's image with the task's execution role, from an
AWS-owned repository of the region (``_aws_repositories``); a role scoped to the app's own
repositories denies the pull and the task does not start.

``guardduty_runtime_monitoring=True`` allows that repository (:func:`guardduty_needs`). Apps
without it often grant ECR pulls on ``*`` for the agent: on a role given the switch such a grant
is taken as the agent's, and the role names the agent's repository instead
(:func:`observe_agent_pulls`); on a role without it, the gap's fix names the switch
(:func:`agent_pull_fix`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._aws_repositories import GUARDDUTY_AGENT
from ._features import aws_owned_repository_need
from ._kinds import ECR_PULL_ACTIONS, ECR_TOKEN_ACTION

if TYPE_CHECKING:
    from constructs import Construct

    from ._coverage import FixHint
    from ._needs import Need
    from ._plan import Plan
    from ._usage import RoleUsage

__all__ = ["AgentPulls", "agent_pull_fix", "guardduty_needs", "observe_agent_pulls"]

# The prop that allows the agent's repository.
_SWITCH = GUARDDUTY_AGENT.prop
# What an agent's grant holds: the ECR token and pulls, nothing else.
_AGENT_ACTIONS = frozenset(action.lower() for action in (ECR_TOKEN_ACTION, *ECR_PULL_ACTIONS))
_PULLS = frozenset(action.lower() for action in ECR_PULL_ACTIONS)


def guardduty_needs(
    scope: Construct, where: str, enabled: bool, *, named_in_props: bool = True
) -> list[Need]:
    """Pulls from the AWS-owned GuardDuty agent repository of the stack's region.

    :param named_in_props: whether the role's owner takes ``repositories``.
    """
    if not enabled:
        return []
    return [aws_owned_repository_need(scope, where, GUARDDUTY_AGENT, named_in_props=named_in_props)]


class AgentPulls:
    """The grants of ECR pulls on ``*`` a role given the switch takes as the agent's."""

    needs: Sequence[Need] = ()
    values: Sequence[str] = ()
    errors: Sequence[str] = ()

    def accounted_for(self, grants: Sequence[Mapping[str, Any]]) -> set[int]:
        """Every grant of the ECR token and pulls, and nothing else, on ``*`` alone."""
        return {index for index, grant in enumerate(grants) if _is_agent_pull(grant)}


def _is_agent_pull(grant: Mapping[str, Any]) -> bool:
    actions = grant.get("Action")
    actions = [actions] if isinstance(actions, str) else actions or []
    lowered = {str(action).lower() for action in actions}
    return (
        grant.get("Effect", "Allow") == "Allow"
        and grant.get("Resource") in ("*", ["*"])
        and "Condition" not in grant
        and bool(lowered)
        and lowered <= _AGENT_ACTIONS
    )


def observe_agent_pulls(plan: Plan, usage: RoleUsage) -> AgentPulls | None:
    """An :class:`AgentPulls` for a role given the switch."""
    return AgentPulls() if _SWITCH in plan.switches else None


def agent_pull_fix(owner: str) -> FixHint:
    """How a role of ``owner`` (a construct or the aspect) fixes an ECR pull on ``*``."""

    def fix(action: str, resource: str) -> str | None:
        if resource != "*" or action not in _PULLS:
            return None
        return (
            "this role names repositories, never '*'; if the grant is for the GuardDuty "
            f"Runtime Monitoring agent, pass {_SWITCH}=True to {owner} (the role then pulls "
            "from the agent's AWS-owned repository of the region, and takes such grants as "
            "the agent's)"
        )

    return fix
