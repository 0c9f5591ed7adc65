"""The single error root of ecs-exec-roles."""

from __future__ import annotations

__all__ = ["ExecutionRoleError"]


class ExecutionRoleError(ValueError):
    """Raised at construction when a prop cannot give a correct, least-privilege role.

    Every message names the construct, the offending value (with ``!r``) and the fix.
    """
