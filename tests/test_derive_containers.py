"""The needs derived from the containers of a role's task definitions (``_derive_containers``):
ECR images named by URI, where ``awslogs`` writes, the secrets of L1 task definitions,
environment files, FireLens configuration files and credential specs.

L1 task definitions are read from hand-written container definitions (what ``_usage`` hands
derivation: the containers in template form); values that name a resource are read from the
containers' CDK objects, so those cases use task definitions of a small app, whose containers
``_usage.gather_usages`` renders. ``tests/test_derive.py`` evaluates the policies derivation
builds from these needs, end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._derive_containers import (
    DeriveContext,
    Stream,
    _with_pseudo_parameters,
    container_needs,
    is_exact,
)
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._reader import read_containers
from ecs_exec_roles._recorder import RecordedGrant
from ecs_exec_roles._symbols import Symbols, Unknown
from ecs_exec_roles._task_definitions import IndexedTask
from ecs_exec_roles._template import Template
from ecs_exec_roles._usage import GrantView, RoleUsage, StackValues, TaskView, gather_usages

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
WHERE = "Agnostic/Role"
P, R, A = cdk.Aws.PARTITION, cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
VALUES = StackValues(lambda value: value, "amazonaws.com", lambda name: name)
RAW = "task family 'raw' (Agnostic/Raw)"


@dataclass
class L1App:
    """Stacks for contexts, and an L1 task definition that containers are read for."""

    agnostic: cdk.Stack
    env: cdk.Stack
    other: cdk.Stack
    raw: ecs.CfnTaskDefinition


@pytest.fixture(scope="module")
def l1() -> L1App:
    app = cdk.App()
    agnostic = cdk.Stack(app, "Agnostic")
    return L1App(
        agnostic,
        cdk.Stack(app, "Env", env=ENV),
        cdk.Stack(app, "Other"),
        ecs.CfnTaskDefinition(agnostic, "Raw", family="raw"),
    )


class Reading:
    """Containers read as derivation reads them: one assembly (and its symbols) per role."""

    def __init__(self) -> None:
        self.assembly = Assembly([Template("", {})])

    def view(self, task: Any, *containers: dict[str, Any], home: Any = None) -> TaskView:
        """An L1 task definition using the role, with ``containers`` in template form."""
        read = read_containers(self.assembly, self.assembly.templates[0], list(containers))
        return TaskView(IndexedTask(task, task), list(containers), read, home)

    def context(self, stack: cdk.Stack, *views: TaskView) -> DeriveContext:
        usage = RoleUsage(stack, cast(Any, None), stack, VALUES, self.assembly.symbols, list(views))
        return DeriveContext(WHERE, usage)


def derived(
    l1: L1App, *containers: dict[str, Any]
) -> tuple[list[Need], list[Stream], DeriveContext]:
    """The needs and streams of the raw task definition with ``containers``, in the
    environment-agnostic stack."""
    reading = Reading()
    context = reading.context(l1.agnostic, reading.view(l1.raw, *containers))
    needs, streams = container_needs(context)
    return needs, streams, context


def need(kind: Kind, arn: str, **extra: Any) -> Need:
    return Need(kind, arn, "", **extra)


def stream_fields(stream: Stream) -> tuple[Any, ...]:
    """A stream's fields but its origin (which compares by identity)."""
    return (
        stream.group,
        stream.group_key,
        stream.region,
        stream.region_key,
        stream.prefix,
        stream.create_group,
        stream.home,
    )


def join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


# -- _with_pseudo_parameters -------------------------------------------------------------------


def pseudo_symbols() -> tuple[Symbols, dict[str, str]]:
    symbols = Symbols()
    placeholders = {
        name: symbols.placeholder(Unknown(f"<{name}>", ("pseudo", name)))
        for name in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
    }
    placeholders["Bucket"] = symbols.placeholder(Unknown("<Bucket>", ("ref", "", "Bucket")))
    placeholders["AWS::StackName"] = symbols.placeholder(
        Unknown("<AWS::StackName>", ("pseudo", "AWS::StackName"))
    )
    return symbols, placeholders


def test_text_without_unknowns_is_its_own_cdk_string() -> None:
    symbols, _ = pseudo_symbols()
    text = "arn:aws:ecr:eu-west-1:123456789012:repository/api"
    assert _with_pseudo_parameters(symbols, text) == text


def test_pseudo_parameters_become_cdk_pseudo_tokens_in_their_order() -> None:
    symbols, unknown = pseudo_symbols()
    text = (
        f"arn:{unknown['AWS::Partition']}:ecr:{unknown['AWS::Region']}:"
        f"{unknown['AWS::AccountId']}:repository/{unknown['AWS::Region']}/"
        f"{unknown['AWS::URLSuffix']}"
    )
    assert _with_pseudo_parameters(symbols, text) == (
        f"arn:{P}:ecr:{R}:{A}:repository/{R}/{cdk.Aws.URL_SUFFIX}"
    )


@pytest.mark.parametrize("other", ["Bucket", "AWS::StackName"])
def test_text_naming_anything_but_the_four_pseudo_parameters_cannot_be_rebuilt(
    other: str,
) -> None:
    symbols, unknown = pseudo_symbols()
    text = f"arn:{unknown['AWS::Partition']}:s3:::{unknown[other]}/app.env"
    assert _with_pseudo_parameters(symbols, text) is None


# -- is_exact ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "exact"),
    [
        (Kind.S3_OBJECT, "arn:aws:s3:::config/app/prod.env", True),
        (Kind.S3_OBJECT, "arn:aws:s3:::config/*.env", False),
        (Kind.S3_OBJECT, "arn:aws:s3:::config/prod?.env", False),
        (Kind.S3_OBJECT, "arn:aws:s3:::config/${aws:username}.env", False),
        (Kind.S3_OBJECT, "arn:aws:s3:::config", False),
        (Kind.PARAMETER, "arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/spec", True),
        (Kind.PARAMETER, "arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/*", False),
        (Kind.PARAMETER, "arn:aws:ssm:*:123456789012:parameter/gmsa/spec", False),
        (Kind.PARAMETER, "arn:aws:ssm:eu-west-1:123456789012:parameter/", False),
        (Kind.LOG_GROUP, "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/web:*", True),
        (Kind.LOG_GROUP, "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/*:*", False),
    ],
)
def test_is_exact_when_the_text_names_one_resource_of_its_kind(
    l1: L1App, kind: Kind, text: str, exact: bool
) -> None:
    context = Reading().context(l1.agnostic)
    assert is_exact(context, kind, text) is exact


def test_is_exact_reads_unknown_parts_as_their_labels(l1: L1App) -> None:
    reading = Reading()
    context = reading.context(l1.agnostic)
    bucket = reading.assembly.symbols.placeholder(Unknown("<Bucket.Arn>", ("att", "Bucket")))
    assert is_exact(context, Kind.S3_OBJECT, f"{bucket}/app.env")
    assert not is_exact(context, Kind.S3_OBJECT, f"{bucket}/*")


# -- the context ---------------------------------------------------------------------------------


def test_the_context_has_the_role_stacks_partition_region_and_account(l1: L1App) -> None:
    reading = Reading()
    env = reading.context(l1.env)
    agnostic = reading.context(l1.agnostic)
    assert (env.partition, env.region, env.account) == (P, REGION, ACCOUNT)
    assert (agnostic.partition, agnostic.region, agnostic.account) == (P, R, A)
    assert env.errors == []
    assert env.granted_repositories == set()


def test_the_context_is_remote_only_when_a_task_definition_of_another_stack_uses_the_role(
    l1: L1App,
) -> None:
    reading = Reading()
    local = reading.view(l1.raw)
    assert not reading.context(l1.agnostic).remote
    assert not reading.context(l1.agnostic, local).remote
    assert reading.context(l1.agnostic, local, reading.view(l1.raw, home=l1.other)).remote


def grant_made_for(owner: Any) -> GrantView:
    statement = iam.PolicyStatement(actions=["ecr:BatchGetImage"], resources=["*"])
    return GrantView({}, {}, RecordedGrant(statement, None, owner))


def test_a_grant_goes_to_the_stack_of_the_construct_it_was_made_for_when_remote(
    l1: L1App,
) -> None:
    reading = Reading()
    context = reading.context(l1.agnostic, reading.view(l1.raw, home=l1.other))
    remote_owner = ecs.CfnTaskDefinition(l1.other, "RemoteOwner")
    assert context.home_of(grant_made_for(remote_owner)) is l1.other
    # The role's own stack, and a grant made outside any construct, stay with the role.
    assert context.home_of(grant_made_for(l1.raw)) is None
    assert context.home_of(grant_made_for(None)) is None


def test_a_grant_stays_with_the_role_when_no_task_definition_is_remote(l1: L1App) -> None:
    reading = Reading()
    context = reading.context(l1.agnostic, reading.view(l1.raw))
    owner = ecs.CfnTaskDefinition(l1.other, "NotRemote")
    assert context.home_of(grant_made_for(owner)) is None


def test_cdk_string_rebuilds_pseudo_parameters_without_reading_the_object(l1: L1App) -> None:
    reading = Reading()
    context = reading.context(l1.agnostic)
    region = reading.assembly.symbols.placeholder(
        Unknown("<AWS::Region>", ("pseudo", "AWS::Region"))
    )

    def unexpected() -> str:
        raise AssertionError("read the CDK object")

    assert context.cdk_string(f"/ecs/{region}", unexpected) == f"/ecs/{R}"


def test_cdk_string_reads_the_object_for_a_value_naming_a_resource(l1: L1App) -> None:
    reading = Reading()
    context = reading.context(l1.agnostic)
    group = reading.assembly.symbols.placeholder(Unknown("<Logs>", ("ref", "", "Logs")))
    assert context.cdk_string(group, lambda: "from-object") == "from-object"
    assert context.cdk_string(group, lambda: None) is None
    assert context.shown(f"{group}:*") == "<Logs>:*"


# -- images --------------------------------------------------------------------------------------


def test_an_ecr_image_written_out_pulls_from_its_repository_in_its_account_and_region(
    l1: L1App,
) -> None:
    image = "210987654321.dkr.ecr.us-west-2.amazonaws.com/team/api:v1"
    needs, streams, _ = derived(l1, {"name": "app", "image": image})
    assert needs == [
        need(Kind.REPOSITORY, "arn:aws:ecr:us-west-2:210987654321:repository/team/api")
    ]
    assert str(needs[0].origin) == f"container 'app' of {RAW} for its image {image}"
    assert streams == []


def test_an_ecr_image_of_pseudo_parameters_pulls_from_the_tasks_account_and_region(
    l1: L1App,
) -> None:
    image = join(
        ref("AWS::AccountId"), ".dkr.ecr.", ref("AWS::Region"), ".", ref("AWS::URLSuffix"), "/api:1"
    )
    needs, _, _ = derived(l1, {"name": "app", "image": image})
    assert needs == [need(Kind.REPOSITORY, f"arn:{P}:ecr:{R}:{A}:repository/api")]
    assert str(needs[0].origin) == (
        f"container 'app' of {RAW} for its image "
        "<AWS::AccountId>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>/api:1"
    )


def _repository_arn_part(index: int) -> dict[str, Any]:
    return {"Fn::Select": [index, {"Fn::Split": [":", {"Fn::GetAtt": ["Repo", "Arn"]}]}]}


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27",
        "public.ecr.aws/nginx/nginx:1",
        "ghcr.io/org/app:1",
        # AWS's FireLens image, by its public SSM parameter.
        ref(
            "SsmParameterValueawsserviceawsforfluentbitlatestC96584B6F00A464EAD1953AFF4B05118Parameter"
        ),
        # The registry's account is a stack parameter: the verification names it.
        join(ref("RegistryAccount"), ".dkr.ecr.eu-west-1.amazonaws.com/api:1"),
        # Built from a repository's ARN, which an L1 task definition holds no object for.
        join(
            _repository_arn_part(4),
            ".dkr.ecr.",
            _repository_arn_part(3),
            ".",
            ref("AWS::URLSuffix"),
            "/",
            ref("Repo"),
            ":v1",
        ),
    ],
)
def test_an_image_derives_nothing_when_it_is_not_an_ecr_uri_the_template_spells_out(
    l1: L1App, image: Any
) -> None:
    needs, _, context = derived(l1, {"name": "app", "image": image})
    assert len(context.usage.tasks[0].read.images) == 1
    assert needs == []


# -- secrets of L1 task definitions ---------------------------------------------------------------

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret"
PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter"


@pytest.mark.parametrize(
    ("container", "expected", "label"),
    [
        (
            {"secrets": [{"name": "DB", "valueFrom": f"{SECRET}:db-AbCdEf:password::"}]},
            need(Kind.SECRET, f"{SECRET}:db-AbCdEf"),
            "secret DB",
        ),
        (
            {"secrets": [{"name": "DB", "valueFrom": f"{SECRET}:db"}]},
            need(Kind.SECRET, f"{SECRET}:db-??????"),
            "secret DB",
        ),
        (
            {"secrets": [{"name": "TOKEN", "valueFrom": f"{PARAMETER}/app/token"}]},
            need(Kind.PARAMETER, f"{PARAMETER}/app/token"),
            "secret TOKEN",
        ),
        (
            {"secrets": [{"name": "TOKEN", "valueFrom": "/app/token"}]},
            need(Kind.PARAMETER, f"arn:{P}:ssm:{R}:{A}:parameter/app/token"),
            "secret TOKEN",
        ),
        (
            {
                "logConfiguration": {
                    "logDriver": "splunk",
                    "secretOptions": [
                        {"name": "splunk-token", "valueFrom": f"{SECRET}:splunk-AbCdEf"}
                    ],
                }
            },
            need(Kind.SECRET, f"{SECRET}:splunk-AbCdEf"),
            "log driver secret option splunk-token",
        ),
        (
            {"repositoryCredentials": {"credentialsParameter": f"{SECRET}:registry"}},
            need(Kind.SECRET, f"{SECRET}:registry-??????"),
            "registry credentials",
        ),
    ],
)
def test_an_l1_task_reads_the_secret_or_parameter_its_container_names(
    l1: L1App, container: dict[str, Any], expected: Need, label: str
) -> None:
    needs, _, _ = derived(l1, {"name": "app", **container})
    assert needs == [expected]
    assert str(needs[0].origin) == f"container 'app' of {RAW} for its {label}"


def test_a_secret_named_by_a_value_of_the_stack_is_left_to_the_verification(
    l1: L1App,
) -> None:
    value_from = join(f"{PARAMETER}/", ref("ParameterName"))
    needs, _, context = derived(
        l1, {"name": "app", "secrets": [{"name": "X", "valueFrom": value_from}]}
    )
    assert [secret.name for secret in context.usage.tasks[0].read.secrets] == ["X"]
    assert needs == []


# -- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "expected", "label"),
    [
        (
            {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::config/app/prod.env"}]},
            [
                need(Kind.S3_OBJECT, "arn:aws:s3:::config/app/prod.env"),
                need(Kind.S3_BUCKET, "arn:aws:s3:::config"),
            ],
            "environment file",
        ),
        (
            {
                "environmentFiles": [
                    {"type": "s3", "value": join("arn:", ref("AWS::Partition"), ":s3:::cfg/a.env")}
                ]
            },
            [
                need(Kind.S3_OBJECT, f"arn:{P}:s3:::cfg/a.env"),
                need(Kind.S3_BUCKET, f"arn:{P}:s3:::cfg"),
            ],
            "environment file",
        ),
        (
            {
                "firelensConfiguration": {
                    "type": "fluentbit",
                    "options": {
                        "config-file-type": "s3",
                        "config-file-value": "arn:aws:s3:::config/fluent.conf",
                    },
                }
            },
            [
                need(Kind.S3_OBJECT, "arn:aws:s3:::config/fluent.conf"),
                need(Kind.S3_BUCKET, "arn:aws:s3:::config"),
            ],
            "FireLens config file",
        ),
        (
            {"credentialSpecs": ["credentialspecdomainless:arn:aws:s3:::specs/gmsa.json"]},
            [
                need(Kind.S3_OBJECT, "arn:aws:s3:::specs/gmsa.json"),
                need(Kind.S3_BUCKET, "arn:aws:s3:::specs"),
            ],
            "credential spec",
        ),
        (
            {"credentialSpecs": [f"credentialspec:{PARAMETER}/gmsa/spec"]},
            [need(Kind.PARAMETER, f"{PARAMETER}/gmsa/spec")],
            "credential spec",
        ),
    ],
)
def test_a_file_ecs_reads_before_the_container_starts_is_read_exactly(
    l1: L1App, container: dict[str, Any], expected: list[Need], label: str
) -> None:
    needs, _, context = derived(l1, {"name": "app", **container})
    assert needs == expected
    assert {str(found.origin) for found in needs} == {f"container 'app' of {RAW} for its {label}"}
    assert context.errors == []


@pytest.mark.parametrize(
    "container",
    [
        {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::config/*.env"}]},
        {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::config/prod?.env"}]},
        {"credentialSpecs": [f"credentialspec:{PARAMETER}/gmsa/*"]},
        {"credentialSpecs": ["credentialspec:arn:aws:s3:::specs/*"]},
        # The bucket is a resource an L1 task definition holds no object for.
        {
            "environmentFiles": [
                {"type": "s3", "value": join({"Fn::GetAtt": ["Bucket", "Arn"]}, "/app.env")}
            ]
        },
    ],
)
def test_a_file_derives_nothing_when_it_could_name_more_than_one_or_names_a_resource(
    l1: L1App, container: dict[str, Any]
) -> None:
    needs, _, context = derived(l1, {"name": "app", **container})
    assert len(context.usage.tasks[0].read.files) == 1
    assert needs == []


# -- awslogs -------------------------------------------------------------------------------------


def awslogs(**options: Any) -> dict[str, Any]:
    return {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": options}}


def test_awslogs_without_a_region_writes_in_the_tasks_region(l1: L1App) -> None:
    container = awslogs(
        **{"awslogs-group": "/ecs/raw", "awslogs-stream-prefix": "raw"},
        **{"awslogs-create-group": "true"},
    )
    needs, streams, _ = derived(l1, container)
    assert needs == []
    (stream,) = streams
    assert stream_fields(stream) == ("/ecs/raw", "/ecs/raw", R, "<AWS::Region>", "raw", True, None)
    assert str(stream.origin) == f"container 'app' of {RAW} for awslogs"


def test_awslogs_in_another_region_keeps_that_region_without_a_prefix(l1: L1App) -> None:
    container = awslogs(**{"awslogs-group": "/ecs/raw", "awslogs-region": "us-east-1"})
    _, streams, _ = derived(l1, container)
    assert [stream_fields(s) for s in streams] == [
        ("/ecs/raw", "/ecs/raw", "us-east-1", "us-east-1", "", False, None)
    ]


@pytest.mark.parametrize(
    "group", [ref("Logs"), join("/ecs/", ref("AWS::StackName")), join("/ecs/", ref("Env"))]
)
def test_awslogs_of_a_group_neither_written_out_nor_held_by_an_object_is_left_out(
    l1: L1App, group: Any
) -> None:
    _, streams, context = derived(l1, awslogs(**{"awslogs-group": group}))
    assert len(context.usage.tasks[0].read.logs) == 1
    assert streams == []


def test_a_streams_arn_is_in_the_roles_account_and_the_streams_region(l1: L1App) -> None:
    reading = Reading()
    context = reading.context(l1.env)
    stream = Stream("/ecs/raw", "/ecs/raw", "us-east-1", "us-east-1", "", False, None, None)  # type: ignore[arg-type]
    assert l1.env.resolve(stream.arn(context, ":*")) == join(
        "arn:", ref("AWS::Partition"), ":logs:us-east-1:123456789012:log-group:/ecs/raw:*"
    )


# -- several task definitions ----------------------------------------------------------------------


def test_needs_and_streams_of_a_task_definition_of_another_stack_go_to_that_stack(
    l1: L1App,
) -> None:
    reading = Reading()
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/{}:1"
    logged = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/{}"}}
    local = reading.view(l1.raw, {"name": "a", "image": image.format("local")})
    remote_task = ecs.CfnTaskDefinition(l1.other, "RemoteRaw", family="remote")
    remote = reading.view(
        remote_task,
        {
            "name": "b",
            "image": image.format("remote"),
            "logConfiguration": {**logged, "options": {"awslogs-group": "/ecs/remote"}},
            "secrets": [{"name": "S", "valueFrom": "/remote/token"}],
        },
        home=l1.other,
    )
    needs, streams = container_needs(reading.context(l1.agnostic, local, remote))
    repository = "arn:aws:ecr:eu-west-1:123456789012:repository/{}"
    assert needs == [
        need(Kind.REPOSITORY, repository.format("local")),
        need(Kind.REPOSITORY, repository.format("remote"), home=l1.other),
        need(Kind.PARAMETER, f"arn:{P}:ssm:{R}:{A}:parameter/remote/token", home=l1.other),
    ]
    assert str(needs[1].origin) == (
        f"container 'b' of task family 'remote' (Other/RemoteRaw) for its image "
        f"{image.format('remote')}"
    )
    assert [s.home for s in streams] == [l1.other]


# -- task definitions of an app: values read from the containers' objects --------------------------


@dataclass
class L2App:
    service: cdk.Stack
    repository: ecr.Repository
    key: kms.Key
    bucket: s3.Bucket
    group: logs.LogGroup
    parameter: ssm.StringParameter
    task: ecs.TaskDefinition
    alias_task: ecs.TaskDefinition
    usage: RoleUsage


class _Role:
    """A role with no grants, as ``gather_usages`` reads one."""

    recorded_grants: tuple[RecordedGrant, ...] = ()

    @contextmanager
    def rendering(self, task: Any) -> Iterator[None]:
        yield


@pytest.fixture(scope="module")
def l2() -> L2App:
    app = cdk.App()
    service = cdk.Stack(app, "Service", env=ENV)
    data = cdk.Stack(app, "Data", env=ENV)
    repository = ecr.Repository(data, "Repo")
    key = kms.Key(service, "Key")
    bucket = s3.Bucket(service, "Bucket", encryption_key=key)
    group = logs.LogGroup(service, "Logs")
    parameter = ssm.StringParameter(service, "Spec", string_value="{}")
    secret = secretsmanager.Secret.from_secret_complete_arn(
        service, "Secret", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
    )
    role = iam.Role(service, "Exec", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    task = ecs.Ec2TaskDefinition(service, "Task", family="web", execution_role=role)
    task.add_container(
        "web",
        image=ecs.ContainerImage.from_registry(repository.repository_uri_for_tag("v1")),
        memory_limit_mib=256,
        logging=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=group),
        environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "app.env")],
        credential_specs=[ecs.DomainJoinedCredentialSpec.from_ssm_parameter(parameter)],
        secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
    )
    task.add_firelens_log_router(
        "router",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/aws-observability/fluent-bit:3"),
        memory_limit_mib=128,
        firelens_config=ecs.FirelensConfig(
            type=ecs.FirelensLogRouterType.FLUENTBIT,
            options=ecs.FirelensOptions(
                config_file_type=ecs.FirelensConfigFileType.S3,
                config_file_value=bucket.arn_for_objects("fluent.conf"),
            ),
        ),
    )
    alias = kms.Key.from_key_arn(service, "Alias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/files")
    alias_bucket = s3.Bucket(
        service, "AliasBucket", encryption=s3.BucketEncryption.KMS, encryption_key=alias
    )
    alias_task = ecs.Ec2TaskDefinition(service, "AliasTask", family="alias", execution_role=role)
    alias_task.add_container(
        "web",
        image=ecs.ContainerImage.from_registry("nginx"),
        memory_limit_mib=256,
        environment_files=[ecs.EnvironmentFile.from_bucket(alias_bucket, "app.env")],
    )
    entries = [IndexedTask(task, execution_role=role), IndexedTask(alias_task, execution_role=role)]
    (usage,) = gather_usages(
        service, [], [(cast(Any, _Role()), service)], lambda _: entries, VALUES
    )
    return L2App(service, repository, key, bucket, group, parameter, task, alias_task, usage)


def l2_context(l2: L2App, *tasks: ecs.TaskDefinition) -> DeriveContext:
    views = [view for view in l2.usage.tasks if view.entry.task in tasks]
    usage = RoleUsage(l2.service, cast(Any, None), l2.service, VALUES, l2.usage.symbols, views)
    return DeriveContext("Service/Role", usage)


def test_an_image_built_from_a_repository_of_another_stack_pulls_from_that_repository(
    l2: L2App,
) -> None:
    needs, _ = container_needs(l2_context(l2, l2.task))
    pulls = [found for found in needs if found.kind is Kind.REPOSITORY]
    # The repository's own ARN, as a CDK string that keeps the reference to its stack.
    assert pulls == [need(Kind.REPOSITORY, str(l2.repository.repository_arn))]
    assert str(pulls[0].origin).startswith("container 'web' of task family 'web' (Service/Task)")


def test_an_image_of_a_repository_granted_by_aws_cdk_lib_derives_nothing_more(
    l2: L2App,
) -> None:
    context = l2_context(l2, l2.task)
    (view,) = context.usage.tasks
    context.granted_repositories.add(context.shown(view.read.images[0].source.repository_arn))
    needs, _ = container_needs(context)
    assert [found for found in needs if found.kind is Kind.REPOSITORY] == []


def test_files_in_a_bucket_of_the_app_bring_its_key_through_s3(l2: L2App) -> None:
    needs, _ = container_needs(l2_context(l2, l2.task))
    bucket, key = l2.bucket, l2.key
    key_need = need(Kind.KEY, key.key_arn, region=REGION, services=("s3",))
    assert [found for found in needs if found.kind is not Kind.REPOSITORY] == [
        need(Kind.S3_OBJECT, f"arn:{P}:s3:::{bucket.bucket_name}/app.env"),
        need(Kind.S3_BUCKET, f"arn:{P}:s3:::{bucket.bucket_name}"),
        key_need,
        need(Kind.PARAMETER, l2.parameter.parameter_arn),
        need(Kind.S3_OBJECT, f"{bucket.bucket_arn}/fluent.conf"),
        need(Kind.S3_BUCKET, bucket.bucket_arn),
        key_need,
    ]
    web = "container 'web' of task family 'web' (Service/Task) for its"
    router = "container 'router' of task family 'web' (Service/Task) for its"
    assert [str(found.origin) for found in needs[1:]] == [
        f"{web} environment file",
        f"{web} environment file",
        "Service/Key",
        f"{web} credential spec",
        f"{router} FireLens config file",
        f"{router} FireLens config file",
        "Service/Key",
    ]


def test_the_secrets_of_an_l2_task_definition_are_left_to_aws_cdk_libs_grants(
    l2: L2App,
) -> None:
    (view,) = l2_context(l2, l2.task).usage.tasks
    assert [secret.name for secret in view.read.secrets] == ["DB"]
    needs, _ = container_needs(l2_context(l2, l2.task))
    assert [found for found in needs if found.kind in (Kind.SECRET, Kind.PARAMETER)] == [
        need(Kind.PARAMETER, l2.parameter.parameter_arn)  # the credential spec
    ]


def test_awslogs_of_a_log_group_of_the_app_writes_to_its_name_from_the_object(
    l2: L2App,
) -> None:
    _, streams = container_needs(l2_context(l2, l2.task))
    group_id = l2.service.get_logical_id(cast(cdk.CfnElement, l2.group.node.default_child))
    assert [stream_fields(s) for s in streams] == [
        (str(l2.group.log_group_name), f"<{group_id}>", REGION, REGION, "web", False, None)
    ]
    assert (
        str(streams[0].origin) == "container 'web' of task family 'web' (Service/Task) for awslogs"
    )


def test_a_bucket_encrypted_with_an_alias_is_an_error_and_its_object_still_a_need(
    l2: L2App,
) -> None:
    context = l2_context(l2, l2.alias_task)
    needs, _ = container_needs(context)
    assert [found.kind for found in needs] == [Kind.S3_OBJECT, Kind.S3_BUCKET]
    origin = "container 'web' of task family 'alias' (Service/AliasTask) for its environment file"
    assert context.errors == [
        f"Service/Role: the encryption key of the bucket of {origin} is the KMS alias "
        f"'arn:aws:kms:{REGION}:{ACCOUNT}:alias/files'. IAM evaluates kms:Decrypt against the "
        "key ARN, never the alias ARN, so a grant on an alias allows nothing. Pass the key "
        "itself, for example kms.Key.from_key_arn(scope, 'Key', 'arn:...:key/<key-id>')."
    ]
