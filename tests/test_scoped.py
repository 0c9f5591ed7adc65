"""SharedExecutionRole's scoped modes (``_scoped``): the needs that name prefixes and resource
tags give, read from checked ``ScopedProps`` and the environment of the scope's stack.

``test_scale`` checks the statements of both modes in a stack with a known environment and
that tasks under the prefixes synthesize; ``test_props`` and ``test_bad_input`` check the
props themselves; ``test_nag`` checks that the wildcards leave no open finding.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from constructs import Construct
from helpers import policy_statements, role_logical_id

from ecs_exec_roles import SharedExecutionRole
from ecs_exec_roles._cfn import flatten
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._names import name_problem
from ecs_exec_roles._needs import Need
from ecs_exec_roles._props import ScopedProps
from ecs_exec_roles._scoped import scoped_needs

ACCOUNT = "123456789012"
REGION = "eu-west-1"
HEAD = f"arn:<AWS::Partition>:{{service}}:{REGION}:{ACCOUNT}:"
AGNOSTIC_HEAD = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:"


def _reason(what: str) -> str:
    return (
        "Scoped mode chosen by the user (SharedExecutionRole name prefixes): every "
        f"{what} whose name starts with the prefix, so the role stays one size however many "
        "task families use it."
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, cdk.Stack]:
    """Stacks of one app that scoped_needs reads but never changes."""
    app = cdk.App()
    return {
        "env": cdk.Stack(app, "Env", env=cdk.Environment(account=ACCOUNT, region=REGION)),
        "agnostic": cdk.Stack(app, "Agnostic"),
        "virginia": cdk.Stack(
            app, "Virginia", env=cdk.Environment(account="210987654321", region="us-east-1")
        ),
    }


def _arn(stack: cdk.Stack, need: Need) -> str:
    """The need's ARN as literal text, each pseudo parameter as ``<AWS::...>``."""
    return flatten(stack.resolve(need.arn))


def _summary(stack: cdk.Stack, needs: list[Need]) -> list[tuple[Kind, str, str, str]]:
    return [(n.kind, _arn(stack, n), str(n.origin), n.wildcard) for n in needs]


# -- name prefixes -----------------------------------------------------------------------------


def test_no_scoped_prop_gives_no_need(stacks: dict[str, cdk.Stack]) -> None:
    assert scoped_needs(stacks["env"], ScopedProps()) == []


def test_each_prefix_names_every_resource_under_it_in_the_stacks_environment(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["env"]
    # Given in another order than the needs come out: repositories, log groups, secrets,
    # parameters.
    props = ScopedProps(
        parameter_prefixes=("/team/",),
        secret_prefixes=("team/",),
        log_group_prefixes=("/ecs/team/",),
        repository_prefixes=("team/",),
    )
    needs = scoped_needs(stack, props)
    assert _summary(stack, needs) == [
        (
            Kind.REPOSITORY,
            HEAD.format(service="ecr") + "repository/team/*",
            "repository_prefixes 'team/'",
            "*",
        ),
        (
            Kind.LOG_GROUP,
            HEAD.format(service="logs") + "log-group:/ecs/team/*",
            "log_group_prefixes '/ecs/team/'",
            "*",
        ),
        (
            Kind.SECRET,
            HEAD.format(service="secretsmanager") + "secret:team/*",
            "secret_prefixes 'team/'",
            "*",
        ),
        (
            Kind.PARAMETER,
            HEAD.format(service="ssm") + "parameter/team/*",
            "parameter_prefixes '/team/'",
            "*",
        ),
    ]
    assert [n.reason for n in needs] == [
        _reason("repository"),
        _reason("log group (and its streams)"),
        _reason("secret"),
        _reason("parameter"),
    ]
    # Prefix needs are plain grants: no region, services, aliases, tags or other stack.
    assert all(
        (n.region, n.services, n.grant_aliases, n.tags, n.home) == ("", (), (), (), None)
        for n in needs
    )


def test_several_prefixes_of_one_prop_each_give_a_need_in_the_order_given(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["env"]
    needs = scoped_needs(stack, ScopedProps(repository_prefixes=("team/", "shared-", "b")))
    assert [_arn(stack, n) for n in needs] == [
        HEAD.format(service="ecr") + f"repository/{name}*" for name in ("team/", "shared-", "b")
    ]


def test_parameter_prefix_loses_its_leading_slash_in_the_arn_when_it_has_one(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["env"]
    with_slash, without_slash = scoped_needs(
        stack, ScopedProps(parameter_prefixes=("/team/", "team/"))
    )
    # A parameter ARN holds the name without its leading "/": both name the same parameters
    # and are one need, though each message shows the prefix as given.
    assert _arn(stack, with_slash) == HEAD.format(service="ssm") + "parameter/team/*"
    assert with_slash == without_slash
    assert (str(with_slash.origin), str(without_slash.origin)) == (
        "parameter_prefixes '/team/'",
        "parameter_prefixes 'team/'",
    )


@pytest.mark.parametrize(
    ("prop", "kind"),
    [
        ("repository_prefixes", Kind.REPOSITORY),
        ("log_group_prefixes", Kind.LOG_GROUP),
        ("secret_prefixes", Kind.SECRET),
    ],
)
def test_only_parameter_prefixes_lose_a_leading_slash(
    stacks: dict[str, cdk.Stack], prop: str, kind: Kind
) -> None:
    stack = stacks["env"]
    (need,) = scoped_needs(stack, ScopedProps.checked("Env/Role", **{prop: ["/a/"]}))
    assert need.kind is kind
    assert _arn(stack, need).endswith(f"{kind.marker}/a/*")


def test_prefixes_in_an_environment_agnostic_stack_keep_region_and_account_unknown(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["agnostic"]
    needs = scoped_needs(
        stack, ScopedProps(repository_prefixes=("team/",), secret_prefixes=("team/",))
    )
    assert [_arn(stack, n) for n in needs] == [
        AGNOSTIC_HEAD.format(service="ecr") + "repository/team/*",
        AGNOSTIC_HEAD.format(service="secretsmanager") + "secret:team/*",
    ]


def test_prefixes_use_the_environment_of_the_stack_the_scope_is_in(
    stacks: dict[str, cdk.Stack],
) -> None:
    scope = Construct(stacks["virginia"], "Team")
    (need,) = scoped_needs(scope, ScopedProps(log_group_prefixes=("/ecs/team/",)))
    assert _arn(stacks["virginia"], need) == (
        "arn:<AWS::Partition>:logs:us-east-1:210987654321:log-group:/ecs/team/*"
    )


def test_prefix_wildcard_is_the_one_the_need_declares_so_its_name_passes_the_check(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["env"]
    props = ScopedProps(
        repository_prefixes=("team/",),
        log_group_prefixes=("/ecs/team/",),
        secret_prefixes=("team/",),
        parameter_prefixes=("/team/",),
    )
    for need in scoped_needs(stack, props):
        text = _arn(stack, need)
        assert name_problem(need.kind, text, need.wildcard) is None, text
        # Without the declared wildcard the "*" would read as a wildcard in the name.
        assert "holds the IAM wildcard '*' or '?' in its name" in str(name_problem(need.kind, text))


# -- resource tags -----------------------------------------------------------------------------


def test_tags_name_every_secret_parameter_and_key_of_the_account_and_region(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["env"]
    tags = (("env", "prod"), ("team", "payments"))
    needs = scoped_needs(stack, ScopedProps(resource_tags=tags))
    origin = "resource_tags {'env': 'prod', 'team': 'payments'}"
    assert _summary(stack, needs) == [
        (Kind.SECRET_BY_TAG, HEAD.format(service="secretsmanager") + "secret:*", origin, ""),
        (Kind.PARAMETER_BY_TAG, HEAD.format(service="ssm") + "parameter/*", origin, ""),
        (Kind.KEY_BY_TAG, HEAD.format(service="kms") + "key/*", origin, ""),
    ]
    assert all(n.tags == tags for n in needs)
    # Only the key names its region, for its kms:ViaService condition.
    assert [n.region for n in needs] == ["", "", REGION]
    # The statement of each tagged kind gives the reason, not the need.
    assert [n.reason for n in needs] == ["", "", ""]


def test_tagged_key_region_stays_unknown_in_an_environment_agnostic_stack(
    stacks: dict[str, cdk.Stack],
) -> None:
    stack = stacks["agnostic"]
    needs = scoped_needs(stack, ScopedProps(resource_tags=(("team", "a"),)))
    assert [_arn(stack, n) for n in needs] == [
        AGNOSTIC_HEAD.format(service="secretsmanager") + "secret:*",
        AGNOSTIC_HEAD.format(service="ssm") + "parameter/*",
        AGNOSTIC_HEAD.format(service="kms") + "key/*",
    ]
    assert stack.resolve(needs[2].region) == {"Ref": "AWS::Region"}


def test_prefix_needs_come_before_tag_needs_when_both_are_given(
    stacks: dict[str, cdk.Stack],
) -> None:
    props = ScopedProps(parameter_prefixes=("/team/",), resource_tags=(("team", "a"),))
    kinds = [n.kind for n in scoped_needs(stacks["env"], props)]
    assert kinds == [Kind.PARAMETER, Kind.SECRET_BY_TAG, Kind.PARAMETER_BY_TAG, Kind.KEY_BY_TAG]


# -- through a synthesized role ----------------------------------------------------------------


@pytest.fixture(scope="module")
def synthesized() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """An environment-agnostic stack's scoped role: its statements and the wildcards its
    policy acknowledges, with their reasons."""
    app = cdk.App()
    stack = cdk.Stack(app, "Team")
    role = SharedExecutionRole(
        stack,
        "Role",
        derive=False,
        repository_prefixes=["team/", "shared/"],
        parameter_prefixes=["team/"],
        resource_tags={"team": "payments", "env": "prod"},
    )
    template = app.synth().get_stack_by_name("Team").template
    acknowledged: dict[str, str] = {}
    for construct in role.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged.update(entry.data)
    return policy_statements(template, role_logical_id(stack, role)), acknowledged


def _join(service: str, rest: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{rest}",
            ],
        ]
    }


def test_synthesized_role_grants_each_prefix_in_the_deploy_time_environment(
    synthesized: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    statements = {s["Sid"]: s for s in synthesized[0]}
    assert sorted(statements) == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "KmsDecryptByTag",
        "ParametersRead",
        "ParametersReadByTag",
        "SecretsReadByTag",
    ]
    pulls = statements["EcrImagePull"]["Resource"]
    assert sorted(map(str, pulls)) == sorted(
        str(_join("ecr", f"repository/{prefix}*")) for prefix in ("team/", "shared/")
    )
    assert statements["ParametersRead"]["Resource"] == _join("ssm", "parameter/team/*")
    assert statements["SecretsReadByTag"] == {
        "Sid": "SecretsReadByTag",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": _join("secretsmanager", "secret:*"),
        "Condition": {
            "StringEquals": {"aws:ResourceTag/env": "prod", "aws:ResourceTag/team": "payments"}
        },
    }


def test_synthesized_role_acknowledges_each_prefix_wildcard_with_its_reason(
    synthesized: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    acknowledged = synthesized[1]
    iam5 = "AwsSolutions::AwsSolutions-IAM5[Resource::{}]"
    head = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:"
    for resource, what in (
        (head.format("ecr") + "repository/team/*", "repository"),
        (head.format("ecr") + "repository/shared/*", "repository"),
        (head.format("ssm") + "parameter/team/*", "parameter"),
    ):
        assert acknowledged[iam5.format(resource)] == _reason(what)
