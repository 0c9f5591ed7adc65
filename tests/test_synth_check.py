"""The synth-time check: every grant made to the role is covered, or synth fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from constructs import Construct, IConstruct
from helpers import policy_statements, role_logical_id

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole


def _task(stack: cdk.Stack, role: iam.IRole, **container: object) -> ecs.FargateTaskDefinition:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container("app", **container)  # type: ignore[arg-type]
    return task


def test_covered_grants_add_nothing(env_stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(env_stack, "Repo", "api")
    secret = secretsmanager.Secret.from_secret_name_v2(env_stack, "Db", "api/db")
    role = MinimalExecutionRole(env_stack, "Api", repositories=[repository], secrets=[secret])
    _task(
        env_stack,
        role.role,
        image=ecs.ContainerImage.from_ecr_repository(repository),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    # grant_read adds secretsmanager:DescribeSecret, which ECS never calls: still covered.
    secret.grant_read(role.role)
    template = Template.from_stack(env_stack)
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_fails_when_a_repository_is_missing(env_stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(env_stack, "Repo", "api")
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _task(env_stack, role.role, image=ecs.ContainerImage.from_ecr_repository(repository))
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "EnvStack/Api: the execution role does not cover 4 permission(s)" in message
    assert "  - ecr:GetAuthorizationToken on *: add the resource to `repositories`" in message
    assert (
        "  - ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage on "
        "arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/api: "
        "add the resource to `repositories`"
    ) in message


def test_fails_when_a_log_group_secret_and_parameter_are_missing(env_stack: cdk.Stack) -> None:
    log_group = logs.LogGroup.from_log_group_name(env_stack, "Logs", "/ecs/api")
    secret = secretsmanager.Secret.from_secret_name_v2(env_stack, "Db", "api/db")
    parameter = ssm.StringParameter.from_string_parameter_name(env_stack, "Flag", "/api/flag")
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _task(
        env_stack,
        role.role,
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=log_group),
        secrets={
            "DB": ecs.Secret.from_secrets_manager(secret),
            "FLAG": ecs.Secret.from_ssm_parameter(parameter),
        },
    )
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "log-group:/ecs/api:*" in message and "`log_groups`" in message
    assert "secret:api/db-??????" in message and "`secrets`" in message
    assert "parameter/api/flag" in message and "`parameters`" in message
    assert "logs:PutLogEvents" in message
    assert "secretsmanager:GetSecretValue" in message
    assert "ssm:GetParameters" in message
    # Actions ECS never uses are not reported.
    assert "DescribeSecret" not in message


def test_fails_when_a_grant_has_no_ecs_action(env_stack: cdk.Stack) -> None:
    table = dynamodb.TableV2(
        env_stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    role = MinimalExecutionRole(env_stack, "Api")
    table.grant_read_data(role.role)
    with pytest.raises(RuntimeError, match="grant them to the task definition's task_role"):
        Template.from_stack(env_stack)


def test_fails_when_an_inline_policy_is_attached(stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(stack, "Api")
    iam.Policy(
        stack,
        "Extra",
        roles=[role.role],
        statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])],
    )
    with pytest.raises(RuntimeError, match="the inline policy Stack/Extra is attached"):
        Template.from_stack(stack)


def test_starter_covers_ecr_and_logs_through_the_managed_policy(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    role = StarterExecutionRole(stack, "Demo")
    _task(
        stack,
        role.role,
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="demo", log_group=log_group),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


def test_fails_when_the_starter_lacks_a_secret(stack: cdk.Stack) -> None:
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "api/db")
    role = StarterExecutionRole(stack, "Demo", derive=False)
    _task(
        stack,
        role.role,
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    with pytest.raises(RuntimeError, match=r"Stack/Demo: .*\n  - secretsmanager:GetSecretValue"):
        Template.from_stack(stack)


def test_fails_when_one_task_of_a_shared_role_is_not_covered(stack: cdk.Stack) -> None:
    first = ecr.Repository.from_repository_name(stack, "First", "first")
    second = ecr.Repository.from_repository_name(stack, "Second", "second")
    shared = SharedExecutionRole(stack, "Shared", derive=False, repositories=[first])
    for name, repository in (("One", first), ("Two", second)):
        task = ecs.FargateTaskDefinition(stack, name, execution_role=shared.role)
        task.add_container("app", image=ecs.ContainerImage.from_ecr_repository(repository))
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(stack)
    assert "repository/second" in str(error.value)
    assert "repository/first" not in str(error.value)


def test_partition_token_and_literal_partition_compare_equal() -> None:
    from ecs_exec_roles._cfn import canonical

    token_form = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:eu-west-1:1:repository/a"]]
    }
    assert canonical(token_form) == canonical("arn:aws:ecr:eu-west-1:1:repository/a")
    assert canonical("arn:aws-cn:ecr:cn-north-1:1:repository/a") == (
        "arn:<AWS::Partition>:ecr:cn-north-1:1:repository/a"
    )


def _platform_and_service(app: cdk.App) -> tuple[cdk.Stack, cdk.Stack]:
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    return cdk.Stack(app, "Platform", env=env), cdk.Stack(app, "Service", env=env)


def test_task_definition_in_another_stack_is_checked_against_the_role(app: cdk.App) -> None:
    # The role and the log group live in a platform stack; the service's task definition
    # names the log group by import, and the check still sees the same log group.
    platform, service = _platform_and_service(app)
    log_group = logs.LogGroup(platform, "Logs")
    repository = ecr.Repository(platform, "Repo")
    role = SharedExecutionRole(platform, "Role", repositories=[repository], log_groups=[log_group])
    _task(
        service,
        role.role,
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=log_group),
    )
    template = Template.from_stack(service)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::ECS::TaskDefinition", 1)


def _missing_log_group_message(
    app: cdk.App,
    log_scope: Construct,
    task_scope: cdk.Stack,
    make_role: Callable[[logs.ILogGroup], Any],
) -> tuple[str, logs.LogGroup, logs.LogGroup]:
    """Synth's error when a task logs to a log group its role (covering another) misses."""
    covered = logs.LogGroup(log_scope, "Logs")
    missing = logs.LogGroup(log_scope, "Other")
    role = make_role(covered)
    _task(
        task_scope,
        role.role,
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/nginx:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=missing),
    )
    with pytest.raises(RuntimeError) as error:
        app.synth()
    return str(error.value), missing, covered


def test_fails_when_a_log_group_of_another_stack_is_missing_naming_it_once(app: cdk.App) -> None:
    platform, service = _platform_and_service(app)
    message, missing, _ = _missing_log_group_message(
        app,
        platform,
        service,
        lambda covered: SharedExecutionRole(platform, "Role", derive=False, log_groups=[covered]),
    )
    assert "Platform/Role: the execution role does not cover 2 permission(s)" in message
    logical_id = platform.get_logical_id(missing.node.default_child)  # type: ignore[arg-type]
    assert (
        f"  - logs:CreateLogStream, logs:PutLogEvents on <{logical_id}.Arn>: add the "
        "resource to `log_groups` (needed by task definition Service/Task)" in message
    )
    # The streams of the same log group, read from the container, are not listed again.
    assert "log-stream:app/app/*" not in message


@pytest.mark.parametrize("stabilization", [True, False])
def test_role_created_by_an_aspect_after_the_first_role_is_visited(stabilization: bool) -> None:
    # The policies of a stack's roles are built once the app's aspects have visited every
    # construct (``_after_aspects``), so a role an aspect creates is built too. Without aspect
    # stabilization they are built when aspects reach the first role; a role an aspect
    # creates after that one ran would have none, so synth says so.
    app = cdk.App(context={"@aws-cdk/core:aspectStabilization": stabilization})
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    env_stack = cdk.Stack(app, "EnvStack", env=env)
    MinimalExecutionRole(env_stack, "First")
    later = Construct(env_stack, "Later")
    created: list[MinimalExecutionRole] = []

    @jsii.implements(cdk.IAspect)
    class AddRole:
        def visit(self, node: IConstruct) -> None:
            if node is later and not created:
                created.append(
                    MinimalExecutionRole(
                        env_stack,
                        "Late",
                        log_groups=[logs.LogGroup.from_log_group_name(env_stack, "L", "/ecs/x")],
                        derive=False,
                    )
                )

    cdk.Aspects.of(later).add(AddRole())
    if stabilization:
        template = Template.from_stack(env_stack)
        template.resource_count_is("AWS::IAM::Role", 2)
        template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    else:
        with pytest.raises(RuntimeError, match="EnvStack/Late: the role was created after"):
            Template.from_stack(env_stack)
    assert created


def test_role_created_by_an_aspect_before_the_first_role_is_visited(env_stack: cdk.Stack) -> None:
    # An aspect of the stack visits it before its roles, so the role it adds is built too.
    MinimalExecutionRole(env_stack, "First")
    created: list[MinimalExecutionRole] = []

    @jsii.implements(cdk.IAspect)
    class AddRole:
        def visit(self, node: IConstruct) -> None:
            if node is env_stack and not created:
                created.append(MinimalExecutionRole(env_stack, "Early"))

    cdk.Aspects.of(env_stack).add(AddRole())
    Template.from_stack(env_stack).resource_count_is("AWS::IAM::Role", 2)
    assert created


def test_role_in_a_nested_stack_covers_resources_of_its_parent(app: cdk.App) -> None:
    # aws-cdk-lib passes the parent's repository and log group to the nested stack as
    # parameters while it prepares the app; the check compares in that form.
    parent = cdk.Stack(
        app, "Parent", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    log_group = logs.LogGroup(parent, "Logs")
    repository = ecr.Repository(parent, "Repo")
    nested = cdk.NestedStack(parent, "Nested")
    role = MinimalExecutionRole(nested, "Api", repositories=[repository], log_groups=[log_group])
    _task(
        nested,
        role.role,
        image=ecs.ContainerImage.from_ecr_repository(repository),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=log_group),
    )
    template = Template.from_stack(nested)
    statements = policy_statements(template.to_json(), role_logical_id(nested, role))
    written = next(s for s in statements if s["Sid"] == "LogsWrite")["Resource"]
    assert written["Ref"].startswith("referenceto") and written["Ref"].endswith("Arn")


def test_fails_when_a_role_in_a_nested_stack_misses_a_log_group(app: cdk.App) -> None:
    parent = cdk.Stack(
        app, "Parent", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    nested = cdk.NestedStack(parent, "Nested")
    message, missing, covered = _missing_log_group_message(
        app,
        parent,
        nested,
        lambda covered: MinimalExecutionRole(nested, "Api", derive=False, log_groups=[covered]),
    )
    assert "Parent/Nested/Api: the execution role does not cover" in message
    logical_id = parent.get_logical_id(missing.node.default_child)  # type: ignore[arg-type]
    assert f"logs:PutLogEvents on <{logical_id}.Arn>" in message
    # The covered log group is not reported, under either spelling.
    assert "referencetoParentLogs" not in message
    assert parent.get_logical_id(covered.node.default_child) not in message  # type: ignore[arg-type]


def test_fails_naming_the_prop_container_and_resource_readably() -> None:
    from pathlib import Path

    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs_patterns as ecs_patterns

    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    credentials = secretsmanager.Secret.from_secret_name_v2(stack, "Creds", "dockerhub/creds")
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    role = MinimalExecutionRole(
        stack, "Exec", derive=False, log_groups=[log_group], log_stream_prefixes=["api"]
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0))
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Api",
        cluster=cluster,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry("me/app:1", credentials=credentials),
            execution_role=role.role,
            log_driver=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=log_group),
        ),
    )
    worker = ecs.FargateTaskDefinition(stack, "Worker", execution_role=role.role, family="worker")
    web = Path(__file__).resolve().parents[1] / "examples" / "web"
    worker.add_container("job", image=ecs.ContainerImage.from_asset(str(web)))
    with pytest.raises(RuntimeError) as error:
        app.synth()
    message = str(error.value)
    assert "Fn::Join" not in message
    secret = (
        "arn:<AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:dockerhub/creds-??????"
    )
    assert (
        f"  - secretsmanager:GetSecretValue on {secret}: add the secret to "
        "`registry_credentials` (for container 'web' of task definition Stack/Api/TaskDef)"
    ) in message
    assert "pass `container_assets=True`" in message
    assert "(needed by task family 'worker' (Stack/Worker))" in message
    # aws-cdk-lib's generated family of the pattern's task definition (a hash) is not shown.
    generated = stack.node.find_child("Api").node.find_child("TaskDef")
    assert str(generated.family) not in message  # type: ignore[attr-defined]


def test_fails_naming_the_stream_prefix_a_container_writes_under() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    role = MinimalExecutionRole(
        stack, "Exec", derive=False, log_groups=[log_group], log_stream_prefixes=["api"]
    )
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "web",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=log_group),
    )
    with pytest.raises(RuntimeError) as error:
        app.synth()
    message = str(error.value)
    assert (
        "Stack/Exec: container 'web' of task definition Stack/Task needs logs:CreateLogStream, "
        "logs:PutLogEvents on arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/api:"
        "log-stream:web/web/* for awslogs"
    ) in message
    assert "Suggested fix: add the stream prefix 'web' to `log_stream_prefixes`." in message
