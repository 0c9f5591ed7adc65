"""Everything the library reads of aws-cdk-lib and jsii beyond their public API, in one place.

Each is a shortcut (fewer calls into aws-cdk-lib's Node process) or the only way to learn a
fact aws-cdk-lib does not publish; ``tests/test_cdk_internals.py`` pins the behaviour each
relies on, on the oldest supported and the newest releases, so that a release that changes
one fails a test instead of changing the library's output unseen.

- :func:`identity`: the reference jsii names a JavaScript object by (``__jsii_ref__``).
- :func:`read_attribute`, :func:`is_proxy_of`: the per-interface proxies jsii hands Python
  for an object that implements several interfaces (``_delegates``).
- :func:`granting_context`: the task definition whose container aws-cdk-lib is building
  while it grants the execution role, read from the Python frames of aws-cdk-lib's generated
  bindings. aws-cdk-lib's grants (``repository.grant_pull(role)``, the secrets of a
  container) name the grantee only, and no public API tells which task definition asked.
- :func:`cfn_properties`: an L1 resource's properties as its constructor and setters hold them
  (the protected ``cfnProperties`` jsii hands Python as ``_cfn_properties``), which the app's
  templates are made of: one way to read every resource's references to a role before
  synthesis.
- :func:`named_construct`: the L2 an L1 resource belongs to, by the IDs aws-cdk-lib gives
  them (``Resource``, an ECS service's ``Service``), for messages.
- The construct IDs aws-cdk-lib gives what it makes for a task definition: its execution role
  (:data:`AUTOMATIC_ROLE_ID`), that role's policy (:data:`DEFAULT_POLICY_ID`), and the log
  group of its default FireLens router (:data:`FIRELENS_LOG_GROUP_ID`).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_cdk import aws_ecs as ecs

__all__ = [
    "AUTOMATIC_ROLE_ID",
    "DEFAULT_POLICY_ID",
    "FIRELENS_LOG_GROUP_ID",
    "cfn_properties",
    "granting_context",
    "identity",
    "is_proxy_of",
    "named_construct",
    "read_attribute",
]

# The id aws-cdk-lib gives a task definition's own execution role, and the role's policy.
AUTOMATIC_ROLE_ID = "ExecutionRole"
DEFAULT_POLICY_ID = "DefaultPolicy"
# The id of the log group aws-cdk-lib creates under its default FireLens log router.
FIRELENS_LOG_GROUP_ID = "LogGroup"


def identity(construct: Any) -> object:
    """What identifies a construct across the objects jsii hands Python for it."""
    reference = getattr(construct, "__jsii_ref__", None)
    return getattr(reference, "ref", None) or id(construct)


def _delegates(value: Any) -> list[Any] | None:
    # jsii hands an object that implements several interfaces (most imported resources) to
    # Python as a proxy over one object per interface.
    delegates = getattr(value, "__dict__", {}).get("_delegates")
    return delegates if isinstance(delegates, list) else None


def read_attribute(value: Any, name: str) -> Any:
    """``getattr(value, name, None)``, reading an aws-cdk-lib property once.

    A proxy's attribute lookup reads the property once to test that it exists and again to
    return it; each read is a call into aws-cdk-lib. Here the delegate that declares it is
    read once.
    """
    if isinstance(value, (str, bytes)):
        return None
    for delegate in _delegates(value) or ():
        if hasattr(type(delegate), name):
            return getattr(delegate, name)
    return getattr(value, name, None)


def is_proxy_of(value: Any, interface: type) -> bool:
    """Whether ``value`` is a jsii proxy with a delegate for ``interface`` (such as
    ``secretsmanager.ISecret``): an imported resource of that interface, told without a call
    into aws-cdk-lib."""
    proxy = _proxy(interface)
    return any(isinstance(delegate, proxy) for delegate in _delegates(value) or ())


@functools.cache
def _proxy(interface: type) -> type:
    import jsii

    proxy: type = jsii.proxy_for(interface)
    return proxy


def named_construct(resource: Any) -> Any:
    """The construct messages name for an L1 resource: the L2 that made it (whose default
    child, ``Resource``, it is, or whose ``Service`` it is for an ECS service), else itself."""
    from aws_cdk import aws_ecs as ecs

    scope = resource.node.scope
    if scope is not None and (resource.node.id == "Resource" or isinstance(scope, ecs.BaseService)):
        return scope
    return resource


def cfn_properties(resource: Any) -> Any:
    """The properties of an L1 resource (``cdk.CfnResource``), unresolved, keyed as its
    constructor takes them (``executionRoleArn``). Overrides (``add_property_override``) are
    not among them."""
    return resource._cfn_properties


def granting_context(depth: int = 2) -> tuple[ecs.TaskDefinition | None, Any]:
    """The task definition whose container aws-cdk-lib is building while it grants, and the
    construct being built (the task definition, or an ``ecs_patterns`` construct that makes
    one), from the frame ``depth`` levels above this call outwards.

    CDK grants while ``add_container`` (or a ``ContainerDefinition`` constructor, or a
    pattern's constructor) runs; the Python frames of that call hold them, so a gap can name
    the task family that needs it, and a need can go to the stack of the task that needs it.
    """
    from aws_cdk import aws_ecs as ecs

    frame: FrameType | None = sys._getframe(depth)
    owner: Any = None
    for _ in range(_MAX_FRAMES):
        if frame is None:
            break
        # Reading a frame's locals copies them; only frames of aws-cdk-lib's ECS wrappers
        # can hold the task definition.
        filename = frame.f_code.co_filename
        if filename.endswith(_ECS_MODULE_FILE):
            local_values = frame.f_locals
            for name in ("self", "task_definition", "task"):
                value = local_values.get(name)
                if isinstance(value, ecs.TaskDefinition):
                    return value, value
        elif owner is None and filename.endswith(_PATTERNS_MODULE_FILE):
            owner = frame.f_locals.get("self")
        frame = frame.f_back
    return None, owner


_ECS_MODULE_FILE = str(Path("aws_cdk") / "aws_ecs" / "__init__.py")
_PATTERNS_MODULE_FILE = str(Path("aws_cdk") / "aws_ecs_patterns" / "__init__.py")


# Frames between the grant and the user's add_container call: jsii's callback machinery
# and aws-cdk-lib's Python wrappers, a dozen or so.
_MAX_FRAMES = 40
