"""The plan of one execution role: everything it must allow, gathered while the app is built.

A construct checks its props (``_props``), turns them into needs and adds them here; at synth
the plan takes what is observed in the app (:class:`Observation`: the needs of aws-cdk-lib's
default FireLens routers, for example), is sealed, and synthesis (``_synthesis``) and the
checks (``_checks``) read it. Nothing reads a construct's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._cfn import flatten
from ._coverage import Cover
from ._declarations import PROPS
from ._errors import ExecutionRoleError
from ._needs import Need

if TYPE_CHECKING:
    from ._props import RoleOptions

__all__ = ["AwsManagedPolicy", "Observation", "Plan"]


class Observation(Protocol):
    """What the app shows at synth that the role must allow, beyond its props.

    An observer (``_lifecycle.OBSERVERS``) makes one before the plan is sealed.
    """

    @property
    def needs(self) -> Sequence[Need]:
        """The needs observed, added to the plan's (read once its ``values`` are resolved)."""
        ...

    @property
    def values(self) -> Sequence[str]:
        """The CDK strings the observation resolves to compute its needs."""
        ...

    @property
    def errors(self) -> Sequence[str]:
        """What was observed that the role cannot allow, one message each."""
        ...

    def accounted_for(self, grants: Sequence[Mapping[str, Any]]) -> set[int]:
        """The indexes of the grants (resolved statements) this observation explains, which
        the plan's needs do not cover."""
        ...


@dataclass(frozen=True)
class AwsManagedPolicy:
    """An AWS managed policy a kind of role comes with, and what it allows on ``*``.

    :param name: the name after ``arn:<partition>:iam::aws:policy/``.
    :param actions: the actions it allows on every resource.
    :param reason: why the role has it, for the cdk-nag acknowledgment of AwsSolutions-IAM4.
    """

    name: str
    actions: tuple[str, ...]
    reason: str


class Plan:
    """What one execution role must allow.

    :param where: the construct's path, for messages.
    :param options: the role's checked options.
    :param aws_managed_policies: AWS managed policies the kind of role comes with; they count
        toward ``max_managed_policies`` and what they allow counts as covered.
    """

    def __init__(
        self,
        where: str,
        options: RoleOptions,
        aws_managed_policies: Sequence[AwsManagedPolicy] = (),
    ) -> None:
        self.where = where
        self.options = options
        self.aws_managed_policies = tuple(aws_managed_policies)
        self._needs: list[Need] = []
        self._families: dict[str, list[Need]] = {}
        #: The switch props (``_declarations``) any call set to True: role-wide.
        self.switches: set[str] = set()
        #: What the role's props are given to, as messages name it (a construct's class, or
        #: the aspect), and the props it takes: a message suggests no other.
        #: The role's account (a token where the stack's is not written out; "" unknown).
        self.account = ""
        self.owner = "the construct"
        self.takes: frozenset[str] = frozenset(PROPS)
        #: Role-wide switch: allow what the task definitions that use the role need, besides
        #: the props (see ``_derive``).
        self.derive = False
        self._observations: list[Observation] = []
        self._sealed = False

    @property
    def observes(self) -> bool:
        """Whether the finalizer's observers read the app for this plan: it derives, or a
        switch it was given is met at synth (``Prop.observed``)."""
        return self.derive or any(PROPS[name].observed for name in self.switches)

    # -- while the app is built -------------------------------------------------------------

    def check_open(self) -> None:
        """Fail if synthesis has begun: the role's policies are built by then."""
        if self._sealed:
            raise ExecutionRoleError(
                f"{self.where}: resources were added after synthesis began; add them "
                "while building the app, before app.synth() or Template.from_stack()."
            )

    def add(self, needs: Sequence[Need], *, family: str | None = None) -> None:
        """Add needs named by props (of ``family``, when given)."""
        self.check_open()
        if family is not None:
            self._families.setdefault(family, []).extend(needs)
        self._needs.extend(needs)

    # -- at synth ----------------------------------------------------------------------------

    def observe(self, observation: Observation) -> None:
        """Add what was observed in the app at synth, before the plan is sealed."""
        self.check_open()
        self._observations.append(observation)

    def seal(self) -> None:
        """Fix the needs: synthesis reads them once from here on."""
        self._sealed = True

    @property
    def sealed(self) -> bool:
        return self._sealed

    # -- what synthesis and the checks read --------------------------------------------------

    @property
    def needs(self) -> tuple[Need, ...]:
        """Every need: from props, then observed at synth."""
        return (*self._needs, *(need for o in self._observations for need in o.needs))

    @property
    def has_props(self) -> bool:
        """Whether the props name anything (a role-wide switch does not count)."""
        return bool(self._needs)

    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(self._observations)

    @property
    def policy_limit(self) -> int:
        """How many customer-managed policies the role may have."""
        return self.options.max_managed_policies - len(self.aws_managed_policies)

    @property
    def role_covers(self) -> list[Cover]:
        """What the role's AWS managed policies allow."""
        return [
            Cover(action.lower(), "*")
            for policy in self.aws_managed_policies
            for action in policy.actions
        ]

    @property
    def families(self) -> Mapping[str, Sequence[Need]]:
        return self._families

    def family_report(self, resolve: Callable[[Any], Any]) -> Mapping[str, Sequence[str]]:
        """Each registered family and one ``kind: ARN`` line per resource it needs."""
        return {
            family: tuple(
                sorted({f"{need.kind.label}: {flatten(resolve(need.arn))}" for need in needs})
            )
            for family, needs in sorted(self._families.items())
        }
