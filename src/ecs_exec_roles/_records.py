"""What the verification reads of the library's roles: a :class:`~._verify.RoleRecord` each.

A record holds what the library wrote for a role (its trust policy, its policies' statements)
in template form, resolved in the stack each is in once the app is synthesized, and the
construct paths of the role's and the policies' resources, by which the verification finds
them in the cloud assembly. Each stack's values are resolved in one call into aws-cdk-lib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk

from ._app import AppState
from ._role_view import AwsManagedDocument, PolicyRecord, RoleRecord
from ._trust import trust_policy

__all__ = ["app_records", "verification_records"]


def app_records(app: AppState) -> list[RoleRecord]:
    """The records of every role of the app."""
    return [record for roles in app.each_role_stack() for record in verification_records(roles)]


def verification_records(roles: Any) -> list[RoleRecord]:
    """The records of the roles of one stack (``_lifecycle.StackRoles``) whose policies are
    built."""
    built = [entry for entry in roles.entries if entry.synthesis is not None]
    if not built:
        return []
    values = _StackValues()
    asked = []
    for entry in built:
        options = entry.plan.options
        trust = values.ask(
            roles.stack,
            trust_policy(
                roles.stack,
                trust_conditions=options.trust_conditions is not False,
                trust_all_regions=options.trust_all_regions,
            ),
        )
        policies = [
            (path, values.ask(home or roles.stack, [s.to_json() for s in statements]))
            for statements, home, path in entry.policy_statements
        ]
        asked.append((entry, trust, policies))
    resolved = values.resolve()
    return [
        RoleRecord(
            entry.plan.where,
            entry.role_path,
            resolved(trust),
            entry.plan.derive,
            tuple(PolicyRecord(path, tuple(resolved(document))) for path, document in policies),
            tuple(AwsManagedDocument(p.name, p.actions) for p in entry.plan.aws_managed_policies),
            entry.plan.owner,
            entry.plan.takes,
        )
        for entry, trust, policies in asked
    ]


class _StackValues:
    """Values to resolve, each in its stack, with one call into aws-cdk-lib per stack."""

    def __init__(self) -> None:
        self._stacks: dict[int, tuple[cdk.Stack, list[Any]]] = {}
        self._resolved: dict[int, list[Any]] = {}

    def ask(self, stack: cdk.Stack, value: Any) -> tuple[int, int]:
        values = self._stacks.setdefault(id(stack), (stack, []))[1]
        values.append(value)
        return id(stack), len(values) - 1

    def resolve(self) -> Callable[[tuple[int, int]], Any]:
        for key, (stack, values) in self._stacks.items():
            self._resolved[key] = stack.resolve(values)
        return lambda asked: self._resolved[asked[0]][asked[1]]
