"""HardenExecutionRoles: existing apps hardened in place, with one aspect.

Each app is built twice, as it stands and with the aspect: the execution roles keep their
logical IDs, lose their DefaultPolicy, gain the trust conditions and allow exactly what their
task definitions need (evaluated as IAM would); roles the app made stay byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from helpers import OWNED, concrete_environment, concrete_name
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import ExecutionRoleError, HardenExecutionRoles, MinimalExecutionRole
from examples.nag_report import add_nag_packs, synth_with_report

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
ARN = f"arn:aws:{{service}}:{REGION}:{ACCOUNT}:{{resource}}"
REPOSITORY = ARN.format(service="ecr", resource="repository/team/api")
SECRET = ARN.format(service="secretsmanager", resource="secret:prod/api/db-AbCdEf")
PULLS = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
WEB_DIR = Path(__file__).resolve().parents[1] / "examples" / "web"

Build = Callable[[cdk.Stack], None]


def _imported(stack: cdk.Stack) -> tuple[ecr.IRepository, secretsmanager.ISecret]:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "prod/api/db")
    return repository, secret


def _cluster(stack: cdk.Stack) -> ecs.Cluster:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    return ecs.Cluster(stack, "Cluster", vpc=vpc)


def _fargate(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )


def _ec2(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    task = ecs.Ec2TaskDefinition(stack, "Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(repository),
        memory_limit_mib=256,
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )


def _alb(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Web",
        cluster=_cluster(stack),
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(repository),
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        ),
    )


def _nlb(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    ecs_patterns.NetworkLoadBalancedFargateService(
        stack,
        "Web",
        cluster=_cluster(stack),
        task_image_options=ecs_patterns.NetworkLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(repository),
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        ),
    )


def _queue(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    ecs_patterns.QueueProcessingFargateService(
        stack,
        "Queue",
        cluster=_cluster(stack),
        image=ecs.ContainerImage.from_ecr_repository(repository),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )


def _scheduled(stack: cdk.Stack) -> None:
    repository, secret = _imported(stack)
    ecs_patterns.ScheduledFargateTask(
        stack,
        "Cron",
        cluster=_cluster(stack),
        schedule=appscaling.Schedule.expression("rate(1 hour)"),
        scheduled_fargate_task_image_options=ecs_patterns.ScheduledFargateTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(repository),
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        ),
    )


APPS: dict[str, Build] = {
    "fargate": _fargate,
    "ec2": _ec2,
    "alb": _alb,
    "nlb": _nlb,
    "queue-processing": _queue,
    "scheduled": _scheduled,
}


def _synth(build: Build, *, harden: bool, **aspect: Any) -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    build(stack)
    if harden:
        cdk.Aspects.of(app).add(HardenExecutionRoles(**aspect))
    return app.synth().get_stack_by_name("S").template


def _roles(template: dict[str, Any], fragment: str = "ExecutionRole") -> list[str]:
    return sorted(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and fragment in logical_id
    )


def _policies_on(template: dict[str, Any], role: str, type_name: str) -> list[dict[str, Any]]:
    return [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == type_name
        and {"Ref": role} in resource["Properties"].get("Roles", [])
    ]


def _allowed(template: dict[str, Any], role: str) -> Callable[..., bool]:
    policies = role_policies(template, role, concrete_environment(template))

    def allowed(action: str, resource: str, **context: str) -> bool:
        return is_allowed(policies, action, resource, context)

    return allowed


def _log_streams(template: dict[str, Any]) -> list[str]:
    """The stream ARN pattern of each log group of the template, as a task writes them."""
    return [
        ARN.format(service="logs", resource=f"log-group:{concrete_name(logical_id, '')}")
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    ]


@pytest.mark.parametrize("name", sorted(APPS))
def test_an_app_is_hardened_in_place(name: str) -> None:
    before = _synth(APPS[name], harden=False)
    after = _synth(APPS[name], harden=True)
    roles = _roles(before)
    assert roles and _roles(after) == roles
    for role in roles:
        # The DefaultPolicy is gone; customer-managed policies take its place.
        assert _policies_on(before, role, "AWS::IAM::Policy")
        assert not _policies_on(after, role, "AWS::IAM::Policy")
        assert _policies_on(after, role, "AWS::IAM::ManagedPolicy")
        statement = after["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][
            0
        ]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
        assert "aws:SourceArn" in statement["Condition"]["ArnLike"]
        allowed = _allowed(after, role)
        assert allowed("ecr:GetAuthorizationToken", "*")
        assert all(allowed(action, REPOSITORY) for action in PULLS)
        assert not allowed("ecr:BatchGetImage", REPOSITORY + "-other")
        assert not allowed("ecr:PutImage", REPOSITORY)
        assert allowed("secretsmanager:GetSecretValue", SECRET)
        assert not allowed("secretsmanager:DescribeSecret", SECRET)
        assert not allowed("secretsmanager:GetSecretValue", SECRET.replace("db-", "dbx-"))
        # The log group each pattern makes: written under its stream prefix only.
        (group,) = _log_streams(after)
        prefixed = [
            p
            for p in ("app", "Web", "Queue", "Cron")
            if allowed("logs:PutLogEvents", f"{group}:log-stream:{p}/x/0123")
        ]
        assert len(prefixed) == 1
        assert not allowed("logs:PutLogEvents", f"{group}:log-stream:other/x/0123")
        assert not allowed(
            "logs:PutLogEvents", ARN.format(service="logs", resource="log-group:x:*")
        )
    # Nothing else in the template changed but the role, its policies and their names.
    # (A logical ID is the path's ids and a hash: the role's prefix covers its children.)
    untouched = {
        logical_id
        for logical_id in before["Resources"]
        if not any(logical_id.startswith(role[:-8]) for role in roles)
    }
    for logical_id in untouched:
        assert after["Resources"][logical_id] == before["Resources"][logical_id], logical_id


def test_roles_of_the_library_and_task_definitions_outside_the_scope_are_untouched() -> None:
    def build(app: cdk.App) -> tuple[cdk.Stack, cdk.Stack]:
        hardened = cdk.Stack(app, "Hardened", env=ENV)
        other = cdk.Stack(app, "Other", env=ENV)
        for stack in (hardened, other):
            _fargate(stack)
        ours = MinimalExecutionRole(hardened, "Ours")
        task = ecs.FargateTaskDefinition(hardened, "OursTask", execution_role=ours.role)
        task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))
        return hardened, other

    plain, with_aspect = cdk.App(), cdk.App()
    build(plain)
    hardened, _ = build(with_aspect)
    cdk.Aspects.of(hardened).add(HardenExecutionRoles())
    before, after = plain.synth(), with_aspect.synth()
    assert after.get_stack_by_name("Other").template == before.get_stack_by_name("Other").template
    hardened_after = after.get_stack_by_name("Hardened").template
    hardened_before = before.get_stack_by_name("Hardened").template
    for logical_id, resource in hardened_before["Resources"].items():
        if "OursExecution" in logical_id or logical_id.startswith("Ours"):
            assert hardened_after["Resources"][logical_id] == resource
    (role,) = _roles(hardened_after, "TaskExecutionRole")
    assert not _policies_on(hardened_after, role, "AWS::IAM::Policy")


def test_fails_when_the_default_policy_held_what_ecs_never_calls() -> None:
    def build(stack: cdk.Stack) -> None:
        _fargate(stack)
        table = dynamodb.Table(
            stack,
            "Table",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        )
        task = stack.node.find_child("Task")
        table.grant_read_data(task.execution_role)  # type: ignore[attr-defined]

    with pytest.raises(RuntimeError) as raised:
        _synth(build, harden=True)
    message = str(raised.value)
    assert "S/Task/ExecutionRole: the execution role does not cover" in message
    assert "dynamodb:" in message


def test_environment_files_firelens_router_and_keys_of_secrets() -> None:
    def build(stack: cdk.Stack) -> None:
        key = kms.Key(stack, "Key")
        secret = secretsmanager.Secret(stack, "Db", encryption_key=key)
        bucket = s3.Bucket.from_bucket_name(stack, "Config", "app-config")
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container(
            "app",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
            logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
            environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "api/app.env")],
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        )

    template = _synth(build, harden=True)
    (role,) = _roles(template)
    allowed = _allowed(template, role)
    assert allowed("s3:GetObject", "arn:aws:s3:::app-config/api/app.env", **OWNED)
    assert not allowed("s3:GetObject", "arn:aws:s3:::app-config/api/other.env", **OWNED)
    router = ARN.format(service="ecr", resource="repository/aws-for-fluent-bit").replace(
        ACCOUNT, "906394416424"
    )
    assert all(allowed(action, router) for action in PULLS)
    assert not allowed("ecr:BatchGetImage", ARN.format(service="ecr", resource="repository/x"))
    key_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key")
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    assert allowed("kms:Decrypt", ARN.format(service="kms", resource=f"key/{key_id}"), **via)
    assert not allowed("kms:Decrypt", ARN.format(service="kms", resource=f"key/{key_id}"))


def test_a_service_that_depends_on_its_task_definition_still_waits_for_the_role() -> None:
    # With the CODE_DEPLOY controller, aws-cdk-lib makes the service depend on the task
    # definition and everything under it: the role's DefaultPolicy before, its managed
    # policies after.
    def build(stack: cdk.Stack) -> None:
        repository, _ = _imported(stack)
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(repository))
        ecs.FargateService(
            stack,
            "Service",
            cluster=_cluster(stack),
            task_definition=task,
            deployment_controller=ecs.DeploymentController(
                type=ecs.DeploymentControllerType.CODE_DEPLOY
            ),
        )

    for harden in (False, True):
        template = _synth(build, harden=harden)
        (service,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
        (role,) = _roles(template)
        kind = "AWS::IAM::ManagedPolicy" if harden else "AWS::IAM::Policy"
        policy_ids = [
            logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == kind and {"Ref": role} in resource["Properties"]["Roles"]
        ]
        assert policy_ids and set(policy_ids) <= set(service["DependsOn"]), (harden, policy_ids)


def test_several_stacks_with_the_aspect_on_one() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENV)
    second = cdk.Stack(app, "Second", env=ENV)
    _alb(first)
    _alb(second)
    cdk.Aspects.of(first).add(HardenExecutionRoles())
    assembly = app.synth()
    hardened = assembly.get_stack_by_name("First").template
    plain = assembly.get_stack_by_name("Second").template
    (role,) = _roles(hardened)
    assert not _policies_on(hardened, role, "AWS::IAM::Policy")
    (role,) = _roles(plain)
    assert _policies_on(plain, role, "AWS::IAM::Policy")


def test_trust_options_and_their_checks() -> None:
    template = _synth(_fargate, harden=True, trust_all_regions=True)
    (role,) = _roles(template)
    condition = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][
        0
    ]["Condition"]
    assert ":ecs:*:" in str(condition["ArnLike"]["aws:SourceArn"])
    template = _synth(_fargate, harden=True, trust_conditions=False)
    (role,) = _roles(template)
    statement = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][
        0
    ]
    assert "Condition" not in statement
    with pytest.raises(ExecutionRoleError, match="trust_conditions is 'no'"):
        HardenExecutionRoles(trust_conditions="no")  # type: ignore[arg-type]


def test_minimize_policies_on_gives_the_same_hardened_role() -> None:
    def synth(minimize: bool) -> dict[str, Any]:
        app = cdk.App(context={"@aws-cdk/aws-iam:minimizePolicies": minimize})
        stack = cdk.Stack(app, "S", env=ENV)
        _alb(stack)
        cdk.Aspects.of(app).add(HardenExecutionRoles())
        return app.synth().get_stack_by_name("S").template

    def normalized(template: dict[str, Any]) -> list[Any]:
        # aws-cdk-lib's minimizePolicies sorts the actions of every statement it renders.
        (role,) = _roles(template)
        (policy,) = _policies_on(template, role, "AWS::IAM::ManagedPolicy")
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        return [
            {**s, "Action": sorted(s["Action"]) if isinstance(s["Action"], list) else s["Action"]}
            for s in statements
        ]

    assert normalized(synth(True)) == normalized(synth(False))


@pytest.mark.parametrize("name", ["fargate", "alb"])
def test_hardened_roles_have_no_open_nag_findings(name: str, tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    add_nag_packs(app)
    stack = cdk.Stack(app, "S", env=ENV)
    APPS[name](stack)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    report = synth_with_report(app)
    on_roles = [f for f in report.findings if "/ExecutionRole" in f.construct_path]
    assert on_roles == [], report.format()


def test_a_role_aws_cdk_lib_makes_only_when_it_renders_the_router_is_hardened() -> None:
    # A FireLens task with a public image has no execution role until aws-cdk-lib renders its
    # containers and adds the default log router.
    def build(stack: cdk.Stack) -> None:
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container(
            "app",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
            logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
        )

    template = _synth(build, harden=True)
    (role,) = _roles(template)
    assert not _policies_on(template, role, "AWS::IAM::Policy")
    allowed = _allowed(template, role)
    router = ARN.format(service="ecr", resource="repository/aws-for-fluent-bit").replace(
        ACCOUNT, "906394416424"
    )
    assert all(allowed(action, router) for action in PULLS)
    assert not allowed("ecr:BatchGetImage", "*")


def test_what_depends_on_the_default_policy_depends_on_the_new_policies() -> None:
    # A grant's policy_dependable is the DefaultPolicy: applied before a resource, that
    # resource waits for the role's permissions, before and after hardening.
    def build(stack: cdk.Stack) -> None:
        _fargate(stack)
        task = stack.node.find_child("Task")
        grant = task.execution_role.grant(  # type: ignore[attr-defined]
            iam.ServicePrincipal("ecs-tasks.amazonaws.com"), "ecr:GetAuthorizationToken"
        )
        waiting = s3.Bucket(stack, "Waiting")
        grant.apply_before(waiting)
        waiting.node.add_dependency(task.execution_role.node.find_child("DefaultPolicy"))  # type: ignore[attr-defined]

    for harden in (False, True):
        template = _synth(build, harden=harden)
        (role,) = _roles(template)
        kind = "AWS::IAM::ManagedPolicy" if harden else "AWS::IAM::Policy"
        policy_ids = [
            logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == kind and {"Ref": role} in resource["Properties"]["Roles"]
        ]
        (bucket,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
        assert policy_ids and set(policy_ids) <= set(bucket.get("DependsOn", [])), harden


def test_a_secret_with_a_key_in_a_stack_of_another_environment_is_left_to_its_stack() -> None:
    # Stack A (environment-agnostic) has a secret with a customer managed key; stack B (a
    # concrete environment) is hardened. B's roles must not read A's secret: aws-cdk-lib
    # refuses to resolve it there.
    app = cdk.App()
    agnostic = cdk.Stack(app, "A")
    key = kms.Key(agnostic, "Key")
    secret = secretsmanager.Secret(agnostic, "Db", encryption_key=key)
    mine = MinimalExecutionRole(agnostic, "Exec")
    task = ecs.FargateTaskDefinition(agnostic, "Task", execution_role=mine.role)
    image = ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1")
    task.add_container("app", image=image, secrets={"DB": ecs.Secret.from_secrets_manager(secret)})
    concrete = cdk.Stack(app, "B", env=ENV)
    plain = ecs.FargateTaskDefinition(concrete, "Plain")
    named = secretsmanager.Secret.from_secret_name_v2(concrete, "Db", "prod/db")
    plain.add_container("app", image=image, secrets={"DB": ecs.Secret.from_secrets_manager(named)})
    routed = ecs.FargateTaskDefinition(concrete, "Routed")
    routed.add_container(
        "app", image=image, logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"})
    )
    cdk.Aspects.of(concrete).add(HardenExecutionRoles())
    assembly = app.synth()
    a = assembly.get_stack_by_name("A").template
    key_id = agnostic.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    (policy,) = [r for r in a["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Action"] == "kms:Decrypt" and s["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
        for s in statements
    )
    b = assembly.get_stack_by_name("B").template
    # The two execution roles are hardened (only the router's task role keeps a policy).
    inline = [r for r in b["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    assert [p["Properties"]["Roles"] for p in inline] == [[{"Ref": "RoutedTaskRoleBA4740FA"}]]
    assert len([r for r in b["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]) == 2


def test_a_role_imported_from_outside_the_app_is_left_as_it_is_with_a_warning() -> None:
    def build(stack: cdk.Stack) -> None:
        role = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::111122223333:role/exec")
        task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
        task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))

    assert _synth(build, harden=True) == _synth(build, harden=False)
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    build(stack)
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    warnings = cdk.assertions.Annotations.from_stack(stack).find_warning(
        "/S/Task", cdk.assertions.Match.string_like_regexp("S/Imported is imported, not made")
    )
    assert len(warnings) == 1
    assert "made by the app" not in str(warnings[0].entry.data)


def test_managed_policies_the_app_attached_to_aws_cdk_libs_role_are_replaced() -> None:
    def build(stack: cdk.Stack) -> None:
        _fargate(stack)
        task = stack.node.find_child("Task")
        assert isinstance(task, ecs.TaskDefinition)
        role = task.obtain_execution_role()
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonECSTaskExecutionRolePolicy"
            )
        )
        task.add_to_execution_role_policy(iam.PolicyStatement(actions=["ecr:*"], resources=["*"]))

    after = _synth(build, harden=True)
    (role,) = _roles(after)
    assert "ManagedPolicyArns" not in after["Resources"][role]["Properties"]
    assert not _policies_on(after, role, "AWS::IAM::Policy")
    allowed = _allowed(after, role)
    assert all(allowed(action, REPOSITORY) for action in PULLS)
    assert not allowed("ecr:BatchGetImage", REPOSITORY + "-other")
    assert not allowed("ecr:PutImage", REPOSITORY)
    assert allowed("secretsmanager:GetSecretValue", SECRET)


@pytest.mark.parametrize("keyed", [False, True])
def test_a_secret_of_another_account_needs_its_key_under_the_aspect(keyed: bool) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    arn = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:db-AbCdEf"
    key_arn = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key = kms.Key.from_key_arn(stack, "Key", key_arn) if keyed else None
    secret = secretsmanager.Secret.from_secret_attributes(
        stack, "Db", secret_complete_arn=arn, encryption_key=key
    )
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    cdk.Aspects.of(app).add(HardenExecutionRoles())
    if keyed:
        template = app.synth().get_stack_by_name("S").template
        decrypt = [
            statement
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::IAM::ManagedPolicy"
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]
            if statement["Action"] == "kms:Decrypt"
        ]
        assert [statement["Resource"] for statement in decrypt] == [key_arn]
        return
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    assert f"reads the secret {arn} of account 210987654321, with no customer managed key" in (
        str(raised.value)
    )
