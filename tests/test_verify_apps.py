"""Apps of several stacks, stages and FireLens routers, verified in their templates: a data
stack exports a secret (with and without a customer managed key), a parameter, a log group, a
bucket of environment files and a repository to a service stack; every mode of role passes,
allows what the task needs and no neighbour of it, judged by IAM's evaluation of the deployed
policies, with strong and weak cross-stack references. A stage of a CDK pipeline: its service's
role derived, its worker's hardened, an override in it found."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk import pipelines
from helpers import ROLE_CONSTRUCTS, ROLE_MODES

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole
from ecs_exec_roles._assembly import Assembly, load_assembly
from ecs_exec_roles._evaluate import ANY_VALUE, is_allowed, statements_of

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
MODES = ROLE_MODES
_CONSTRUCTS = ROLE_CONSTRUCTS


def _data_and_service(
    mode: str, env: cdk.Environment | None, references: str = "strong"
) -> cdk.App:
    # Strong references are exports and imports; weak ones (the default of a project made by
    # `cdk init`) read the producer's output with Fn::GetStackOutput.
    app = cdk.App(context={"@aws-cdk/core:defaultCrossStackReferences": references})
    data = cdk.Stack(app, "Data", env=env)
    key = kms.Key(data, "Key")
    plain = secretsmanager.Secret(data, "Plain")
    keyed_secret = secretsmanager.Secret(data, "Keyed", encryption_key=key)
    parameter = ssm.StringParameter(data, "Param", string_value="x")
    group = logs.LogGroup(data, "Group")
    bucket = s3.Bucket(data, "Bucket", encryption=s3.BucketEncryption.KMS, encryption_key=key)
    repository = ecr.Repository(data, "Repo")
    service = cdk.Stack(app, "Service", env=env)
    # A secret with a key of the data stack reaches the service with its key imported: a
    # grant on the data stack's key object would write the service's role into the key's
    # policy, a cycle between the stacks that aws-cdk-lib's own role meets as well.
    keyed = secretsmanager.Secret.from_secret_attributes(
        service,
        "KeyedRef",
        secret_complete_arn=keyed_secret.secret_arn,
        encryption_key=kms.Key.from_key_arn(service, "KeyRef", key.key_arn),
    )
    environment_file = ecs.EnvironmentFile.from_bucket(bucket, "app.env")
    role = None
    if mode == "harden":
        cdk.Aspects.of(app).add(HardenExecutionRoles())
    else:
        kind, how = mode.split("-")
        props: dict[str, Any] = {}
        if how == "props":
            props = {
                "derive": False,
                "secrets": [plain, keyed],
                "parameters": [parameter],
                "environment_files": [environment_file],
            }
            if kind != "starter":
                props.update(
                    repositories=[repository], log_groups=[group], log_stream_prefixes=["svc"]
                )
        role = _CONSTRUCTS[kind](service, "Role", **props)
    task = ecs.FargateTaskDefinition(service, "Task", execution_role=role, family="svc")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="svc", log_group=group),
        secrets={
            "PLAIN": ecs.Secret.from_secrets_manager(plain),
            "KEYED": ecs.Secret.from_secrets_manager(keyed, "password"),
            "P": ecs.Secret.from_ssm_parameter(parameter),
        },
        environment_files=[environment_file],
    )
    return app


def _assembly(app: cdk.App) -> Assembly:
    cloud_assembly = app.synth()
    return load_assembly([stack.template_full_path for stack in cloud_assembly.stacks_recursively])


class _Role:
    """A role of the synthesized app, and IAM's decision on requests with it."""

    def __init__(self, assembly: Assembly, path: str) -> None:
        self.assembly = assembly
        template, logical_id = assembly.by_path[path]
        name = assembly.text(template, {"Ref": logical_id})
        self.policies = []
        for other in assembly.templates:
            for other_id, resource in other.resources.items():
                if resource.get("Type") not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                    continue
                properties = other.properties(other_id)
                if name in (assembly.resolve(other, properties.get("Roles")) or []):
                    self.policies.append(assembly.resolve(other, properties["PolicyDocument"]))
        managed = assembly.resolve(
            template, template.properties(logical_id).get("ManagedPolicyArns")
        )
        if any("AmazonECSTaskExecutionRolePolicy" in arn for arn in managed or []):
            starter = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability"]
            starter += ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
            starter += ["logs:CreateLogStream", "logs:PutLogEvents"]
            self.policies.append(
                {"Statement": [{"Effect": "Allow", "Action": starter, "Resource": "*"}]}
            )

    def allows(self, action: str, resource: str, **context: str) -> bool:
        tags = {"aws:ResourceTag/*": ANY_VALUE}
        return is_allowed(self.policies, action, resource, {**tags, **context})


def _value(assembly: Assembly, stack_path: str, value: Any) -> str:
    template = next(t for t in assembly.templates if t.stack_path == stack_path)
    text = assembly.text(template, value)
    assert text is not None
    return text


def _resources(assembly: Assembly) -> dict[str, str]:
    """What the service's task uses, as deployed (from the data stack's template)."""

    def att(logical_prefix: str, attribute: str) -> str:
        template = next(t for t in assembly.templates if t.stack_path == "Data")
        logical_id = next(i for i in template.resources if i.startswith(logical_prefix))
        return _value(assembly, "Data", {"Fn::GetAtt": [logical_id, attribute]})

    def ref(logical_prefix: str) -> str:
        template = next(t for t in assembly.templates if t.stack_path == "Data")
        logical_id = next(i for i in template.resources if i.startswith(logical_prefix))
        return _value(assembly, "Data", {"Ref": logical_id})

    data = next(t for t in assembly.templates if t.stack_path == "Data")
    partition, region, account, suffix = (
        assembly.pseudo(data, name)
        for name in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
    )
    return {
        "repository": att("Repo", "Arn"),
        "streams": att("Group", "Arn").removesuffix(":*") + ":log-stream:svc/app/*",
        "other_streams": att("Group", "Arn").removesuffix(":*") + ":log-stream:other/app/*",
        "plain": ref("Plain"),
        "keyed": ref("Keyed"),
        "parameter": (
            f"arn:{partition}:ssm:{region}:{account}:parameter/" + ref("Param").removeprefix("/")
        ),
        "object": att("Bucket", "Arn") + "/app.env",
        "other_object": att("Bucket", "Arn") + "/other.env",
        "bucket": att("Bucket", "Arn"),
        "key": att("Key", "Arn"),
        "via_secrets": f"secretsmanager.{region}.{suffix}",
        "via_s3": f"s3.{region}.{suffix}",
        # The bucket's owner: the data stack's account.
        "owner": account,
    }


@pytest.mark.parametrize("references", ["strong", "weak"])
@pytest.mark.parametrize("env", [ENV, None], ids=["env", "agnostic"])
@pytest.mark.parametrize("mode", MODES)
def test_a_data_stack_exporting_to_a_service_stack_is_exact(
    mode: str, env: cdk.Environment | None, references: str
) -> None:
    app = _data_and_service(mode, env, references)
    assembly = _assembly(app)
    service = json.dumps(next(t for t in assembly.templates if t.stack_path == "Service").body)
    assert ("Fn::GetStackOutput" in service) == (references == "weak")
    path = (
        "Service/Task/ExecutionRole/Resource"
        if mode == "harden"
        else "Service/Role/Resource/Resource"
    )
    role = _Role(assembly, path)
    r = _resources(assembly)
    allowed = [
        ("ecr:BatchGetImage", r["repository"], {}),
        ("ecr:GetAuthorizationToken", "*", {}),
        ("logs:PutLogEvents", r["streams"], {}),
        ("secretsmanager:GetSecretValue", r["plain"], {}),
        ("secretsmanager:GetSecretValue", r["keyed"], {}),
        ("kms:Decrypt", r["key"], {"kms:ViaService": r["via_secrets"]}),
        ("ssm:GetParameters", r["parameter"], {}),
        ("s3:GetObject", r["object"], {"aws:ResourceAccount": r["owner"]}),
        ("s3:GetBucketLocation", r["bucket"], {"aws:ResourceAccount": r["owner"]}),
        ("kms:Decrypt", r["key"], {"kms:ViaService": r["via_s3"]}),
    ]
    for action, resource, context in allowed:
        assert role.allows(action, resource, **context), (
            action,
            assembly.symbols.display(resource),
        )
    denied = [
        ("secretsmanager:DescribeSecret", r["plain"], {}),
        ("ssm:GetParameter", r["parameter"], {}),
        ("s3:GetObject", r["other_object"], {"aws:ResourceAccount": r["owner"]}),
        ("s3:GetObject", r["object"], {"aws:ResourceAccount": "111122223333"}),
        ("kms:Decrypt", r["key"], {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}),
        ("kms:Decrypt", r["key"], {}),
    ]
    if not mode.startswith("starter"):
        # The starter's AWS managed policy writes to every log stream.
        denied.append(("logs:PutLogEvents", r["other_streams"], {}))
    for action, resource, context in denied:
        assert not role.allows(action, resource, **context), (
            action,
            assembly.symbols.display(resource),
        )


# -- FireLens routers with AWS's image, under any name ---------------------------------------


def _router_task(stack: cdk.Stack, role: Any, add: Callable[[ecs.TaskDefinition], None]) -> None:
    task = ecs.Ec2TaskDefinition(stack, "Task", execution_role=role)
    add(task)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        memory_limit_mib=256,
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )


def _explicit_router(name: str) -> Callable[[ecs.TaskDefinition], None]:
    def add(task: ecs.TaskDefinition) -> None:
        image = ssm.StringParameter.value_for_string_parameter(
            task, "/aws/service/aws-for-fluent-bit/2.1.0"
        )
        task.add_firelens_log_router(
            name,
            image=ecs.ContainerImage.from_registry(image),
            memory_limit_mib=128,
            firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="router",
                log_group=logs.LogGroup.from_log_group_name(task, "RouterLogs", "/ecs/router"),
            ),
        )

    return add


@pytest.mark.parametrize("name", ["log-router", "firelens"])
@pytest.mark.parametrize("env", [ENV, None], ids=["env", "agnostic"])
def test_a_router_added_from_the_fluent_bit_parameter_is_derived(
    name: str, env: cdk.Environment | None
) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=env)
    _router_task(stack, MinimalExecutionRole(stack, "Role"), _explicit_router(name))
    assembly = _assembly(app)
    role = _Role(assembly, "S/Role/Resource/Resource")
    template = assembly.templates[0]
    region = assembly.pseudo(template, "AWS::Region")
    pulls = [
        statement
        for policy in role.policies
        for statement in statements_of(policy)
        if statement.get("Sid") == "EcrImagePull"
    ]
    (pull,) = pulls
    assert "repository/aws-for-fluent-bit" in assembly.symbols.display(pull["Resource"])
    if env is not None:
        assert pull["Resource"] == (
            f"arn:aws:ecr:{region}:906394416424:repository/aws-for-fluent-bit"
        )


@pytest.mark.parametrize("name", ["log-router", "firelens"])
def test_a_router_of_aws_image_is_covered_by_firelens_default_router(name: str) -> None:
    def build(default_router: bool) -> cdk.App:
        app = cdk.App()
        stack = cdk.Stack(app, "S", env=ENV)
        role = MinimalExecutionRole(
            stack,
            "Role",
            derive=False,
            firelens_default_router=default_router,
            log_groups=[logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/router")],
        )
        _router_task(stack, role, _explicit_router(name))
        return app

    build(True).synth()
    with pytest.raises(RuntimeError) as raised:
        build(False).synth()
    message = str(raised.value)
    assert f"container {name!r} of task definition S/Task needs" in message
    assert "repository/aws-for-fluent-bit" in message
    assert "pass firelens_default_router=True" in message


def test_aws_cdk_libs_default_router_is_derived_and_verified() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _router_task(stack, MinimalExecutionRole(stack, "Role"), lambda task: None)
    app.synth()


# -- credential specs and secrets of L1 task definitions --------------------------------------


@pytest.mark.parametrize("derive", [True, False])
def test_a_credential_spec_in_a_parameter_of_the_app_is_allowed(derive: bool) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    parameter = ssm.StringParameter(stack, "Spec", string_value="{}")
    spec = ecs.DomainJoinedCredentialSpec.from_ssm_parameter(parameter)
    props: dict[str, Any] = {} if derive else {"derive": False, "credential_specs": [spec]}
    role = MinimalExecutionRole(stack, "Role", **props)
    task = ecs.Ec2TaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        memory_limit_mib=128,
        credential_specs=[spec],
    )
    assembly = _assembly(app)
    allowed = _Role(assembly, "S/Role/Resource/Resource")
    name = _value(
        assembly,
        "S",
        {"Ref": next(i for i in assembly.templates[0].resources if i.startswith("Spec"))},
    )
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.removeprefix('/')}"
    assert allowed.allows("ssm:GetParameters", arn)


def test_fails_when_a_credential_spec_in_a_parameter_of_the_app_is_left_out() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    parameter = ssm.StringParameter(stack, "Spec", string_value="{}")
    role = MinimalExecutionRole(stack, "Role", derive=False)
    task = ecs.Ec2TaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
        memory_limit_mib=128,
        credential_specs=[ecs.DomainJoinedCredentialSpec.from_ssm_parameter(parameter)],
    )
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "needs ssm:GetParameters on" in message
    assert "for its credential spec" in message
    assert "add the resource to `credential_specs`" in message


SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:splunk/token-AbCdEf"
CREDENTIALS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:registry/creds-AbCdEf"


def _l1_with_secret_options(stack: cdk.Stack, role: Any) -> None:
    ecs.CfnTaskDefinition(
        stack,
        "Raw",
        execution_role_arn=role.role_arn,
        container_definitions=[
            {
                "name": "raw",
                "image": "registry.example.com/team/raw:1",
                "repositoryCredentials": {"credentialsParameter": CREDENTIALS},
                "logConfiguration": {
                    "logDriver": "splunk",
                    "options": {"splunk-url": "https://splunk.example.com"},
                    "secretOptions": [{"name": "splunk-token", "valueFrom": SECRET}],
                },
            }
        ],
    )


def test_secret_options_and_registry_credentials_of_an_l1_task_definition_are_derived() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _l1_with_secret_options(stack, MinimalExecutionRole(stack, "Role"))
    role = _Role(_assembly(app), "S/Role/Resource/Resource")
    assert role.allows("secretsmanager:GetSecretValue", SECRET)
    assert role.allows("secretsmanager:GetSecretValue", CREDENTIALS)
    assert not role.allows("secretsmanager:GetSecretValue", SECRET.replace("token", "other"))


def test_fails_when_secret_options_and_registry_credentials_of_an_l1_are_left_out() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    _l1_with_secret_options(stack, MinimalExecutionRole(stack, "Role", derive=False))
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert f"on {SECRET} for its log driver secret option splunk-token" in message
    assert f"on {CREDENTIALS} for its registry credentials" in message
    assert "add the resource to `registry_credentials`" in message


# -- stages -------------------------------------------------------------------------------------


def test_the_roles_of_a_stage_are_verified_when_the_app_is_synthesized() -> None:
    app = cdk.App()
    stage = cdk.Stage(app, "Prod", env=ENV)
    stack = cdk.Stack(stage, "Service")
    role = MinimalExecutionRole(stack, "Role")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))
    task.node.default_child.add_property_override(  # type: ignore[union-attr]
        "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
    )
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "Prod/Service/Role: container 'app' of task definition Prod/Service/Task needs" in message
    )
    assert f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/api/flag" in message


class _ServiceStage(cdk.Stage):
    """A stage of a CDK pipeline: an ecs_patterns service on a derived role, and a worker
    whose role aws-cdk-lib makes, hardened by an aspect of the stage."""

    def __init__(self, scope: cdk.App, construct_id: str, *, override: bool) -> None:
        super().__init__(scope, construct_id, env=ENV)
        api = cdk.Stack(self, "Api")
        execution = MinimalExecutionRole(api, "Role")
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            api,
            "Service",
            cluster=ecs.Cluster(api, "Cluster", vpc=ec2.Vpc(api, "Vpc", nat_gateways=0)),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(ecr.Repository(api, "Repo"), "v1"),
                execution_role=execution.role,
            ),
        )
        if override:
            service.task_definition.node.default_child.add_property_override(  # type: ignore[union-attr]
                "ContainerDefinitions.0.Secrets", [{"Name": "FLAG", "ValueFrom": "/api/flag"}]
            )
        worker = cdk.Stack(self, "Worker")
        task = ecs.FargateTaskDefinition(worker, "Task")
        task.add_container(
            "worker",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker"),
        )
        cdk.Aspects.of(self).add(HardenExecutionRoles())


@pytest.mark.parametrize("override", [False, True])
def test_a_stage_of_a_cdk_pipeline_is_built_and_verified(override: bool) -> None:
    # CodePipeline synthesizes the stage when it is added, running the stage's aspects; the
    # app's synthesis verifies the stage's templates.
    app = cdk.App()
    pipeline = pipelines.CodePipeline(
        cdk.Stack(app, "Pipeline", env=ENV),
        "Pipeline",
        synth=pipelines.ShellStep(
            "Synth",
            input=pipelines.CodePipelineSource.connection(
                "team/app",
                "main",
                connection_arn=f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/x",
            ),
            commands=["npx cdk synth"],
        ),
    )
    pipeline.add_stage(_ServiceStage(app, "Prod", override=override))
    if override:
        with pytest.raises(RuntimeError) as raised:
            app.synth()
        assert (
            "Prod/Api/Role: container 'web' of task definition Prod/Api/Service/TaskDef needs "
            f"ssm:GetParameters on arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/api/flag"
        ) in str(raised.value)
        return
    assembly = _assembly(app)
    api = _Role(assembly, "Prod/Api/Role/Resource/Resource")
    repository = next(t for t in assembly.templates if t.stack_path == "Prod/Api")
    repository_arn = _value(
        assembly,
        "Prod/Api",
        {"Fn::GetAtt": [next(i for i in repository.resources if i.startswith("Repo")), "Arn"]},
    )
    assert api.allows("ecr:BatchGetImage", repository_arn)
    worker = _Role(assembly, "Prod/Worker/Task/ExecutionRole/Resource")
    assert not worker.allows("ecr:BatchGetImage", repository_arn)
    assert not [
        logical_id
        for template in assembly.templates
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::IAM::Policy" and template.stack_path.startswith("Prod/")
    ]
