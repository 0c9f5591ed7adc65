"""What the verification reads of one role (``_role_view``), over templates written by hand as
plain dicts: a :class:`RoleView`'s identity (ARN, name, account, partition, as text and as
messages show them), which ARNs and names are the role's, its findings, the names of
resources in messages, its own policies, every policy that reaches it, its permissions
boundary and IAM's decisions through it; and ``task_definitions``, every task definition of
the assembly that names an execution role."""

from __future__ import annotations

from typing import Any

import pytest
from verify_templates import (
    ACCOUNT,
    IMAGE,
    NAMED_ROLE,
    PATH,
    POLICY_ID,
    ROLE_ID,
    STARTER,
    STATEMENTS,
    STREAMS,
    TASK_ID,
    TOKEN_STATEMENT,
    WHERE,
    assembly_of,
    boundary_policy,
    container,
    document,
    policy,
    record,
    resources,
    role,
    task_definition,
    template,
)

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._evaluate import Decision, Request
from ecs_exec_roles._role_view import Finding, RoleRecord, RoleView, task_definitions
from ecs_exec_roles._template import Template

NAMED_ARN = f"arn:aws:iam::{ACCOUNT}:role/api-execution"


def view_of(
    body_resources: dict[str, Any], role_record: RoleRecord | None = None, **options: Any
) -> RoleView:
    """The view of the first template's ``Role1234``, its role, policy and task named."""
    assembly = assembly_of(template(body_resources, **options))
    return RoleView(assembly, role_record or record(), assembly.templates[0], ROLE_ID)


# -- identity -------------------------------------------------------------------------------------


def test_view_of_a_named_role_reads_its_identity() -> None:
    view = view_of(resources(role_resource=NAMED_ROLE))
    assert (view.logical_id, view.template.path) == (ROLE_ID, PATH)
    assert view.properties["RoleName"] == "api-execution"
    assert (view.arn, view.name) == (NAMED_ARN, "api-execution")
    assert (view.account, view.partition) == (ACCOUNT, "aws")
    assert view.managed_policy_arn("ReadOnlyAccess") == "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_view_of_an_unnamed_role_shows_its_name_by_its_construct_path() -> None:
    view = view_of(resources())
    assert view.display(view.arn) == f"arn:aws:iam::{ACCOUNT}:role/<S/Role/Resource>"
    assert view.display(view.name) == "<S/Role/Resource>"
    assert view.arn.endswith(f":role/{view.name}")


def test_view_of_a_stack_without_an_environment_shows_its_pseudo_parameters() -> None:
    built = Template(PATH, {"Resources": {ROLE_ID: NAMED_ROLE}}, "S", None, None)
    view = RoleView(Assembly([built]), record(), built, ROLE_ID)
    assert view.name == "api-execution"
    assert view.display(view.arn) == (
        "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/api-execution"
    )
    assert (view.display(view.account), view.display(view.partition)) == (
        "<AWS::AccountId>",
        "<AWS::Partition>",
    )
    assert view.display(view.managed_policy_arn("ReadOnlyAccess")) == (
        "arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(NAMED_ARN, True, id="arn"),
        pytest.param("api-execution", True, id="name"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/teams/api-execution", True, id="arn-with-path"),
        pytest.param("arn:aws:iam::999999999999:role/api-execution", False, id="other-account"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/other-role", False, id="other-name"),
        pytest.param("other-role", False, id="other-bare-name"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:policy/api-execution", False, id="policy-arn"),
        pytest.param("arn:aws:s3:::api-execution", False, id="other-service"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="none"),
    ],
)
def test_names_role(text: str | None, expected: bool) -> None:
    assert view_of(resources(role_resource=NAMED_ROLE)).names_role(text) is expected


def test_names_role_of_another_account_when_the_role_account_is_unknown() -> None:
    built = Template(PATH, {"Resources": {ROLE_ID: NAMED_ROLE}}, "S", None, None)
    view = RoleView(Assembly([built]), record(), built, ROLE_ID)
    assert view.names_role("arn:aws:iam::999999999999:role/api-execution") is True
    assert view.names_role("arn:aws:iam::999999999999:role/other-role") is False


# -- messages -------------------------------------------------------------------------------------


def test_finding_points_at_the_role_by_default() -> None:
    view = view_of(resources())
    assert view.finding("Rule", "detail", "what is wrong.", "the fix.") == Finding(
        "Rule[detail]", f"{WHERE}: what is wrong.", "the fix.", PATH, ROLE_ID
    )


def test_finding_points_at_the_resource_it_is_given() -> None:
    view = view_of(resources())
    finding = view.finding("Rule", "detail", "what.", "fix.", ("/a/T.template.json", "Extra"))
    assert finding == Finding(
        "Rule[detail]", f"{WHERE}: what.", "fix.", "/a/T.template.json", "Extra"
    )


def test_resource_name_is_the_construct_path_or_the_template_and_logical_id() -> None:
    view = view_of(resources(Extra=policy(TOKEN_STATEMENT)))
    assert view.resource_name(view.template, POLICY_ID) == "S/Role/Policy"
    assert view.resource_name(view.template, ROLE_ID) == "S/Role/Resource"
    assert view.resource_name(view.template, "Extra") == "S.template.json::Extra"


# -- policies -------------------------------------------------------------------------------------


def test_own_policies_are_the_records_policies_by_their_resource() -> None:
    role_record = record()
    view = view_of(resources(), role_record)
    assert view.own_policies == {
        (id(view.template), POLICY_ID): (view.template, POLICY_ID, role_record.policies[0])
    }


def test_own_policies_leave_out_a_policy_the_assembly_does_not_name() -> None:
    built = template(resources())
    assembly = Assembly([built])
    assembly.name(built, ROLE_ID, "S/Role/Resource/Resource")
    assert RoleView(assembly, record(), built, ROLE_ID).own_policies == {}


def test_attached_lists_every_policy_resource_naming_the_role() -> None:
    view = view_of(
        resources(
            role_resource=NAMED_ROLE,
            Named=policy(TOKEN_STATEMENT, roles=["api-execution"], kind="AWS::IAM::Policy"),
            Inline=policy(TOKEN_STATEMENT, roles=[NAMED_ARN], kind="AWS::IAM::RolePolicy"),
            Other=role(),
            OfOther=policy(TOKEN_STATEMENT, roles=[{"Ref": "Other"}]),
        )
    )
    assert [(t.path, logical_id, doc) for t, logical_id, doc in view.attached] == [
        (PATH, POLICY_ID, document(*STATEMENTS)),
        (PATH, "Named", document(TOKEN_STATEMENT)),
        (PATH, "Inline", document(TOKEN_STATEMENT)),
    ]


def test_policies_are_inline_attached_and_aws_managed() -> None:
    inline = {"PolicyName": "x", "PolicyDocument": document(TOKEN_STATEMENT)}
    view = view_of(resources(role_resource=role(Policies=[inline])), record(aws_managed=(STARTER,)))
    assert view.policies == [
        document(TOKEN_STATEMENT),
        document(*STATEMENTS),
        {"Statement": [{"Effect": "Allow", "Action": list(STARTER.actions), "Resource": "*"}]},
    ]


def test_a_customer_managed_policy_the_role_attaches_by_arn_reaches_it_once() -> None:
    parameters = {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}
    attached_by_arn = policy(parameters, roles=[])
    view = view_of(
        resources(
            role_resource=role(ManagedPolicyArns=[{"Ref": "ByArn"}, {"Ref": POLICY_ID}]),
            ByArn=attached_by_arn,
        )
    )
    # The policy that also names the role from its side is read once.
    assert [logical_id for _, logical_id, _ in view.managed_of_assembly] == ["ByArn"]
    assert view.policies == [document(*STATEMENTS), document(parameters)]
    assert view.evaluator.evaluate(Request("ssm:GetParameters", "x")) is Decision.ALLOW


# -- permissions boundary -------------------------------------------------------------------------

LOGS_ONLY = document({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})


def test_role_without_a_boundary() -> None:
    view = view_of(resources())
    assert (view.boundary_arn, view.boundary) == (None, None)


def test_boundary_of_the_assembly_is_read() -> None:
    view = view_of(
        resources(
            role_resource=role(PermissionsBoundary={"Ref": "Boundary"}),
            Boundary=boundary_policy(LOGS_ONLY),
        )
    )
    assert view.display(view.boundary_arn) == "<Boundary>"
    assert view.boundary == [LOGS_ONLY]


def test_boundary_outside_the_assembly_has_its_arn_and_no_document() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/org-boundary"
    view = view_of(resources(role_resource=role(PermissionsBoundary=arn)))
    assert (view.boundary_arn, view.boundary) == (arn, None)


def test_boundary_of_a_stack_parameter_has_no_document() -> None:
    view = view_of(
        resources(role_resource=role(PermissionsBoundary={"Ref": "BoundaryArn"})),
        parameters={"BoundaryArn": {"Type": "String"}},
    )
    assert view.display(view.boundary_arn) == "<BoundaryArn>"
    assert view.boundary is None


def test_evaluator_decides_by_the_policies_and_through_the_boundary() -> None:
    token = Request("ecr:GetAuthorizationToken", "*")
    streams = Request("logs:CreateLogStream", STREAMS)
    unbounded = view_of(resources())
    assert unbounded.evaluator.evaluate(token) is Decision.ALLOW
    assert unbounded.evaluator.evaluate(streams) is Decision.ALLOW
    assert unbounded.evaluator.evaluate(Request("s3:GetObject", "*")) is Decision.IMPLICIT_DENY
    bounded = view_of(
        resources(
            role_resource=role(PermissionsBoundary={"Ref": "Boundary"}),
            Boundary=boundary_policy(LOGS_ONLY),
        )
    )
    assert bounded.evaluator.evaluate(token) is Decision.IMPLICIT_DENY
    assert bounded.evaluator.evaluate(streams) is Decision.ALLOW


# -- task_definitions -----------------------------------------------------------------------------


def test_task_definitions_of_every_template_that_name_an_execution_role() -> None:
    without_role = task_definition()
    del without_role["Properties"]["ExecutionRoleArn"]
    bare = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"ExecutionRoleArn": NAMED_ARN, "ContainerDefinitions": "none"},
    }
    first = template(
        {ROLE_ID: role(), TASK_ID: task_definition(), "NoRole": without_role, "Bare": bare}
    )
    web = task_definition(container("web"), role_arn={"Ref": "RoleArn"}, family="web")
    second = template(
        {"NotAResource": "text", "Web": web},
        path="/a/T.template.json",
        stack="T",
        parameters={"RoleArn": {"Type": "String"}},
    )
    assembly = assembly_of(first, second)
    found = task_definitions(assembly)
    assert [
        (t.template, t.logical_id, assembly.symbols.display(t.role_arn), t.family, t.containers)
        for t in found
    ] == [
        (first, TASK_ID, f"arn:aws:iam::{ACCOUNT}:role/<S/Role/Resource>", "api", [container()]),
        (first, "Bare", NAMED_ARN, "", []),
        (second, "Web", "<RoleArn>", "web", [container("web")]),
    ]
    assert found[0].containers[0]["Image"] == IMAGE


def test_task_definition_names_the_role_as_its_view_has_it() -> None:
    assembly = assembly_of(template(resources()))
    view = RoleView(assembly, record(), assembly.templates[0], ROLE_ID)
    (task,) = task_definitions(assembly)
    assert task.role_arn == view.arn
    assert view.names_role(task.role_arn) is True


def test_no_task_definitions() -> None:
    assert task_definitions(assembly_of(template({ROLE_ID: role()}))) == []
