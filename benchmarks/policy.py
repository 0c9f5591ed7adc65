"""Reading a role's permissions policies out of a synthesized template, sized as IAM sizes them.

IAM counts a policy's characters in its JSON without whitespace, after CloudFormation has
substituted the pseudo parameters. The benchmark stacks have a concrete account and region, so
every ``Ref`` of a pseudo parameter and every ``Fn::Join`` is replaced here by its value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from testkit.cfn import Environment, resolve

from .apps import ACCOUNT, PARTITION, REGION

__all__ = [
    "INLINE_POLICIES_MAX_CHARS",
    "MANAGED_POLICIES_MAX_COUNT",
    "MANAGED_POLICY_MAX_CHARS",
    "RolePolicies",
    "compact_chars",
    "find_role",
    "role_policies",
    "substitute",
]

# IAM quotas: all inline policies of a role together, one managed policy, managed policies
# attached to a role (the default, before a quota increase).
INLINE_POLICIES_MAX_CHARS = 10_240
MANAGED_POLICY_MAX_CHARS = 6_144
MANAGED_POLICIES_MAX_COUNT = 10

_ENVIRONMENT = Environment(partition=PARTITION, region=REGION, account=ACCOUNT)


def substitute(value: Any) -> Any:
    """``value`` with pseudo parameter references and joins replaced by their text; a
    resource attribute raises ``UnresolvableError``."""
    return resolve(value, _ENVIRONMENT)


def compact_chars(document: Any) -> int:
    """Characters IAM counts for a policy document: substituted, without whitespace."""
    return len(json.dumps(substitute(document), separators=(",", ":"), ensure_ascii=False))


@dataclass(frozen=True)
class RolePolicies:
    """The permissions policies of one role, each as its size in characters."""

    role_logical_id: str
    inline_chars: tuple[int, ...]
    managed_chars: tuple[int, ...]
    # Managed policies attached by ARN (AWS managed ones): counted, size unknown.
    managed_by_arn: int

    @property
    def managed_count(self) -> int:
        return len(self.managed_chars) + self.managed_by_arn

    @property
    def total_chars(self) -> int:
        return sum(self.inline_chars) + sum(self.managed_chars)

    def quota_problems(self, max_managed: int = MANAGED_POLICIES_MAX_COUNT) -> list[str]:
        """What breaks IAM's quotas; empty when the role deploys."""
        problems = []
        if self.managed_count > max_managed:
            problems.append(f"{self.managed_count} managed policies > {max_managed}")
        if sum(self.inline_chars) > INLINE_POLICIES_MAX_CHARS:
            problems.append(
                f"inline policies {sum(self.inline_chars)} chars > {INLINE_POLICIES_MAX_CHARS}"
            )
        problems.extend(
            f"managed policy {chars} chars > {MANAGED_POLICY_MAX_CHARS}"
            for chars in self.managed_chars
            if chars > MANAGED_POLICY_MAX_CHARS
        )
        return problems


def find_role(template: dict[str, Any], logical_id_prefix: str) -> str:
    """The logical ID of the only role whose logical ID starts with ``logical_id_prefix``."""
    found = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(logical_id_prefix)
    ]
    if len(found) != 1:
        raise LookupError(f"expected one role named {logical_id_prefix}*, found {found}")
    return found[0]


def _names_role(resource: dict[str, Any], role_logical_id: str) -> bool:
    roles = resource.get("Properties", {}).get("Roles", [])
    return {"Ref": role_logical_id} in roles


def role_policies(template: dict[str, Any], role_logical_id: str) -> RolePolicies:
    """Every permissions policy of a role: its own, and the ones that name it in ``Roles``."""
    resources = template["Resources"]
    role = resources[role_logical_id]["Properties"]
    inline = [compact_chars(policy["PolicyDocument"]) for policy in role.get("Policies", [])]
    managed = []
    for resource in resources.values():
        if not _names_role(resource, role_logical_id):
            continue
        document = resource["Properties"]["PolicyDocument"]
        if resource["Type"] == "AWS::IAM::Policy":
            inline.append(compact_chars(document))
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            managed.append(compact_chars(document))
    return RolePolicies(
        role_logical_id, tuple(inline), tuple(managed), len(role.get("ManagedPolicyArns", []))
    )
