"""The synth-time checks (``_checks``), each with a covered and a not-covered case.

Facts are built directly from literal needs and grants: no app is synthesized.
"""

from __future__ import annotations

from typing import Any

from helpers import role_options

from ecs_exec_roles._checks import (
    Facts,
    Grant,
    check_grants_covered,
    check_nothing_attached,
    check_observations,
    check_policy_count,
    errors_of,
)
from ecs_exec_roles._firelens import Routers
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._plan import AwsManagedPolicy, Plan
from ecs_exec_roles._synthesis import synthesize

REPOSITORY = "arn:aws:ecr:eu-west-1:123456789012:repository/app"
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app"
PULL = {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": REPOSITORY}


def _facts(
    needs: list[Need], *, sealed: bool = True, max_managed_policies: int = 10, **kwargs: Any
) -> Facts:
    plan = Plan("Stack/Role", role_options(max_managed_policies), kwargs.pop("managed", ()))
    plan.add(needs, family=kwargs.pop("family", None))
    if "routers" in kwargs:
        plan.observe(kwargs.pop("routers"))
    if not sealed:
        return Facts(plan, None, **kwargs)
    plan.seal()
    synthesis = synthesize(
        plan, lambda value: value, url_suffix="amazonaws.com", pseudo_max_chars={}
    )
    grants = kwargs.pop("grants", [])
    return Facts(
        plan,
        synthesis,
        distinct_grants=grants,
        each_grant=lambda: [Grant(g, "task family 'app' (Stack/Task)", "app") for g in grants],
        **kwargs,
    )


def _repository() -> Need:
    return Need(Kind.REPOSITORY, REPOSITORY, "t")


def test_check_grants_covered() -> None:
    assert check_grants_covered(_facts([_repository()], grants=[PULL])) == []
    (finding,) = check_grants_covered(_facts([], grants=[PULL]))
    assert finding.gap is not None and finding.gap.action == "ecr:BatchGetImage"
    assert finding.gap.origin == "task family 'app' (Stack/Task)"


def test_check_grants_covered_by_an_aws_managed_policy() -> None:
    managed = (AwsManagedPolicy("service-role/X", ("ecr:BatchGetImage",), "why"),)
    assert check_grants_covered(_facts([], grants=[PULL], managed=managed)) == []


def test_check_policy_count() -> None:
    needs = [
        Need(Kind.REPOSITORY, f"{REPOSITORY}-{index:03d}-" + "x" * 200, "t") for index in range(60)
    ]
    assert check_policy_count(_facts(needs, max_managed_policies=3)) == []
    (finding,) = check_policy_count(_facts(needs, max_managed_policies=1))
    assert "max_managed_policies is 1" in finding.message
    assert "3 managed policies of 6144 characters" in finding.message


def test_check_nothing_attached() -> None:
    assert check_nothing_attached(_facts([])) == []
    (finding,) = check_nothing_attached(_facts([], inline_policies=["Stack/Inline"]))
    assert "the inline policy Stack/Inline is attached" in finding.message


def test_check_observations() -> None:
    assert check_observations(_facts([], routers=Routers())) == []
    assert check_observations(_facts([])) == []
    (finding,) = check_observations(_facts([], routers=Routers(errors=["Stack/Role: x"])))
    assert finding.message == "Stack/Role: x"


def test_a_grant_an_observation_accounts_for_is_not_a_gap() -> None:
    star = {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}

    class Accounts(Routers):
        def accounted_for(self, grants: Any) -> set[int]:
            return {index for index, grant in enumerate(grants) if grant == star}

    assert check_grants_covered(_facts([], grants=[star], routers=Accounts())) == []
    assert len(check_grants_covered(_facts([], grants=[star], routers=Routers()))) == 1


def test_a_role_never_sealed_gets_one_message_and_no_other_check() -> None:
    (message,) = errors_of(_facts([], sealed=False, inline_policies=["Stack/Inline"]))
    assert "the role was created after its policies were built" in message


def test_gaps_of_every_check_form_one_message_naming_registered_families() -> None:
    secret = "arn:aws:secretsmanager:r:1:secret:x-??????"
    read = {
        "secret": {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
    }
    facts = _facts(
        [Need(Kind.LOG_GROUP, f"{LOG_GROUP}:*", "t")],
        family="app",
        grants=[PULL, read["secret"]],
        inline_policies=["Stack/Inline"],
    )
    gaps, inline = errors_of(facts)
    assert gaps.startswith("Stack/Role: the execution role does not cover 2 permission(s)")
    assert "ecr:BatchGetImage on arn:aws:ecr" in gaps
    assert "add it with add_family('app', ...)" in gaps
    assert f"secretsmanager:GetSecretValue on {secret}" in gaps
    assert "Stack/Inline" in inline


def _aspect_facts(needs: list[Need], grants: list[dict[str, Any]]) -> Facts:
    """Facts of a role the aspect hardens: its owner takes no resource props."""
    plan = Plan("Stack/Task/ExecutionRole", role_options())
    plan.owner = "HardenExecutionRoles"
    plan.takes = frozenset({"trust_conditions", "guardduty_runtime_monitoring"})
    plan.add(needs)
    plan.seal()
    synthesis = synthesize(
        plan, lambda value: value, url_suffix="amazonaws.com", pseudo_max_chars={}
    )
    return Facts(
        plan,
        synthesis,
        distinct_grants=grants,
        each_grant=lambda: [Grant(g, "task definition Stack/Task") for g in grants],
    )


def test_the_aspects_gap_fixes_name_its_options_never_a_constructs_props() -> None:
    grants = [
        {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": LOG_GROUP + ":*"},
    ]
    (message,) = errors_of(_aspect_facts([_repository()], grants))
    assert message.count("HardenExecutionRoles") == 2
    assert "guardduty_runtime_monitoring=True to HardenExecutionRoles" in message
    assert "firelens_default_router" not in message
    assert "remove the grant, or give the task definition a MinimalExecutionRole" in message
    assert "add the resource to" not in message


def test_a_constructs_gap_fix_names_its_prop() -> None:
    grants = [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": LOG_GROUP + ":*"}]
    (message,) = errors_of(_facts([_repository()], grants=grants))
    assert "add the resource to `log_groups`" in message
