"""``python -m ecs_exec_roles audit PATH...``: the ``ecs-exec-roles`` command."""

from ._cli import run

__all__ = ()

run()
