"""The grant recorder (``_recorder``): the execution role records what is granted to it
instead of adding it, with the task definition (and the construct) being built at the time;
policies attached through it are kept aside, and values that are not CDK objects are refused.

Each test uses its own :class:`RecordingRole` in one app shared by the module. What the
synth-time checks make of the recorded grants is tested in ``test_checks.py``,
``test_attached.py`` and ``test_role_interface.py``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ecs_exec_roles import ExecutionRoleError
from ecs_exec_roles._recorder import RecordedGrant, RecordingRole

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]


class App:
    """One stack for the module, with a repository and a secret to grant."""

    def __init__(self) -> None:
        self.stack = cdk.Stack(cdk.App(), "S", env=ENV)
        self.repository = ecr.Repository.from_repository_name(self.stack, "Repo", "api")
        self.secret = secretsmanager.Secret.from_secret_name_v2(self.stack, "Secret", "db")
        self.repository_arn = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ecr:eu-west-1:123456789012:repository/api",
                ],
            ]
        }

    def role(self, id: str) -> tuple[Construct, RecordingRole]:
        """A recording role at ``S/<id>/Resource``, and its owner (the dependable)."""
        owner = Construct(self.stack, id)
        role = RecordingRole(
            owner,
            "Resource",
            grant_dependable=owner,
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        )
        return owner, role

    def statements(self, role: RecordingRole) -> list[Any]:
        return [self.stack.resolve(g.statement.to_statement_json()) for g in role.recorded_grants]


@pytest.fixture(scope="module")
def built() -> App:
    return App()


def _cfn_role(role: RecordingRole) -> iam.CfnRole:
    cfn = role.node.default_child
    assert isinstance(cfn, iam.CfnRole)
    return cfn


def _statement(action: str = "s3:GetObject") -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=[action], resources=["*"])


# -- which grants are recorded, and where they came from ----------------------------------------


def test_grants_made_while_a_container_is_added_are_recorded_with_its_task_definition(
    built: App,
) -> None:
    _, role = built.role("AddContainer")
    task = ecs.FargateTaskDefinition(built.stack, "Api", family="api", execution_role=role)
    task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(built.repository))
    assert built.statements(role) == [
        {"Action": PULL_ACTIONS, "Effect": "Allow", "Resource": built.repository_arn},
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]
    for grant in role.recorded_grants:
        assert grant.task_definition is task
        assert grant.owner is task
        assert grant.family == "api"
        assert grant.origin == "task family 'api' (S/Api)"
    # Recorded, never added: the role has no policy of its own.
    assert role.node.try_find_child("DefaultPolicy") is None
    assert built.stack.resolve(_cfn_role(role).policies) is None


def test_grants_of_a_container_definition_built_directly_name_its_task_definition(
    built: App,
) -> None:
    _, role = built.role("Direct")
    task = ecs.FargateTaskDefinition(built.stack, "DirectTask", execution_role=role)
    ecs.ContainerDefinition(
        built.stack,
        "DirectContainer",
        task_definition=task,
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        secrets={"PASSWORD": ecs.Secret.from_secrets_manager(built.secret)},
    )
    (grant,) = role.recorded_grants
    assert built.stack.resolve(grant.statement.actions) == [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    ]
    assert grant.task_definition is task
    # A family aws-cdk-lib generated is the family, but messages name the path instead.
    assert grant.family == task.family == cdk.Names.unique_id(task)
    assert grant.origin == "task definition S/DirectTask"


def test_a_grant_made_by_user_code_has_no_task_definition(built: App) -> None:
    _, role = built.role("UserCode")
    ecs.FargateTaskDefinition(built.stack, "Unrelated", family="unrelated", execution_role=role)
    built.repository.grant_pull(role)
    assert len(role.recorded_grants) == 2
    for grant in role.recorded_grants:
        assert (grant.task_definition, grant.owner) == (None, None)
        assert (grant.family, grant.origin) == ("", "")


def test_a_grant_made_inside_an_ecs_patterns_construct_names_the_pattern(built: App) -> None:
    # aws-cdk-lib adds the container from JavaScript: no Python frame holds the task
    # definition, only the pattern's constructor.
    _, role = built.role("Pattern")
    vpc = ec2.Vpc(built.stack, "Vpc", max_azs=2, nat_gateways=0)
    service = ecs_patterns.ApplicationLoadBalancedFargateService(
        built.stack,
        "Service",
        vpc=vpc,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(built.repository), execution_role=role
        ),
    )
    assert built.statements(role)[0]["Resource"] == built.repository_arn
    assert role.recorded_grants
    for grant in role.recorded_grants:
        assert grant.task_definition is None
        assert grant.owner is service
        assert (grant.family, grant.origin) == ("", "")


def test_grants_while_rendering_a_task_definition_are_attributed_to_it(built: App) -> None:
    _, role = built.role("Rendering")
    task = ecs.FargateTaskDefinition(built.stack, "Rendered", family="rendered")
    with role.rendering(task):
        role.add_to_principal_policy(_statement())
    role.add_to_principal_policy(_statement("s3:PutObject"))
    first, after = role.recorded_grants
    assert (first.task_definition, first.owner, first.family) == (task, task, "rendered")
    assert (after.task_definition, after.owner) == (None, None)


def test_rendering_ends_when_its_block_raises(built: App) -> None:
    _, role = built.role("RenderingRaises")
    task = ecs.FargateTaskDefinition(built.stack, "RenderedRaises")
    with pytest.raises(KeyError), role.rendering(task):
        raise KeyError("boom")
    role.add_to_principal_policy(_statement())
    (grant,) = role.recorded_grants
    assert grant.task_definition is None


def test_every_grant_returns_the_same_result_depending_on_the_owner(built: App) -> None:
    owner, role = built.role("Result")
    first = role.add_to_principal_policy(_statement())
    second = role.add_to_principal_policy(_statement("s3:PutObject"))
    assert first is second
    assert first.statement_added is True
    assert first.policy_dependable is owner
    assert len(role.recorded_grants) == 2


def test_add_to_policy_records_the_statement_like_a_grant(built: App) -> None:
    _, role = built.role("AddToPolicy")
    statement = _statement()
    assert role.add_to_policy(statement) is True
    assert role.recorded_grants == [RecordedGrant(statement, None, None)]


# -- probing what a CDK object grants -----------------------------------------------------------


def test_probe_returns_what_is_granted_without_recording_it(built: App) -> None:
    _, role = built.role("Probe")
    probed = role.probe(lambda grantee: built.secret.grant_read(grantee))
    assert [built.stack.resolve(s.actions) for s in probed] == [
        ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    ]
    assert role.recorded_grants == []
    # Recording resumes after the probe.
    role.add_to_principal_policy(_statement())
    assert len(role.recorded_grants) == 1


def test_probe_ends_when_the_grant_raises(built: App) -> None:
    _, role = built.role("ProbeRaises")

    def grant(grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(_statement())
        raise KeyError("boom")

    with pytest.raises(KeyError):
        role.probe(grant)
    assert role.recorded_grants == []
    role.add_to_principal_policy(_statement("s3:PutObject"))
    (grant_after,) = role.recorded_grants
    assert built.stack.resolve(grant_after.statement.actions) == ["s3:PutObject"]


# -- policies attached through the role: kept aside, not attached --------------------------------


def test_an_inline_policy_is_kept_aside_not_attached(built: App) -> None:
    _, role = built.role("Inline")
    through_role = iam.Policy(built.stack, "ThroughRole", statements=[_statement()])
    role.attach_inline_policy(through_role)
    from_its_side = iam.Policy(built.stack, "FromItsSide", statements=[_statement()], roles=[role])
    # The second reaches the role from aws-cdk-lib's side, before its Python object exists.
    assert [p.node.path for p in role.attached_inline_policies] == [
        through_role.node.path,
        from_its_side.node.path,
    ]
    assert role.attached_inline_policies[0] is through_role
    assert role.recorded_grants == []
    assert built.stack.resolve(_cfn_role(role).policies) is None


def test_a_managed_policy_is_kept_aside_and_the_constructs_own_is_attached(built: App) -> None:
    _, role = built.role("Managed")
    admin = iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")
    own = iam.ManagedPolicy.from_aws_managed_policy_name(
        "service-role/AmazonECSTaskExecutionRolePolicy"
    )
    role.add_managed_policy(admin)
    role.attach_own_managed_policy(own)
    assert role.attached_managed_policies == [admin]
    assert built.stack.resolve(_cfn_role(role).managed_policy_arns) == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                ],
            ]
        }
    ]


# -- what is refused ----------------------------------------------------------------------------


def _refusal(method: str, shown: str, expected: str, example: str) -> str:
    return (
        f"S/Refused: {method}() was given {shown}, not {expected}. Pass the CDK object, for "
        f"example {example}; what ECS needs goes into the construct's props."
    )


STATEMENT_EXAMPLE = "iam.PolicyStatement(actions=[...], resources=[...])"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda s, r: r.add_to_principal_policy({"Effect": "Allow"}),
            _refusal(
                "add_to_principal_policy",
                "{'Effect': 'Allow'} (dict)",
                "an iam.PolicyStatement",
                STATEMENT_EXAMPLE,
            ),
        ),
        (
            lambda s, r: r.add_to_policy("s3:GetObject"),
            _refusal(
                "add_to_principal_policy",
                "'s3:GetObject' (str)",
                "an iam.PolicyStatement",
                STATEMENT_EXAMPLE,
            ),
        ),
        (
            lambda s, r: r.attach_inline_policy("inline"),
            _refusal(
                "attach_inline_policy",
                "'inline' (str)",
                "an iam.Policy",
                "iam.Policy(scope, 'Policy', statements=[...])",
            ),
        ),
        (
            lambda s, r: r.add_managed_policy("arn:aws:iam::aws:policy/AdministratorAccess"),
            _refusal(
                "add_managed_policy",
                "'arn:aws:iam::aws:policy/AdministratorAccess' (str)",
                "an iam.IManagedPolicy",
                "iam.ManagedPolicy.from_aws_managed_policy_name('...')",
            ),
        ),
        (
            lambda s, r: r.add_managed_policy(Construct(s, "NotAPolicy")),
            _refusal(
                "add_managed_policy",
                "the construct 'S/NotAPolicy'",
                "an iam.IManagedPolicy",
                "iam.ManagedPolicy.from_aws_managed_policy_name('...')",
            ),
        ),
    ],
    ids=["dict-statement", "string-statement", "string-policy", "arn", "construct"],
)
def test_fails_when_the_role_is_given_a_value_that_is_not_the_cdk_object(
    call: Any, expected: str
) -> None:
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    owner = Construct(stack, "Refused")
    role = RecordingRole(
        owner,
        "Resource",
        grant_dependable=owner,
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
    )
    with pytest.raises(ExecutionRoleError) as raised:
        call(stack, role)
    assert str(raised.value) == expected
    assert role.recorded_grants == []
    assert role.attached_inline_policies == []
    assert role.attached_managed_policies == []
