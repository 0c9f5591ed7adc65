"""Least-privilege Amazon ECS task execution roles for the AWS CDK."""

from typing import Any

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


def __getattr__(name: str) -> Any:
    # ``__version__``: the installed distribution's version, so that it never disagrees with
    # what pip reports. Read when asked for: importlib.metadata and the email parser it loads
    # cost about a quarter of the package's own import time, paid by every synth otherwise.
    if name == "__version__":
        from importlib.metadata import version

        return version("ecs-exec-roles")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
