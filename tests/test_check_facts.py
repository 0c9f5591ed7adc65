"""What the synth-time checks are given for each role (``_check_facts``): the grants resolved
for every role in one call, each grant on its own with what made it, the values resolved
again, the managed policies attached and the registry credentials the containers name.

How the checks read these facts is tested in ``test_checks.py`` and ``test_synth_check.py``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._app import stack_state
from ecs_exec_roles._cfn import Resolver
from ecs_exec_roles._check_facts import (
    _check_values,
    _distinct,
    _each_grant,
    _finalize_document,
    _managed_policy_arns,
    _registry_credentials,
    _resolved_grants,
)
from ecs_exec_roles._checks import Grant
from ecs_exec_roles._lifecycle import StackRoles
from ecs_exec_roles._recorder import RecordedGrant
from ecs_exec_roles._task_definitions import tasks_using

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)

TOKEN = {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
PULL = {"Action": "ecr:BatchGetImage", "Effect": "Allow", "Resource": "arn:aws:ecr:::r"}


def _statement(json: dict[str, Any]) -> iam.PolicyStatement:
    return iam.PolicyStatement.from_json(json)


def _granted(*statements: dict[str, Any], document: Any = None) -> Any:
    """What ``_resolved_grants`` reads of an entry: its role's grants and the document
    gathered at finalize."""
    grants = [SimpleNamespace(statement=_statement(s)) for s in statements]
    return SimpleNamespace(role=SimpleNamespace(recorded_grants=grants), grant_document=document)


def test_distinct_drops_repeats_in_order_whatever_the_key_order() -> None:
    reordered = {"Resource": "*", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken"}
    assert _distinct([TOKEN, PULL, reordered, PULL]) == [TOKEN, PULL]
    assert _distinct([]) == []


def test_check_values_are_every_statement_resource_need_arn_and_alias() -> None:
    needs = (
        SimpleNamespace(arn="arn:a", grant_aliases=("alias:a",)),
        SimpleNamespace(arn="arn:b", grant_aliases=()),
    )
    statements = (
        SimpleNamespace(resources=(SimpleNamespace(value="*"), SimpleNamespace(value="arn:a"))),
    )
    built = SimpleNamespace(plan=SimpleNamespace(needs=needs), synthesis=None)
    assert _check_values(built) == ["arn:a", "alias:a", "arn:b"]  # type: ignore[arg-type]
    built.synthesis = SimpleNamespace(statements=statements)
    assert _check_values(built) == ["*", "arn:a", "arn:a", "alias:a", "arn:b"]  # type: ignore[arg-type]


def test_finalize_document_serves_while_no_grant_came_after_it() -> None:
    document = {"Statement": [TOKEN]}
    assert _finalize_document(_granted(TOKEN, document=(1, document))) is document
    assert _finalize_document(_granted(TOKEN, PULL, document=(1, document))) is None
    assert _finalize_document(_granted(TOKEN)) is None


def test_resolved_grants_are_each_roles_distinct_statements_in_template_form() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    logs_write = {"Action": "logs:PutLogEvents", "Effect": "Allow", "Resource": stack.region}
    resolved_logs = {**logs_write, "Resource": {"Ref": "AWS::Region"}}
    fresh = _granted(TOKEN, document=(1, {"Statement": [logs_write]}))
    none = _granted()
    stale = _granted(TOKEN, PULL, TOKEN, document=(1, {"Statement": []}))
    also_stale = _granted(TOKEN, logs_write, TOKEN)
    grants = _resolved_grants(stack, [fresh, none, stale, also_stale])  # type: ignore[arg-type]
    # The finalize document is taken as it is; the stale roles' grants are resolved together,
    # their repeats dropped per role (not across roles).
    assert grants == [[resolved_logs], [], [TOKEN, PULL], [TOKEN, resolved_logs]]


def test_resolved_grants_of_one_stale_role_drop_its_repeats() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    grants = _resolved_grants(stack, [_granted(PULL, TOKEN, PULL), _granted()])  # type: ignore[arg-type]
    assert grants == [[PULL, TOKEN], []]
    assert _resolved_grants(stack, [_granted()]) == [[]]  # type: ignore[arg-type]


def test_managed_policy_arns_are_flattened_per_role() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    managed = iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")
    named = iam.ManagedPolicy.from_managed_policy_arn(
        stack, "Named", f"arn:aws:iam::{ACCOUNT}:policy/team"
    )
    entries = [
        SimpleNamespace(role=SimpleNamespace(attached_managed_policies=[managed, named])),
        SimpleNamespace(role=SimpleNamespace(attached_managed_policies=[])),
    ]
    assert _managed_policy_arns(entries, Resolver(stack)) == [  # type: ignore[arg-type]
        [
            "arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess",
            f"arn:aws:iam::{ACCOUNT}:policy/team",
        ],
        [],
    ]


def test_each_grant_names_its_task_or_else_the_only_task_using_the_role() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    api = ecs.FargateTaskDefinition(stack, "Api", family="api")
    unnamed = ecs.FargateTaskDefinition(stack, "Unnamed")
    made_for_api = RecordedGrant(_statement(PULL), api)
    made_by_the_app = RecordedGrant(_statement({**TOKEN, "Resource": stack.region}), None)
    role = SimpleNamespace(recorded_grants=[made_for_api, made_by_the_app])
    token = {**TOKEN, "Resource": {"Ref": "AWS::Region"}}
    one = [SimpleNamespace(task=unnamed)]
    assert _each_grant(stack, role, one) == [  # type: ignore[arg-type]
        Grant(PULL, "task family 'api' (Stack/Api)", "api"),
        Grant(token, "task definition Stack/Unnamed", ""),
    ]
    two = [SimpleNamespace(task=unnamed), SimpleNamespace(task=api)]
    assert _each_grant(stack, role, two) == [  # type: ignore[arg-type]
        Grant(PULL, "task family 'api' (Stack/Api)", "api"),
        Grant(token, "", ""),
    ]


def test_registry_credentials_are_each_secret_with_the_container_naming_it() -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    role = MinimalExecutionRole(stack, "Role", derive=False)
    secret = secretsmanager.Secret.from_secret_complete_arn(
        stack, "Credentials", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hub-AbCdEf"
    )
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role, family="api")
    task.add_container(
        "app", image=ecs.ContainerImage.from_registry("example/app:1", credentials=secret)
    )
    task.add_container("side", image=ecs.ContainerImage.from_registry("example/side:1"))
    tasks = tasks_using(stack_state(stack).app, StackRoles.of(stack).entries[0].role)
    assert _registry_credentials(stack, tasks) == [
        (
            f"arn:<AWS::Partition>:secretsmanager:{REGION}:{ACCOUNT}:secret:hub-AbCdEf",
            "container 'app' of task family 'api' (Stack/Task)",
        )
    ]
    assert _registry_credentials(stack, []) == []
