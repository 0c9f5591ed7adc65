"""Where HardenExecutionRoles applies, and with which options.

- The aspect added nearest to a task definition (within its stage) decides its options
  (:func:`nearest_settings`); two with different options on that scope fail synth, naming
  both.
- aws-cdk-lib synthesizes a ``cdk.Stage`` before the aspects of the scopes around it run, and
  does not pass them on into it: an aspect on the app never sees a pipeline's stages. The
  task definitions of a stage below an aspect's scope, on the role aws-cdk-lib made and with
  no aspect within their own stage, fail synth with the fix (:func:`check_reach`).
- A task definition made after the aspect visited its scope (by an aspect that runs later,
  with aspect stabilization off) is never visited: at validation, each one in reach that kept
  aws-cdk-lib's role fails synth, naming the order.

Each aspect's checked options are kept here (:func:`register_aspect`), out of its public
attributes, with what it visited.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

import aws_cdk as cdk
import jsii
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from ._app import stack_state
from ._cdk_internals import AUTOMATIC_ROLE_ID, identity

if TYPE_CHECKING:
    from ._app import AppState
    from ._props import ResourceProps, RoleOptions

__all__ = [
    "ASPECT_NAME",
    "AspectSettings",
    "check_reach",
    "is_lone_l1",
    "nearest_settings",
    "register_aspect",
    "settings_of",
]

ASPECT_NAME = "HardenExecutionRoles"


@dataclass(frozen=True)
class AspectSettings:
    """One aspect's options, checked when it was made, and what it has seen."""

    options: RoleOptions
    props: ResourceProps
    #: The task definitions it visited, by identity.
    visited: set[object] = field(default_factory=set)
    #: The paths of the scopes it looked below for stages and late task definitions.
    walked: set[str] = field(default_factory=set)
    #: The L1 type whose next visit is an L2's own resource (aspects visit in pre-order, and
    #: an L2 task or job definition makes its resource first).
    own_resource_next: list[type] = field(default_factory=list)


_SETTINGS: weakref.WeakKeyDictionary[Any, AspectSettings] = weakref.WeakKeyDictionary()


def register_aspect(aspect: Any, options: RoleOptions, props: ResourceProps) -> None:
    """Keep ``aspect``'s checked options."""
    _SETTINGS[aspect] = AspectSettings(options, props)


def settings_of(aspect: Any) -> AspectSettings:
    """What :func:`register_aspect` kept for ``aspect``."""
    return _SETTINGS[aspect]


def nearest_settings(task: Any) -> AspectSettings | None:
    """The settings of the aspect added nearest to ``task`` (a task definition, a job
    definition, or a role the app made), within its stage; None when there is none, or when
    two with different options are added there (a validation of ``task`` then fails)."""
    app = stack_state(task.stack).app
    for scope in reversed(task.node.scopes):
        found = _aspects_on(app, scope)
        shown = sorted({repr(aspect) for aspect in found})
        if len(shown) > 1:
            where = str(scope.node.path) or "the app"
            task.node.add_validation(
                _Failure(
                    f"{task.node.path}: {' and '.join(shown)} are both added to {where}, so its "
                    "execution role would be hardened two ways. Add one of them there, or each "
                    "to a scope of its own (the nearest applies)."
                )
            )
            return None
        if found:
            return _SETTINGS[found[0]]
        if isinstance(scope, cdk.Stage):
            break
    return None


def _aspects_on(app: AppState, scope: IConstruct) -> list[Any]:
    """The HardenExecutionRoles aspects added to ``scope`` (read once per scope)."""
    key = identity(scope)
    found = app.harden_aspects.get(key)
    if found is None:
        found = [aspect for aspect in cdk.Aspects.of(scope).all if aspect in _SETTINGS]
        app.harden_aspects[key] = found
    return found


def check_reach(scope: IConstruct, settings: AspectSettings) -> None:
    """Fail synth for the task definitions below ``scope`` (a stage or a stack the aspect
    visits) that the aspect cannot reach: in stages below it, and, at validation, made after
    it ran. Once per scope the aspect was added to."""
    path = str(scope.node.path)
    if any(not done or path == done or path.startswith(f"{done}/") for done in settings.walked):
        return
    settings.walked.add(path)
    constructs = scope.node.find_all()
    own = scope if isinstance(scope, cdk.Stage) else cdk.Stage.of(scope)
    own_path = str(own.node.path) if own is not None else ""
    scope.node.add_validation(_Unhardened(scope, own_path, settings.visited))
    if not any(isinstance(c, cdk.Stage) and c is not scope for c in constructs):
        return
    missed: dict[str, list[str]] = {}
    for construct in constructs:
        if not _on_automatic_role(construct):
            continue
        stage = cdk.Stage.of(construct)
        if stage is None or str(stage.node.path) == own_path:
            continue
        app = stack_state(cdk.Stack.of(construct)).app
        within = construct.node.scopes[len(stage.node.scopes) - 1 :]
        if not any(_aspects_on(app, inner) for inner in within):
            missed.setdefault(str(stage.node.path), []).append(str(construct.node.path))
    for stage_path, tasks in sorted(missed.items()):
        scope.node.add_validation(
            _Failure(
                f"{stage_path}: {ASPECT_NAME} added to {path or 'the app'} does not reach this "
                "stage (aws-cdk-lib synthesizes a stage before the aspects of the scopes "
                f"around it run), so {', '.join(tasks)} keep the execution roles aws-cdk-lib "
                f"made. Add the aspect inside the stage too: cdk.Aspects.of(stage).add("
                f"{ASPECT_NAME}(...))."
            )
        )


def is_lone_l1(
    node: IConstruct, settings: AspectSettings
) -> TypeGuard[ecs.CfnTaskDefinition | batch.CfnJobDefinition]:
    """An L1 task or job definition made without its L2, which names its role by ARN: told
    from an L2's own resource by the order of the visits, without reading the tree."""
    if isinstance(node, (ecs.TaskDefinition, batch.EcsJobDefinition)):
        is_task = isinstance(node, ecs.TaskDefinition)
        settings.own_resource_next[:] = [
            ecs.CfnTaskDefinition if is_task else batch.CfnJobDefinition
        ]
        return False
    if not isinstance(node, (ecs.CfnTaskDefinition, batch.CfnJobDefinition)):
        return False
    if settings.own_resource_next and isinstance(node, settings.own_resource_next[0]):
        settings.own_resource_next.clear()
        return False
    return True


def _on_automatic_role(construct: IConstruct) -> bool:
    """Whether ``construct`` is a task definition, or an AWS Batch job definition, on the
    execution role aws-cdk-lib made for it (for a job, for its container)."""
    if isinstance(construct, batch.EcsJobDefinition):
        holder: IConstruct = construct.container
    elif isinstance(construct, ecs.TaskDefinition):
        holder = construct
    else:
        return False
    return isinstance(holder.node.try_find_child(AUTOMATIC_ROLE_ID), iam.Role)


@jsii.implements(IValidation)
class _Unhardened:
    """At validation, the task definitions in reach of an aspect that it never visited (made
    after it ran) and that kept the role aws-cdk-lib made."""

    def __init__(self, scope: IConstruct, stage_path: str, visited: set[object]) -> None:
        self._scope = scope
        self._stage_path = stage_path
        self._visited = visited

    def validate(self) -> list[str]:
        errors = []
        for construct in self._scope.node.find_all():
            if identity(construct) in self._visited or not _on_automatic_role(construct):
                continue
            stage = cdk.Stage.of(construct)
            if stage is None or str(stage.node.path) != self._stage_path:
                continue
            errors.append(
                f"{construct.node.path}: its execution role, made by aws-cdk-lib, was not "
                f"hardened: it was made after {ASPECT_NAME} visited "
                f"{self._scope.node.path or 'the app'} (by an aspect that ran after it, with "
                "@aws-cdk/core:aspectStabilization off). Make it before the aspects run, or "
                "turn aspect stabilization on."
            )
        return errors


@jsii.implements(IValidation)
class _Failure:
    def __init__(self, message: str) -> None:
        self._message = message

    def validate(self) -> list[str]:
        return [self._message]
