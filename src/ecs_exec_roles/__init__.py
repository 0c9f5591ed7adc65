"""Least-privilege Amazon ECS task execution roles for the AWS CDK."""

from typing import TYPE_CHECKING

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


#: The installed distribution's version, so that it never disagrees with what pip reports.
__version__: str

if not TYPE_CHECKING:
    # Read when asked for: importlib.metadata and the email parser it loads took more than
    # half of the package's import time, which every synth pays. Hidden from type checkers,
    # which would otherwise accept any name of the module.
    def __getattr__(name: str) -> str:
        if name == "__version__":
            from importlib.metadata import version

            return version("ecs-exec-roles")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
