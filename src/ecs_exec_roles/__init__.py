"""Least-privilege Amazon ECS task execution roles for the AWS CDK."""

from importlib.metadata import version as _installed_version

from ._errors import ExecutionRoleError
from ._features import S3File
from ._harden import HardenExecutionRoles
from ._minimal import MinimalExecutionRole
from ._shared import SharedExecutionRole
from ._starter import StarterExecutionRole

__all__ = [
    "ExecutionRoleError",
    "HardenExecutionRoles",
    "MinimalExecutionRole",
    "S3File",
    "SharedExecutionRole",
    "StarterExecutionRole",
]

# Reprs, tracebacks and API docs name the public module, not the private one a name lives in.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name

# The installed distribution's version, so that it never disagrees with what pip reports.
__version__ = _installed_version("ecs-exec-roles")
del _installed_version
