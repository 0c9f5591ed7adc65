"""The verification of what is deployed: every role of the library, read in the synthesized
templates after every aspect, override and escape hatch.

For each role the library built (or hardened), as the templates of the whole cloud assembly
have it (``_template``):

- its trust policy is the one the library wrote, nothing added or dropped;
- no policy reaches it but its own: no inline ``Policies`` or ``ManagedPolicyArns`` on the
  role beyond the library's, and no ``AWS::IAM::Policy``, ``ManagedPolicy`` or ``RolePolicy``
  of any template naming it;
- its own policies hold only the statements the library wrote (an aspect or override that
  adds to them is reported, statement by statement);
- every task definition of any template whose ``ExecutionRoleArn`` is the role (by logical
  ID, ARN, name, import or nested-stack parameter) has each need (``_reader``,
  ``_requests``) allowed, as IAM evaluates the role's policies and its permissions boundary
  (``_evaluate``), and is in a region the trust policy names.

Each check is a small function over one role's view of the assembly, returning findings.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._assembly import Assembly
from ._role_view import Check, Finding, RoleRecord, RoleView, task_definitions
from ._verify_roles import (
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_trust,
)
from ._verify_tasks import UnevaluatedPolicy, check_task_definitions

__all__ = ["CHECKS", "verify"]


CHECKS: tuple[Check, ...] = (
    check_trust,
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_task_definitions,
)


def verify(assembly: Assembly, records: Sequence[RoleRecord]) -> list[Finding]:
    """Every finding of every role of ``records`` in ``assembly``."""
    tasks = task_definitions(assembly)
    findings: list[Finding] = []
    for record in records:
        located = assembly.by_path.get(record.path)
        if located is None:
            findings.append(_not_found(record))
            continue
        view = RoleView(assembly, record, *located)
        for check in CHECKS:
            try:
                findings.extend(check(view, tasks))
            except UnevaluatedPolicy as unsupported:
                findings.append(unsupported.finding)
    return findings


def _not_found(record: RoleRecord) -> Finding:
    return Finding(
        f"NotVerified[{record.where}]",
        f"{record.where}: the cloud assembly does not name the role's resource {record.path}, "
        "so its deployed form cannot be verified.",
        "Synthesize with the construct tree (cdk.App(tree_metadata=True), the default) or "
        "with path metadata (the CDK CLI's default), and keep the role's resource.",
        "",
        "",
    )
