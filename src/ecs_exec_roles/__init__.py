"""Least-privilege Amazon ECS task execution roles for the AWS CDK."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The module each public name lives in. They are imported when first asked for: the
# constructs load aws-cdk-lib (and start its Node process), which reading synthesized
# templates (the verification's modules) does not need.
_HOMES = {
    "ExecutionRoleError": "._errors",
    "HardenExecutionRoles": "._harden",
    "MinimalExecutionRole": "._minimal",
    "S3File": "._features",
    "SharedExecutionRole": "._shared",
    "StarterExecutionRole": "._starter",
}

#: The installed distribution's version, so that it never disagrees with what pip reports.
__version__: str

if not TYPE_CHECKING:
    # Hidden from type checkers, which would otherwise accept any name of the module.
    def __getattr__(name: str) -> Any:
        if name in _HOMES:
            value = getattr(importlib.import_module(_HOMES[name], __name__), name)
            # Reprs, tracebacks and API docs name the public module, not the private one.
            value.__module__ = __name__
            globals()[name] = value
            return value
        if name == "__version__":
            # Read when asked for: importlib.metadata and the email parser it loads took more
            # than half of the package's import time, which every synth pays.
            from importlib.metadata import version

            return version("ecs-exec-roles")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
