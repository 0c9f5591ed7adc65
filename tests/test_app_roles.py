"""HardenExecutionRoles on roles the app made: hardened in place when the templates use them
only as execution roles, left as they are (with a warning naming the other use) otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from helpers import concrete_environment, managed_policy_role, role_allows
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import HardenExecutionRoles
from examples.nag_report import add_nag_packs, synth_with_report
from testkit.cfn import resolve

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
ARN = f"arn:aws:{{service}}:{REGION}:{ACCOUNT}:{{resource}}"
REPOSITORY = ARN.format(service="ecr", resource="repository/team/api")
SECRET = ARN.format(service="secretsmanager", resource="secret:prod/api/db-AbCdEf")
GROUP = ARN.format(service="logs", resource="log-group:/ecs/api")
PULLS = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"


def _role(stack: cdk.Stack, *, assumed_by: iam.IPrincipal | None = None) -> iam.Role:
    """An execution role as public apps write it: the AWS managed policy, ECR and logs on
    ``*`` added, and an inline policy."""
    role = iam.Role(
        stack,
        "ExecRole",
        assumed_by=assumed_by or iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(EXECUTION_POLICY)],
        inline_policies={
            "Logs": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=["*"]
                    )
                ]
            )
        },
    )
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:*"], resources=["*"]))
    return role


def _task(stack: cdk.Stack, id_: str, role: iam.IRole, prefix: str) -> ecs.FargateTaskDefinition:
    repository = ecr.Repository.from_repository_name(stack, f"{id_}Repo", "team/api")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, f"{id_}Db", "prod/api/db")
    group = logs.LogGroup.from_log_group_name(stack, f"{id_}Logs", "/ecs/api")
    task = ecs.FargateTaskDefinition(stack, id_, execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix=prefix, log_group=group),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    return task


Build = Callable[[cdk.App], None]


def _two_stacks(app: cdk.App) -> None:
    """One role, used by a task definition of its stack (the object) and one of another
    stack (imported by its ARN)."""
    shared = cdk.Stack(app, "Shared", env=ENV)
    role = _role(shared)
    _task(shared, "Api", role, "api")
    jobs = cdk.Stack(app, "Jobs", env=ENV)
    _task(jobs, "Job", iam.Role.from_role_arn(jobs, "Imported", role.role_arn), "job")


def _synth(build: Build, **aspect: Any) -> cdk.cx_api.CloudAssembly:
    app = cdk.App()
    build(app)
    if aspect.pop("harden", True):
        cdk.Aspects.of(app).add(HardenExecutionRoles(**aspect))
    return app.synth()


def _logical_id(template: dict[str, Any], fragment: str) -> str:
    (found,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(fragment)
    ]
    return found


def _policies_naming(template: dict[str, Any], logical_id: str) -> list[str]:
    return sorted(
        key
        for key, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and any(logical_id in str(r) for r in resource["Properties"].get("Roles", []))
    )


def _warnings(assembly: cdk.cx_api.CloudAssembly, code: str) -> list[str]:
    found = []
    for stack in assembly.stacks:
        for message in stack.messages:
            if message.level.value == "WARNING" and code in str(message.entry.data):
                found.append(str(message.entry.data))
    return found


def test_a_role_used_only_as_execution_role_is_hardened_in_place_across_stacks() -> None:
    before, after = _synth(_two_stacks, harden=False), _synth(_two_stacks)
    shared_before = before.get_stack_by_name("Shared").template
    shared = after.get_stack_by_name("Shared").template
    role = _logical_id(shared_before, "ExecRole")
    # Same logical ID; the managed policy, inline policy and DefaultPolicy are gone.
    assert _logical_id(shared, "ExecRole") == role
    properties = shared["Resources"][role]["Properties"]
    assert "ManagedPolicyArns" not in properties and "Policies" not in properties
    condition = properties["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert not any(r["Type"] == "AWS::IAM::Policy" for r in shared["Resources"].values()), (
        "the role's DefaultPolicy is removed"
    )
    jobs_before = before.get_stack_by_name("Jobs").template
    jobs = after.get_stack_by_name("Jobs").template
    # aws-cdk-lib attached a policy to the imported role from the other stack: removed.
    assert [r for r in jobs_before["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    assert not [r for r in jobs["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]

    # Exact, as IAM evaluates it: the policies of both stacks that name the role.
    documents = role_policies(shared, role, concrete_environment(shared))
    environment = concrete_environment(jobs)
    for resource in jobs["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            assert "ExecRole" in str(resource["Properties"]["Roles"])
            documents.append(resolve(resource["Properties"]["PolicyDocument"], environment))

    def allowed(action: str, resource: str) -> bool:
        return is_allowed(documents, action, resource, {})

    assert allowed("ecr:GetAuthorizationToken", "*")
    assert all(allowed(action, REPOSITORY) for action in PULLS)
    assert not allowed("ecr:BatchGetImage", REPOSITORY + "-other")
    assert not allowed("ecr:PutImage", REPOSITORY)
    assert allowed("secretsmanager:GetSecretValue", SECRET)
    assert not allowed("secretsmanager:DescribeSecret", SECRET)
    for prefix in ("api", "job"):
        assert allowed("logs:PutLogEvents", f"{GROUP}:log-stream:{prefix}/app/0123")
    assert not allowed("logs:PutLogEvents", f"{GROUP}:log-stream:other/app/0123")
    assert not allowed("logs:CreateLogGroup", GROUP)
    assert _warnings(after, "ecs-exec-roles:") == []


def test_app_roles_false_leaves_roles_the_app_made_byte_identical_with_a_warning() -> None:
    before, after = _synth(_two_stacks, harden=False), _synth(_two_stacks, app_roles=False)
    for name in ("Shared", "Jobs"):
        assert after.get_stack_by_name(name).template == before.get_stack_by_name(name).template
    (warning,) = _warnings(after, "execution-role-made-by-the-app")
    assert "app_roles=False" in warning and "Shared/ExecRole" in warning


def _also_task_role(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S", env=ENV)
    role = _role(stack)
    _task(stack, "Api", role, "api")
    other = ecs.FargateTaskDefinition(stack, "Worker", task_role=role)
    other.add_container("w", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))


def _also_lambda_role(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S", env=ENV)
    role = _role(stack)
    _task(stack, "Api", role, "api")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        role=role,
    )


def _trusted_by_another(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S", env=ENV)
    principal = iam.CompositePrincipal(
        iam.ServicePrincipal("ecs-tasks.amazonaws.com"), iam.AccountRootPrincipal()
    )
    _task(stack, "Api", _role(stack, assumed_by=principal), "api")


def _named_by_name(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S", env=ENV)
    role = _role(stack)
    _task(stack, "Api", role, "api")
    _task(stack, "ByName", iam.Role.from_role_name(stack, "ByNameRole", role.role_name), "n")


@pytest.mark.parametrize(
    ("build", "use"),
    [
        (_also_task_role, "the task role of S/Worker"),
        (_also_lambda_role, "AWS::Lambda::Function S/Fn"),
        (_trusted_by_another, "trusted by"),
    ],
    ids=["task-role", "lambda", "trusted-by-another"],
)
def test_a_role_with_another_use_is_left_byte_identical_with_the_use_named(
    build: Build, use: str
) -> None:
    before, after = _synth(build, harden=False), _synth(build)
    assert after.get_stack_by_name("S").template == before.get_stack_by_name("S").template
    (warning,) = _warnings(after, "execution-role-used-otherwise")
    assert use in warning and "S/ExecRole" in warning


def test_a_role_named_by_its_name_is_hardened_for_that_task_definition_too() -> None:
    assembly = _synth(_named_by_name)
    template = assembly.get_stack_by_name("S").template
    role = _logical_id(template, "ExecRole")
    assert "ManagedPolicyArns" not in template["Resources"][role]["Properties"]
    documents = role_policies(template, role, concrete_environment(template))

    def allowed(action: str, resource: str) -> bool:
        return is_allowed(documents, action, resource, {})

    for prefix in ("api", "n"):
        assert allowed("logs:PutLogEvents", f"{GROUP}:log-stream:{prefix}/app/0123")
    assert not allowed("logs:PutLogEvents", f"{GROUP}:log-stream:other/app/0123")
    assert allowed("secretsmanager:GetSecretValue", SECRET)
    # The policy aws-cdk-lib attached to the role through the object imported by name: gone.
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    assert _warnings(assembly, "ecs-exec-roles:") == []


def test_a_role_outside_the_aspects_scope_is_left_as_it_is() -> None:
    app = cdk.App()
    shared = cdk.Stack(app, "Shared", env=ENV)
    role = _role(shared)
    jobs = cdk.Stack(app, "Jobs", env=ENV)
    _task(jobs, "Job", role, "job")
    cdk.Aspects.of(jobs).add(HardenExecutionRoles())
    assembly = app.synth()
    properties = assembly.get_stack_by_name("Shared").template["Resources"]
    role_id = _logical_id(assembly.get_stack_by_name("Shared").template, "ExecRole")
    assert "ManagedPolicyArns" in properties[role_id]["Properties"]
    (warning,) = _warnings(assembly, "execution-role-made-by-the-app")
    assert "outside every scope" in warning


def test_a_grant_of_what_ecs_never_calls_fails_synth() -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        role = _role(stack)
        _task(stack, "Api", role, "api")
        table = dynamodb.Table(
            stack,
            "Table",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        )
        table.grant_read_data(role)

    with pytest.raises(RuntimeError) as raised:
        _synth(build)
    assert "S/ExecRole: the execution role does not cover" in str(raised.value)
    assert "dynamodb:" in str(raised.value)


def test_other_managed_policies_are_detached_with_a_warning_and_shared_policies_kept() -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        role = _role(stack)
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchLogsFullAccess")
        )
        other = iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        iam.Policy(
            stack,
            "Both",
            roles=[role, other],
            statements=[iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=["*"])],
        )
        _task(stack, "Api", role, "api")

    assembly = _synth(build)
    template = assembly.get_stack_by_name("S").template
    role_id = _logical_id(template, "ExecRole")
    assert "ManagedPolicyArns" not in template["Resources"][role_id]["Properties"]
    (both,) = [k for k in template["Resources"] if k.startswith("Both")]
    roles = template["Resources"][both]["Properties"]["Roles"]
    assert roles == [{"Ref": _logical_id(template, "Other")}]
    assert _policies_naming(template, role_id) == [
        k for k in _policies_naming(template, role_id) if k.startswith("ExecRolePolicy")
    ]
    (warning,) = _warnings(assembly, "aws-managed-policy-replaced")
    assert "CloudWatchLogsFullAccess" in warning
    assert EXECUTION_POLICY not in warning


def test_hardened_app_roles_have_no_open_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    _two_stacks(app)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    report = synth_with_report(app)
    on_roles = [f for f in report.findings if "ExecRole" in f.construct_path]
    assert on_roles == [], report.format()


def test_a_stack_of_the_same_shape_outside_the_aspects_scope_is_untouched() -> None:
    """Two stacks of the same shape have the same logical IDs: the other stack's policies
    (whose ``Roles`` name its own role by that logical ID) are not the hardened role's."""

    def build(app: cdk.App) -> tuple[cdk.Stack, cdk.Stack]:
        hardened, other = cdk.Stack(app, "Prod", env=ENV), cdk.Stack(app, "Staging", env=ENV)
        for stack in (hardened, other):
            _task(stack, "Api", _role(stack), "api")
        return hardened, other

    plain, with_aspect = cdk.App(), cdk.App()
    build(plain)
    hardened, _ = build(with_aspect)
    cdk.Aspects.of(hardened).add(HardenExecutionRoles())
    before, after = plain.synth(), with_aspect.synth()
    staging = after.get_stack_by_name("Staging").template
    assert staging == before.get_stack_by_name("Staging").template
    prod = after.get_stack_by_name("Prod").template
    role = _logical_id(prod, "ExecRole")
    assert "ManagedPolicyArns" not in prod["Resources"][role]["Properties"]
    assert role == _logical_id(staging, "ExecRole")


def test_a_role_an_l1_task_definition_names_by_arn_is_hardened() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role = managed_policy_role(stack, "Made")
    ecs.CfnTaskDefinition(
        stack,
        "L1Task",
        execution_role_arn=role.role_arn,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu="256",
        memory="512",
        container_definitions=[
            ecs.CfnTaskDefinition.ContainerDefinitionProperty(
                name="api",
                image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:1",
                log_configuration=ecs.CfnTaskDefinition.LogConfigurationProperty(
                    log_driver="awslogs",
                    options={
                        "awslogs-group": "/ecs/api",
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": "api",
                    },
                ),
                secrets=[ecs.CfnTaskDefinition.SecretProperty(name="DB", value_from=SECRET)],
            )
        ],
    )
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    allowed, template = role_allows(stack, role)
    properties = template["Resources"][stack.get_logical_id(role.node.default_child)]  # type: ignore[arg-type]
    assert "ManagedPolicyArns" not in properties["Properties"]
    assert all(allowed(action, REPOSITORY) for action in PULLS)
    assert allowed("logs:PutLogEvents", f"{GROUP}:log-stream:api/api/0123")
    assert not allowed("logs:PutLogEvents", f"{GROUP}:log-stream:other/api/0123")
    assert allowed("secretsmanager:GetSecretValue", SECRET)
