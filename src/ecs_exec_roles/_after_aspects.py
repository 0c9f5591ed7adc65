"""When the library builds its policies: once the app's aspects have visited its task
definitions.

aws-cdk-lib invokes aspects construct by construct, each construct before its children, the
children in the order they were added. A role is usually created before the services that use
it, so an aspect that runs on the role's construct runs before any aspect reaches their task
definitions: a sidecar an organisation-wide aspect adds there (an X-Ray daemon, a log router)
would come after the library read the containers.

So the library's work waits at a construct of its own, added as the last child of the stage
whose aspects are running (the app, or a stage of a pipeline) when the first role asks: an
aspect on that construct runs after every aspect has visited every construct added before it.
This needs aws-cdk-lib's aspect stabilization (``@aws-cdk/core:aspectStabilization``, on
unless the app turns it off), which walks the tree again when an aspect is added: without it a
construct added during the walk is never visited, and the work runs at once, as it is asked
for. Work asked for after the construct was visited (by a role an aspect creates late) runs at
once too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import jsii
from constructs import Construct, IConstruct

from ._app import AppState, StackState
from ._cdk_internals import identity

__all__ = ["AFTER_ASPECTS_ID", "STABILIZATION_FLAG", "after_aspects", "pending_work"]

#: The id of the construct the library's work waits at, a child of the stage.
AFTER_ASPECTS_ID = "EcsExecRolesAfterAspects"
STABILIZATION_FLAG = "@aws-cdk/core:aspectStabilization"


@dataclass(eq=False)
class _Waiting:
    """The work waiting for the aspects of one stage."""

    #: Whether aspects are invoked again after one is added (the flag).
    stabilizing: bool
    pending: list[Callable[[], None]] = field(default_factory=list)
    #: Work that runs once the pending work has run (``last=True``).
    closing: list[Callable[[], None]] = field(default_factory=list)
    placed: bool = False
    ran: bool = False


def after_aspects(state: StackState, work: Callable[[], None], *, last: bool = False) -> None:
    """Run ``work`` once the aspects of the stack's stage have visited every construct.

    :param last: run it after every piece of work that waits (or is added while they run),
        so that it can take what they registered together.
    """
    waiting = _waiting(state)
    if waiting.ran and last and waiting.pending:
        # Asked for by work that runs now: after the rest of it.
        waiting.closing.append(work)
        return
    if waiting.ran or not waiting.stabilizing:
        work()
        return
    (waiting.closing if last else waiting.pending).append(work)
    if not waiting.placed:
        waiting.placed = True
        marker = Construct(state.stage(), AFTER_ASPECTS_ID)
        cdk.Aspects.of(marker).add(_RunWaiting(waiting))


def pending_work(app: AppState) -> int:
    """How many pieces of work still wait (none, once synthesis ran the aspects)."""
    return sum(len(w.pending) + len(w.closing) for w in app.after_aspects.values())


def _waiting(state: StackState) -> _Waiting:
    stage = state.stage()
    key = identity(stage)
    waiting: _Waiting | None = state.app.after_aspects.get(key)
    if waiting is None:
        enabled = cdk.FeatureFlags.of(stage).is_enabled(STABILIZATION_FLAG)
        waiting = state.app.after_aspects[key] = _Waiting(stabilizing=enabled is not False)
    return waiting


@jsii.implements(cdk.IAspect)
class _RunWaiting:
    """Runs the waiting work when aspects reach the library's construct."""

    def __init__(self, waiting: _Waiting) -> None:
        self._waiting = waiting

    def visit(self, node: IConstruct) -> Any:
        waiting = self._waiting
        waiting.ran = True
        while waiting.pending or waiting.closing:
            (waiting.pending or waiting.closing).pop(0)()
