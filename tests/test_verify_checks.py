"""The whole verification (``_verify``): ``CHECKS`` in their order, and ``verify`` over
templates written by hand as plain dicts: a compliant role gives no finding, a role the
assembly does not name gives ``NotVerified`` while the others are still verified, the findings
of several checks come together, and a policy IAM's model here lacks gives its exact finding
(the role's construct path first) on the role's resource."""

from __future__ import annotations

from verify_templates import (
    ADMIN,
    LOGS_STATEMENT,
    PULL_STATEMENT,
    ROLE_ID,
    STATEMENTS,
    TOKEN_STATEMENT,
    TRUST,
    WHERE,
    assembly_of,
    assert_points_at,
    only,
    policy,
    record,
    resources,
    role,
    rules,
    template,
)

from ecs_exec_roles._role_view import RoleRecord
from ecs_exec_roles._verify import CHECKS, verify
from ecs_exec_roles._verify_roles import (
    check_attachments,
    check_foreign_policies,
    check_own_policies,
    check_trust,
)
from ecs_exec_roles._verify_tasks import check_task_definitions

# -- the whole verification -----------------------------------------------------------------------


def test_checks_run_in_order() -> None:
    assert tuple(CHECKS) == (
        check_trust,
        check_attachments,
        check_foreign_policies,
        check_own_policies,
        check_task_definitions,
    )


def test_compliant_role_has_no_finding() -> None:
    assert verify(assembly_of(template(resources())), [record()]) == []


def test_fails_when_the_role_is_not_in_the_assembly() -> None:
    assembly = assembly_of(template(resources()))
    findings = verify(assembly, [record(path="S/Gone/Resource/Resource")])
    finding = only(findings)
    assert finding.rule == f"NotVerified[{WHERE}]"
    assert finding.description.startswith(f"{WHERE}: ")
    assert "S/Gone/Resource/Resource" in finding.description
    assert (finding.template, finding.logical_id) == ("", "")


def test_fails_when_one_role_is_not_named_and_others_still_verified() -> None:
    assembly = assembly_of(template(resources()))
    unnamed = RoleRecord(where="S/Other", path="S/Other/Resource", trust=TRUST, derive=False)
    assert rules(verify(assembly, [unnamed, record()])) == ["NotVerified[S/Other]"]


def test_fails_when_several_checks_fail() -> None:
    body = resources(
        role_resource=role(ManagedPolicyArns=[ADMIN]),
        statements=(*STATEMENTS, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        Extra=policy(TOKEN_STATEMENT),
    )
    assert rules(verify(assembly_of(template(body)), [record()])) == [
        f"PolicyAttached[ManagedPolicyArns::{ADMIN}]",
        "PolicyAttached[S.template.json::Extra]",
        "PolicyChanged[s3:GetObject::*]",
    ]


def test_fails_when_a_policy_cannot_be_evaluated() -> None:
    numeric = {**TOKEN_STATEMENT, "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "1"}}}
    statements = (numeric, PULL_STATEMENT, LOGS_STATEMENT)
    body = resources(statements=statements)
    findings = verify(assembly_of(template(body)), [record(statements)])
    finding = only(findings)
    assert finding.rule == (
        "PolicyNotEvaluated[condition operator 'NumericLessThan' is not supported]"
    )
    assert_points_at(finding, ROLE_ID)
