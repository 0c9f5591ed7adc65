"""Synthesis of a sealed plan: its statements, packed into customer-managed policies.

:func:`synthesize` is pure over the plan (given a resolver); :func:`create_policies` turns the
packing into ``iam.ManagedPolicy`` constructs with their cdk-nag acknowledgments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from ._app import stack_state
from ._buckets import with_owners
from ._cfn import is_unresolved
from ._cross_account import add_cross_account_outputs
from ._nag import acknowledge_wildcards
from ._packing import MANAGED_POLICY_MAX_CHARS, PackingResult, pack
from ._regions import partition_of_region
from ._statements import Resource, Statement, build_statements
from ._trust import stack_environment

if TYPE_CHECKING:
    from constructs import Construct

    from ._needs import Need
    from ._plan import Plan

__all__ = ["PolicySet", "Synthesis", "create_policies", "known_pseudo_lengths", "synthesize"]


@dataclass(frozen=True)
class PolicySet:
    """The statements that go into one stack, packed.

    :param home: the stack, when it is not the role's (``None``).
    """

    home: Any
    statements: tuple[Statement, ...]
    packing: PackingResult


@dataclass(frozen=True)
class Synthesis:
    """A plan's statements, in one policy set per stack: the role's first, then the stacks
    of task definitions whose own resources the role's stack cannot name."""

    sets: tuple[PolicySet, ...]

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(statement for policy_set in self.sets for statement in policy_set.statements)

    @property
    def policy_count(self) -> int:
        return sum(len(policy_set.packing.policies) for policy_set in self.sets)

    @property
    def total_chars(self) -> int:
        return sum(policy_set.packing.total_chars for policy_set in self.sets)

    @property
    def oversized(self) -> tuple[tuple[Statement, Resource, int], ...]:
        """Each resource too large for a policy even alone with its statement."""
        return tuple(item for policy_set in self.sets for item in policy_set.packing.oversized)

    def fits(self, plan: Plan) -> bool:
        """Whether every statement fits, in no more policies than the plan allows."""
        return not self.oversized and self.policy_count <= plan.policy_limit


def synthesize(
    plan: Plan,
    resolve: Callable[[Any], Any],
    *,
    url_suffix: str,
    pseudo_max_chars: dict[str, int],
    imported_buckets: Callable[[], Mapping[str, str]] = dict,
) -> Synthesis:
    """The statements of a sealed plan, packed within IAM's size quota, per stack.

    :param imported_buckets: the owners of the buckets imported into the app, by name
        (``_buckets.imported_owners``), asked for only when a bucket's owner is not known
        otherwise.
    """
    homes: dict[int, tuple[Any, list[Need]]] = {id(None): (None, [])}
    options = plan.options
    needs = with_owners(
        plan.needs,
        dict(options.bucket_owner_accounts),
        plan.account,
        imported_buckets,
        condition=options.bucket_owner_condition,
    )
    for need in needs:
        homes.setdefault(id(need.home), (need.home, []))[1].append(need)
    sets = []
    for home, needs in homes.values():
        if needs or home is None:
            statements = build_statements(
                needs,
                resolve,
                url_suffix=url_suffix,
                pseudo_max_chars=pseudo_max_chars,
                pull_condition=_pull_condition(options),
            )
            packing = pack(statements, MANAGED_POLICY_MAX_CHARS)
            sets.append(PolicySet(home, tuple(statements), packing))
    return Synthesis(tuple(sets))


def _pull_condition(options: Any) -> dict[str, Any] | None:
    """``aws:SourceVpce`` / ``aws:SourceVpc`` for the image pulls, as the ECS task execution
    role page shows them for Fargate tasks pulling through ECR interface endpoints."""
    condition: dict[str, Any] = {}
    for key, ids in (
        ("aws:SourceVpce", options.ecr_pull_endpoints),
        ("aws:SourceVpc", options.ecr_pull_vpcs),
    ):
        if ids:
            condition[key] = ids[0] if len(ids) == 1 else list(ids)
    return condition or None


def create_policies(
    scope: Construct,
    role: iam.IRole,
    plan: Plan,
    synthesis: Synthesis,
    scope_in: Callable[[Any], Construct],
) -> list[tuple[iam.ManagedPolicy, tuple[Statement, ...], Any, str]]:
    """One customer-managed policy per packed group of statements: ``Policy``, ``Policy2``...
    under ``scope`` for the role's stack, under ``scope_in(stack)`` for another stack; each
    with the statements it holds, that stack (``None`` for the role's) and its id. Beside
    them, what other accounts must allow (``_cross_account``)."""
    policies = []
    for policy_set in synthesis.sets:
        where = scope if policy_set.home is None else scope_in(policy_set.home)
        for index, statements in enumerate(policy_set.packing.policies):
            child_id = "Policy" if index == 0 else f"Policy{index + 1}"
            policy = iam.ManagedPolicy(
                where,
                child_id,
                description=f"Permissions ECS needs to start tasks with {plan.where}"[:1000],
                document=iam.PolicyDocument.from_json(
                    {"Version": "2012-10-17", "Statement": [s.to_json() for s in statements]}
                ),
                # Attached from the policy's side: a key policy that names the role (CDK
                # adds one for a secret encrypted with a key of the same stack) would
                # otherwise close a dependency cycle role -> policy -> secret -> key -> role.
                roles=[role],
            )
            policies.append((policy, statements, policy_set.home, child_id))
            acknowledge_wildcards(policy, statements)
        add_cross_account_outputs(where, role, plan.where, plan.account, policy_set.statements)
    return policies


def known_pseudo_lengths(stack: cdk.Stack) -> dict[str, int]:
    """Lengths of pseudo parameters fixed by the stack's environment.

    A stack in a concrete region deploys to that region's partition, so ``AWS::Partition``
    counts at its real length rather than the longest one (``aws`` is 3 characters,
    ``aws-iso-b`` 9): about 6 characters per ARN, which a shared role spends on more families.
    """
    state = stack_state(stack)
    if state.pseudo_lengths is None:
        _, region, _ = stack_environment(stack)
        partition = None if is_unresolved(region) else partition_of_region(region)
        state.pseudo_lengths = {"AWS::Partition": len(partition)} if partition else {}
    return state.pseudo_lengths
