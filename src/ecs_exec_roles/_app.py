"""The one owner of what the library keeps for an app while it is built and synthesized.

Nothing is stored on the app's constructs: each stack the library works in has a
:class:`StackState` (its environment, read once; its execution roles), and each app an
:class:`AppState` (its stacks, in the order the library met them; the task definitions read
so far; the verification registered once). Both are found by the construct's identity: the
reference jsii names it by, which stays the same however many Python objects jsii hands out
for it (a construct made in JavaScript comes back as a new object each time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk

from ._cdk_internals import identity

__all__ = ["AppState", "StackState", "stack_state"]


@dataclass(eq=False)
class AppState:
    """What the library keeps for one app.

    :param root: the app (or the root construct, when it is not an app).
    """

    root: Any
    #: The stacks the library works in, in the order it met them.
    stacks: list[StackState] = field(default_factory=list)
    #: Every task definition read so far, by its identity (what is read of one is read once).
    tasks_seen: dict[object, Any] = field(default_factory=dict)
    #: The task definitions by execution role, as the last look at the whole app found them.
    task_index: Any = None
    #: The secrets of the app and those imported into it, from the same look.
    secrets: list[Any] = field(default_factory=list)
    #: The app's ECS services (``CfnService``, an L2's or an L1) and their stacks (``None``:
    #: not known from the walk), from the same look.
    services: list[Any] = field(default_factory=list)
    #: The app's ECR pull-through cache rules and repository creation templates (L1s), from
    #: the same look.
    cache_constructs: list[Any] = field(default_factory=list)
    #: Whether the verification of the synthesized templates is registered with the app.
    verification_registered: bool = False
    #: The work waiting for the aspects of each stage, by the stage's identity
    #: (``_after_aspects``).
    after_aspects: dict[object, Any] = field(default_factory=dict)
    #: The HardenExecutionRoles aspects added to each scope, by the scope's identity
    #: (``_aspect_reach``).
    harden_aspects: dict[object, list[Any]] = field(default_factory=dict)
    #: The app's ``iam.Role`` constructs by their ARN token, once an imported execution role
    #: was met (``_app_roles``).
    app_roles_by_arn: dict[str, Any] | None = None
    #: The resources of each stage with their properties resolved, by the stage's identity,
    #: while hardened roles are being built (``_app_roles``).
    app_role_scans: dict[object, Any] = field(default_factory=dict)

    #: The buckets imported into the app, from the same look; their owners by name
    #: (``_buckets``), once asked.
    imported_bucket_constructs: list[Any] = field(default_factory=list)
    imported_buckets: dict[str, str] | None = None

    def forget_scan(self) -> None:
        """The app may have changed (a finalizer ran): look again when asked."""
        self.task_index = None
        self.imported_buckets = None
        self.app_role_scans.clear()

    def each_role_stack(self) -> list[Any]:
        """The execution roles of every stack that has some (``_lifecycle.StackRoles``)."""
        return [state.roles for state in self.stacks if state.roles is not None]


@dataclass(eq=False)
class StackState:
    """What the library keeps for one stack."""

    stack: Any
    app: AppState
    #: The stack's partition, region and account (tokens or literals).
    environment: tuple[str, str, str] | None = None
    #: The lengths of pseudo parameters the stack's environment fixes.
    pseudo_lengths: dict[str, int] | None = None
    #: The stack's execution roles (``_lifecycle.StackRoles``), once it has one.
    roles: Any = None
    #: The path of its template file in the cloud assembly, once read.
    template_path: str | None = None
    _path: str | None = None
    _stage: Any = None

    def path(self) -> str:
        """The stack's construct path (read once)."""
        if self._path is None:
            self._path = str(self.stack.node.path)
        return self._path

    def stage(self) -> Any:
        """The stage the stack is synthesized with (the app, or a stage of it), read once."""
        if self._stage is None:
            self._stage = cdk.Stage.of(self.stack)
        return self._stage

    def roles_or(self, make: Callable[[Any], Any]) -> Any:
        if self.roles is None:
            self.roles = make(self.stack)
        return self.roles


_APPS: dict[object, AppState] = {}
_STACKS: dict[object, StackState] = {}


def stack_state(stack: Any) -> StackState:
    """The state of ``stack`` (and of its app), made the first time it is asked for."""
    key = identity(stack)
    state = _STACKS.get(key)
    if state is None:
        root = stack.node.root
        app = _APPS.get(identity(root))
        if app is None:
            app = _APPS[identity(root)] = AppState(root)
        state = _STACKS[key] = StackState(stack, app)
        app.stacks.append(state)
    return state
