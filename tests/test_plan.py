"""The plan (``_plan``): what a role must allow, sealed at synth."""

from __future__ import annotations

import pytest
from helpers import role_options

from ecs_exec_roles import ExecutionRoleError
from ecs_exec_roles._firelens import Routers
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._plan import AwsManagedPolicy, Plan


def _plan(max_managed_policies: int = 10, *managed: AwsManagedPolicy) -> Plan:
    return Plan("S/Role", role_options(max_managed_policies), managed)


def test_needs_from_props_come_before_needs_observed_at_synth() -> None:
    plan = _plan()
    first = Need(Kind.REPOSITORY, "arn:aws:ecr:r:1:repository/a", "p")
    observed = Need(Kind.LOG_GROUP, "arn:aws:logs:r:1:log-group:router:*", "o")
    plan.add([first])
    plan.observe(Routers(needs=[observed]))
    assert plan.needs == (first, observed)


def test_fails_when_needs_are_added_after_the_plan_is_sealed() -> None:
    plan = _plan()
    plan.seal()
    with pytest.raises(ExecutionRoleError, match=r"^S/Role: resources were added after"):
        plan.add([])


def test_aws_managed_policies_count_toward_the_cap_and_cover_their_actions() -> None:
    managed = AwsManagedPolicy("service-role/X", ("ecr:BatchGetImage", "logs:PutLogEvents"), "r")
    plan = _plan(4, managed)
    assert plan.policy_limit == 3
    assert [(c.action, c.pattern) for c in plan.role_covers] == [
        ("ecr:batchgetimage", "*"),
        ("logs:putlogevents", "*"),
    ]


def test_family_report_lists_each_family_once_per_resource() -> None:
    plan = _plan()
    need = Need(Kind.REPOSITORY, "arn:aws:ecr:r:1:repository/a", "p")
    plan.add([need, need], family="api")
    plan.add([Need(Kind.SECRET, "arn:aws:secretsmanager:r:1:secret:x-??????", "p")], family="api")
    assert plan.family_report(lambda value: value) == {
        "api": (
            "repository: arn:aws:ecr:r:1:repository/a",
            "secret: arn:aws:secretsmanager:r:1:secret:x-??????",
        )
    }
