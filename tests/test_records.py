"""What the verification reads of the library's roles (``_records``): one record per role whose
policies are built, with its trust policy and its policies' statements as the library wrote
them, resolved in the stack each is in, with one call into aws-cdk-lib per stack.

The verification reads these records end to end in ``test_verify.py`` and
``test_verify_apps.py``.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from helpers import api_task

from ecs_exec_roles import MinimalExecutionRole, StarterExecutionRole
from ecs_exec_roles._app import stack_state
from ecs_exec_roles._lifecycle import StackRoles
from ecs_exec_roles._records import _StackValues, app_records, verification_records
from ecs_exec_roles._role_view import AwsManagedDocument, PolicyRecord

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)


def _partition_arn(rest: str) -> dict[str, Any]:
    """``arn:<partition>:<rest>`` as a template writes it."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":{rest}"]]}


def _trust(condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Statement": [statement], "Version": "2012-10-17"}


def _built(stack: cdk.Stack) -> StackRoles:
    """The stack's roles, their policies built (as synthesis builds them)."""
    registry = StackRoles.of(stack)
    registry.finalize()
    return registry


class _FakeStack:
    """A stack whose values resolve to ``(name, value)``; each call is recorded."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[list[Any]] = []

    def resolve(self, values: list[Any]) -> list[Any]:
        self.calls.append(list(values))
        return [(self.name, value) for value in values]


# -- values resolved per stack ---------------------------------------------------------------------


def test_values_are_resolved_in_their_stack_with_one_call_per_stack() -> None:
    values = _StackValues()
    first, second = _FakeStack("first"), _FakeStack("second")
    asked = [
        values.ask(first, "a"),  # type: ignore[arg-type]
        values.ask(second, "b"),  # type: ignore[arg-type]
        values.ask(first, ["c"]),  # type: ignore[arg-type]
    ]
    assert asked == [(id(first), 0), (id(second), 0), (id(first), 1)]
    resolved = values.resolve()
    assert first.calls == [["a", ["c"]]]
    assert second.calls == [["b"]]
    assert [resolved(a) for a in asked] == [("first", "a"), ("second", "b"), ("first", ["c"])]


def test_no_records_and_nothing_resolved_when_no_role_is_built() -> None:
    stack = _FakeStack("stack")
    roles = SimpleNamespace(stack=stack, entries=[SimpleNamespace(synthesis=None)])
    assert verification_records(roles) == []
    assert stack.calls == []


# -- one stack -------------------------------------------------------------------------------------


def test_the_record_of_a_derived_role_holds_its_trust_and_its_policys_statements() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    role = MinimalExecutionRole(stack, "Role")
    api_task(stack, role)
    registry = StackRoles.of(stack)
    # Nothing is recorded before the role is built.
    assert verification_records(registry) == []
    registry.finalize()
    (record,) = verification_records(registry)
    assert record.where == "S/Role"
    assert record.path == "S/Role/Resource/Resource"
    assert record.derive is True
    assert record.trust == _trust(
        {
            "ArnLike": {"aws:SourceArn": _partition_arn(f"ecs:{REGION}:{ACCOUNT}:*")},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        }
    )
    pull = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    assert record.policies == (
        PolicyRecord(
            "S/Role/Policy/Resource",
            (
                {
                    "Sid": "EcrAuthorizationToken",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "EcrImagePull",
                    "Effect": "Allow",
                    "Action": pull,
                    "Resource": _partition_arn(f"ecr:{REGION}:{ACCOUNT}:repository/team/api"),
                },
                {
                    "Sid": "LogsWrite",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": _partition_arn(
                        f"logs:{REGION}:{ACCOUNT}:log-group:/ecs/api:log-stream:api/*"
                    ),
                },
            ),
        ),
    )
    assert record.aws_managed_policies == ()


_AGNOSTIC_SOURCE = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":ecs:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":*",
        ],
    ]
}
_ALL_REGIONS_SOURCE = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":ecs:*:", {"Ref": "AWS::AccountId"}, ":*"],
    ]
}


@pytest.mark.parametrize(
    ("trust_conditions", "trust_all_regions", "condition"),
    [
        (
            True,
            False,
            {
                "ArnLike": {"aws:SourceArn": _AGNOSTIC_SOURCE},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
        ),
        (
            True,
            True,
            {
                "ArnLike": {"aws:SourceArn": _ALL_REGIONS_SOURCE},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
        ),
        (False, False, None),
    ],
    ids=["conditions", "all-regions", "no-conditions"],
)
def test_the_trust_of_a_record_follows_the_roles_trust_options(
    trust_conditions: bool, trust_all_regions: bool, condition: dict[str, Any] | None
) -> None:
    stack = cdk.Stack(cdk.App(), "Agnostic")
    MinimalExecutionRole(
        stack,
        "Role",
        trust_conditions=trust_conditions,
        trust_all_regions=trust_all_regions,
        derive=False,
    )
    (record,) = verification_records(_built(stack))
    assert record.trust == _trust(condition)
    assert record.derive is False
    # A role that names nothing has no policy of the library's.
    assert record.policies == ()


def test_the_record_of_a_starter_role_names_its_aws_managed_policy_and_what_it_allows() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    StarterExecutionRole(stack, "Starter")
    (record,) = verification_records(_built(stack))
    assert record.aws_managed_policies == (
        AwsManagedDocument(
            "service-role/AmazonECSTaskExecutionRolePolicy",
            (
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ),
        ),
    )
    assert record.policies == ()


def test_a_record_holds_what_the_library_wrote_not_what_was_added_to_its_policy() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    role = MinimalExecutionRole(stack, "Role", derive=False, log_groups=[group])
    registry = _built(stack)
    (policy,) = role.managed_policies
    policy.add_statements(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))  # type: ignore[attr-defined]
    (record,) = verification_records(registry)
    ((path, statements),) = ((p.path, p.statements) for p in record.policies)
    assert path == "S/Role/Policy/Resource"
    assert [statement["Sid"] for statement in statements] == ["LogsWrite"]
    # The policy itself has the statement added.
    assert "s3:*" in json.dumps(stack.resolve(policy.document))  # type: ignore[attr-defined]


def test_a_role_created_after_its_stack_was_built_has_no_record() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    MinimalExecutionRole(stack, "Early")
    registry = _built(stack)
    MinimalExecutionRole(stack, "Late")
    assert [record.where for record in verification_records(registry)] == ["S/Early"]


# -- the app ---------------------------------------------------------------------------------------


def test_app_records_are_grouped_by_stack_in_the_order_the_library_met_them() -> None:
    app = cdk.App()
    second, first = cdk.Stack(app, "B", env=ENV), cdk.Stack(app, "A", env=ENV)
    cdk.Stack(app, "NoRoles", env=ENV)
    MinimalExecutionRole(second, "One")
    MinimalExecutionRole(first, "Two")
    MinimalExecutionRole(second, "Three")
    state = stack_state(first).app
    assert app_records(state) == []
    _built(first)
    assert [record.where for record in app_records(state)] == ["A/Two"]
    _built(second)
    assert [record.where for record in app_records(state)] == ["B/One", "B/Three", "A/Two"]


def test_a_policy_in_another_stack_is_resolved_in_that_stack() -> None:
    # The role and one log group live in Platform, the task definition and another log group
    # in Service: the role's policy for the task goes into Service, where Platform's log group
    # is an import and Service's own a Ref.
    app = cdk.App()
    platform, service = cdk.Stack(app, "Platform", env=ENV), cdk.Stack(app, "Service", env=ENV)
    role = MinimalExecutionRole(platform, "Role")
    platform_logs = logs.LogGroup(platform, "PlatformLogs")
    service_logs = logs.LogGroup(service, "ServiceLogs")
    task = ecs.FargateTaskDefinition(service, "Task", execution_role=role, family="api")
    for name, group in (("platform", platform_logs), ("service", service_logs)):
        task.add_container(
            name,
            image=ecs.ContainerImage.from_registry("nginx"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=group),
        )
    assembly = app.synth()
    outputs = assembly.get_stack_by_name("Platform").template["Outputs"]
    platform_id = platform.get_logical_id(platform_logs.node.default_child)  # type: ignore[arg-type]
    (export,) = (
        output["Export"]["Name"]
        for output in outputs.values()
        if output["Value"] == {"Ref": platform_id}
    )
    service_id = service.get_logical_id(service_logs.node.default_child)  # type: ignore[arg-type]

    def stream(group: Any, prefix: str) -> dict[str, Any]:
        return {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":logs:{REGION}:{ACCOUNT}:log-group:",
                    group,
                    f":log-stream:{prefix}/*",
                ],
            ]
        }

    (record,) = app_records(stack_state(platform).app)
    assert record.where == "Platform/Role"
    (policy,) = record.policies
    assert policy.path == "Service/Platform--Role/Policy/Resource"
    ((statement,),) = (policy.statements,)
    assert statement["Sid"] == "LogsWrite"
    assert statement["Resource"] == [
        stream({"Fn::ImportValue": export}, "platform"),
        stream({"Ref": service_id}, "service"),
    ]
