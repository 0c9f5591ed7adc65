"""The requests ECS makes with a task's execution role at launch (``_requests``): the actions,
resources and request contexts of each need the reader finds, and how IAM's evaluation
(``_evaluate``) judges them."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._aws_repositories import FLUENT_BIT_ACCOUNTS
from ecs_exec_roles._evaluate import ANY_VALUE, Decision, Request, evaluate, is_allowed
from ecs_exec_roles._kinds import ECR_PULL_ACTIONS, ECR_TOKEN_ACTION, LOGS_WRITE_ACTIONS
from ecs_exec_roles._reader import read_containers
from ecs_exec_roles._requests import LaunchNeed, task_requests
from ecs_exec_roles._symbols import PLACEHOLDER
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"
PARAMETER_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db"
ANY_TAGS = {"aws:ResourceTag/*": ANY_VALUE}
# A pull comes through a network only deployment tells: any endpoint and VPC.
PULL_NETWORK = {"aws:SourceVpce": ANY_VALUE, "aws:SourceVpc": ANY_VALUE}
FLUENT_BIT_PARAMETER = {
    "RouterImage": {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/aws/service/aws-for-fluent-bit/latest",
    }
}


def make_template(
    resources: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    account: str | None = ACCOUNT,
    region: str | None = REGION,
    outputs: dict[str, Any] | None = None,
    mappings: dict[str, Any] | None = None,
    path: str = "/t/S.template.json",
) -> Template:
    body: dict[str, Any] = {"Resources": resources or {}}
    for section, value in (
        ("Parameters", parameters),
        ("Outputs", outputs),
        ("Mappings", mappings),
    ):
        if value:
            body[section] = value
    return Template(path, body, "S", account, region)


def needs_of(
    template: Template, *containers: dict[str, Any], assembly: Assembly | None = None
) -> list[LaunchNeed]:
    assembly = assembly or Assembly([template])
    read = read_containers(assembly, template, list(containers))
    return list(task_requests(assembly, template, read))


def actions(need: LaunchNeed) -> tuple[str, ...]:
    return tuple(request.action for request in need.requests)


def assert_uniform(need: LaunchNeed, context: dict[str, Any]) -> None:
    """Every request of ``need`` is on its resource, with ``context``."""
    assert need.requests
    for request in need.requests:
        assert request.resource == need.resource
        assert dict(request.context) == context


def secret_container(value_from: Any, name: str = "DB") -> dict[str, Any]:
    return {"name": "app", "secrets": [{"name": name, "valueFrom": value_from}]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# -- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "arn"),
    [
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1",
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/api:1",
            "arn:aws-cn:ecr:cn-north-1:210987654321:repository/api",
        ),
        (
            "123456789012.dkr-ecr-fips.us-east-1.on.aws/api:1",
            "arn:aws:ecr:us-east-1:123456789012:repository/api",
        ),
    ],
)
def test_an_ecr_image_needs_a_token_and_pulls(uri: str, arn: str) -> None:
    token, pull = needs_of(make_template(), {"name": "app", "image": uri})
    for need in (token, pull):
        assert (need.container, need.what, need.prop) == ("app", f"its image {uri}", "repositories")
        assert (need.log_group, need.stream_prefix) == ("", "")
    assert token.requests == (Request(ECR_TOKEN_ACTION, "*", {}),)
    assert token.resource == "*"
    assert pull.resource == arn
    assert pull.requests == tuple(Request(action, arn, PULL_NETWORK) for action in ECR_PULL_ACTIONS)


def test_an_ecr_image_of_pseudo_parameters_shows_them_by_name() -> None:
    template = make_template(account=None, region=None)
    assembly = Assembly([template])
    image = {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/api:v1"}
    _, pull = needs_of(template, {"name": "app", "image": image}, assembly=assembly)
    assert pull.what == "its image <AWS::AccountId>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>/api:v1"
    partition, region, account = (
        assembly.pseudo(template, name)
        for name in ("AWS::Partition", "AWS::Region", "AWS::AccountId")
    )
    assert pull.resource == f"arn:{partition}:ecr:{region}:{account}:repository/api"
    assert actions(pull) == ECR_PULL_ACTIONS


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("us-east-1", "aws"),
        ("ap-east-1", "aws"),
        ("me-south-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
    ],
)
def test_fluent_bit_image_pulls_from_the_repository_of_the_region(
    region: str, partition: str
) -> None:
    template = make_template(parameters=FLUENT_BIT_PARAMETER, region=region)
    container = {"name": "log_router", "image": {"Ref": "RouterImage"}}
    token, pull = needs_of(template, container)
    account = FLUENT_BIT_ACCOUNTS[region]
    arn = f"arn:{partition}:ecr:{region}:{account}:repository/aws-for-fluent-bit"
    assert (token.prop, pull.prop) == ("firelens_default_router", "firelens_default_router")
    assert token.requests == (Request(ECR_TOKEN_ACTION, "*", {}),)
    assert pull.resource == arn
    assert pull.requests == tuple(Request(action, arn, PULL_NETWORK) for action in ECR_PULL_ACTIONS)
    assert pull.what == "its image <RouterImage>"


def test_fluent_bit_image_of_an_agnostic_template_pulls_from_the_regions_entry() -> None:
    mappings = {
        "FluentBit": {
            region: {"account": account} for region, account in FLUENT_BIT_ACCOUNTS.items()
        }
    }
    template = make_template(
        parameters=FLUENT_BIT_PARAMETER, account=None, region=None, mappings=mappings
    )
    assembly = Assembly([template])
    container = {"name": "log_router", "image": {"Ref": "RouterImage"}}
    _, pull = needs_of(template, container, assembly=assembly)
    account = assembly.region_mapping(template, FLUENT_BIT_ACCOUNTS)
    assert PLACEHOLDER.fullmatch(account)
    # The same unknown as the template's own lookup of the accounts by its region.
    lookup = {"Fn::FindInMap": ["FluentBit", {"Ref": "AWS::Region"}, "account"]}
    assert assembly.text(template, lookup) == account
    partition = assembly.pseudo(template, "AWS::Partition")
    region = assembly.pseudo(template, "AWS::Region")
    assert pull.resource == f"arn:{partition}:ecr:{region}:{account}:repository/aws-for-fluent-bit"


def test_fluent_bit_image_by_parameter_id_alone() -> None:
    parameter = "SsmParameterValueawsserviceawsforfluentbitlatestC96584B6F00A464EAD1953AFF4B05118P"
    _, pull = needs_of(make_template(), {"name": "router", "image": {"Ref": parameter}})
    assert pull.resource == ("arn:aws:ecr:eu-west-1:906394416424:repository/aws-for-fluent-bit")


@pytest.mark.parametrize(
    "image",
    ["nginx:1", "public.ecr.aws/x/y:1", {"Ref": "ImageUri"}],
)
def test_images_of_other_or_unknown_registries_need_nothing(image: Any) -> None:
    template = make_template(parameters={"ImageUri": {"Type": "String"}})
    assert needs_of(template, {"name": "app", "image": image}) == []


# -- logs ---------------------------------------------------------------------------------------


def logs_container(options: dict[str, Any]) -> dict[str, Any]:
    return {"name": "api", "logConfiguration": {"logDriver": "awslogs", "options": options}}


@pytest.mark.parametrize(
    ("options", "group", "stream"),
    [
        (
            {"awslogs-group": "app", "awslogs-stream-prefix": "web"},
            "arn:aws:logs:eu-west-1:123456789012:log-group:app",
            "web/api/*",
        ),
        (
            {"awslogs-group": "/ecs/app"},
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app",
            "*",
        ),
        (
            {"awslogs-group": "app", "awslogs-region": "us-east-2", "awslogs-stream-prefix": "p"},
            "arn:aws:logs:us-east-2:123456789012:log-group:app",
            "p/api/*",
        ),
        (
            {"awslogs-group": "app", "awslogs-region": "cn-north-1"},
            "arn:aws-cn:logs:cn-north-1:123456789012:log-group:app",
            "*",
        ),
        (
            {"awslogs-group": "app", "awslogs-region": "us-gov-east-1"},
            "arn:aws-us-gov:logs:us-gov-east-1:123456789012:log-group:app",
            "*",
        ),
    ],
)
def test_awslogs_writes_streams_of_its_group(
    options: dict[str, Any], group: str, stream: str
) -> None:
    (need,) = needs_of(make_template(), logs_container(options))
    resource = f"{group}:log-stream:{stream}"
    assert (need.container, need.what, need.prop) == ("api", "awslogs", "log_groups")
    assert need.resource == resource
    assert need.log_group == group
    assert need.stream_prefix == options.get("awslogs-stream-prefix", "")
    assert need.requests == tuple(Request(action, resource, {}) for action in LOGS_WRITE_ACTIONS)
    assert actions(need) == ("logs:CreateLogStream", "logs:PutLogEvents")


@pytest.mark.parametrize(
    ("create", "expected"), [("true", True), ("True", True), ("false", False), (None, False)]
)
def test_awslogs_create_group(create: str | None, expected: bool) -> None:
    options = {"awslogs-group": "app", "awslogs-region": "cn-northwest-1"}
    if create is not None:
        options["awslogs-create-group"] = create
    needs = needs_of(make_template(), logs_container(options))
    group = "arn:aws-cn:logs:cn-northwest-1:123456789012:log-group:app"
    assert needs[0].log_group == group
    if not expected:
        assert len(needs) == 1
        return
    _, creation = needs
    assert (creation.what, creation.prop) == ("awslogs-create-group", "log_groups_to_create")
    assert creation.resource == group
    assert creation.requests == (Request("logs:CreateLogGroup", group, {}),)
    assert (creation.log_group, creation.stream_prefix) == ("", "")


def test_awslogs_of_an_agnostic_template() -> None:
    template = make_template({"Logs": {"Type": "AWS::Logs::LogGroup"}}, account=None, region=None)
    assembly = Assembly([template])
    container = logs_container({"awslogs-group": {"Ref": "Logs"}, "awslogs-stream-prefix": "w"})
    (need,) = needs_of(template, container, assembly=assembly)
    partition, region, account, name = (
        assembly.text(template, {"Ref": ref})
        for ref in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "Logs")
    )
    group = f"arn:{partition}:logs:{region}:{account}:log-group:{name}"
    assert need.log_group == group
    assert need.resource == f"{group}:log-stream:w/api/*"
    # The group's ARN as aws-cdk-lib writes it (Fn::GetAtt Arn) covers the streams.
    assert assembly.text(template, {"Fn::GetAtt": ["Logs", "Arn"]}) == f"{group}:*"


@pytest.mark.parametrize(
    ("pattern", "prefix", "expected"),
    [
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/*", "web", True),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/*", "other", False),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/*", None, False),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/api/*", "web", True),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/x/*", "web", False),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:*", "web", True),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app:*", None, True),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:other:*", "web", False),
    ],
)
def test_a_stream_prefix_policy_allows_only_its_prefix(
    pattern: str, prefix: str | None, expected: bool
) -> None:
    options = {"awslogs-group": "app"}
    if prefix is not None:
        options["awslogs-stream-prefix"] = prefix
    (need,) = needs_of(make_template(), logs_container(options))
    policies = [policy(allow(list(LOGS_WRITE_ACTIONS), pattern))]
    assert all(
        (evaluate(policies, request) is Decision.ALLOW) is expected for request in need.requests
    )


# -- secrets and parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_from", "resource", "action", "prop"),
    [
        (SECRET_ARN, SECRET_ARN, "secretsmanager:GetSecretValue", "secrets"),
        (f"{SECRET_ARN}:password::", SECRET_ARN, "secretsmanager:GetSecretValue", "secrets"),
        (PARTIAL_ARN, f"{PARTIAL_ARN}-??????", "secretsmanager:GetSecretValue", "secrets"),
        (
            f"{PARTIAL_ARN}:key::",
            f"{PARTIAL_ARN}-??????",
            "secretsmanager:GetSecretValue",
            "secrets",
        ),
        (PARAMETER_ARN, PARAMETER_ARN, "ssm:GetParameters", "parameters"),
        ("/app/db", PARAMETER_ARN, "ssm:GetParameters", "parameters"),
        ("app/db", PARAMETER_ARN, "ssm:GetParameters", "parameters"),
    ],
)
def test_secrets_of_other_apps(value_from: str, resource: str, action: str, prop: str) -> None:
    (need,) = needs_of(make_template(), secret_container(value_from))
    assert (need.container, need.what, need.prop) == ("app", "its secret DB", prop)
    assert need.resource == resource
    assert need.requests == (Request(action, resource, ANY_TAGS),)


@pytest.mark.parametrize(
    ("container", "what", "prop"),
    [
        (
            {
                "logConfiguration": {
                    "logDriver": "splunk",
                    "secretOptions": [{"name": "splunk-token", "valueFrom": SECRET_ARN}],
                }
            },
            "its log driver secret option splunk-token",
            "secrets",
        ),
        (
            {"repositoryCredentials": {"credentialsParameter": SECRET_ARN}},
            "its registry credentials",
            "registry_credentials",
        ),
    ],
)
def test_secret_options_and_registry_credentials(
    container: dict[str, Any], what: str, prop: str
) -> None:
    (need,) = needs_of(make_template(), {"name": "app", **container})
    assert (need.what, need.prop, need.resource) == (what, prop, SECRET_ARN)
    assert actions(need) == ("secretsmanager:GetSecretValue",)


def test_registry_credentials_in_a_parameter_are_a_parameter() -> None:
    container = {"name": "app", "repositoryCredentials": {"credentialsParameter": "/docker/hub"}}
    (need,) = needs_of(make_template(), container)
    assert need.prop == "parameters"
    assert need.resource == "arn:aws:ssm:eu-west-1:123456789012:parameter/docker/hub"
    assert actions(need) == ("ssm:GetParameters",)


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (f"{PARTIAL_ARN}-??????", True),
        (f"{PARTIAL_ARN}-*", True),
        (f"{PARTIAL_ARN}*", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:*", True),
        (f"{PARTIAL_ARN}-AbCdEf", False),
        (PARTIAL_ARN, False),
        (f"{PARTIAL_ARN}-?????", False),
    ],
)
def test_a_partial_secret_is_allowed_only_for_any_suffix(allowed: str, expected: bool) -> None:
    (need,) = needs_of(make_template(), secret_container(PARTIAL_ARN))
    (request,) = need.requests
    policies = [policy(allow("secretsmanager:GetSecretValue", allowed))]
    assert is_allowed(policies, request.action, request.resource, request.context) is expected


@pytest.mark.parametrize(
    ("key", "key_arn"),
    [
        ({"Ref": "Key"}, "key of the template"),
        ({"Fn::GetAtt": ["Key", "Arn"]}, "key of the template"),
        (
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    ],
)
def test_the_key_of_a_secret_of_the_template(key: Any, key_arn: str) -> None:
    template = make_template(
        {
            "Key": {"Type": "AWS::KMS::Key"},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"KmsKeyId": key}},
        }
    )
    assembly = Assembly([template])
    read, decrypt = needs_of(template, secret_container({"Ref": "Secret"}), assembly=assembly)
    assert read.resource == assembly.text(template, {"Ref": "Secret"})
    assert read.requests == (Request("secretsmanager:GetSecretValue", read.resource, {}),)
    if key_arn == "key of the template":
        key_arn = assembly.text(template, {"Fn::GetAtt": ["Key", "Arn"]}) or ""
        assert key_arn.startswith("arn:aws:kms:eu-west-1:123456789012:key/")
        tags: dict[str, Any] = {}
    else:
        tags = ANY_TAGS
    region = key_arn.split(":")[3]
    assert (decrypt.what, decrypt.prop, decrypt.resource) == (
        "the key of its secret DB",
        "keys",
        key_arn,
    )
    assert decrypt.requests == (
        Request(
            "kms:Decrypt",
            key_arn,
            {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", **tags},
        ),
    )


@pytest.mark.parametrize(
    "key", [None, "alias/aws/secretsmanager", "arn:aws:kms:eu-west-1:123456789012:alias/app"]
)
def test_a_secret_without_a_customer_managed_key_needs_no_decrypt(key: Any) -> None:
    properties = {} if key is None else {"KmsKeyId": key}
    template = make_template(
        {"Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": properties}}
    )
    needs = needs_of(template, secret_container({"Ref": "Secret"}))
    assert [actions(need) for need in needs] == [("secretsmanager:GetSecretValue",)]


def test_the_key_of_a_secret_in_china_is_used_via_the_china_endpoint() -> None:
    template = make_template(
        {
            "Key": {"Type": "AWS::KMS::Key"},
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"KmsKeyId": {"Ref": "Key"}},
            },
        },
        region="cn-north-1",
    )
    _, decrypt = needs_of(template, secret_container({"Ref": "Secret"}))
    assert decrypt.resource.startswith("arn:aws-cn:kms:cn-north-1:123456789012:key/")
    (request,) = decrypt.requests
    assert request.context == {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}


def test_the_key_of_a_secret_exported_by_another_template() -> None:
    producer = make_template(
        {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "k", "Value": "v"}]}},
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "KmsKeyId": {"Ref": "Key"},
                    "Tags": [{"Key": "team", "Value": "api"}],
                },
            },
        },
        outputs={"Arn": {"Value": {"Ref": "Secret"}, "Export": {"Name": "db-secret"}}},
        region="us-east-1",
        path="/t/Producer.template.json",
    )
    consumer = make_template(path="/t/Consumer.template.json")
    assembly = Assembly([producer, consumer])
    container = secret_container({"Fn::ImportValue": "db-secret"})
    read, decrypt = needs_of(consumer, container, assembly=assembly)
    assert read.resource == assembly.text(producer, {"Ref": "Secret"})
    assert_uniform(read, {"aws:ResourceTag/team": "api"})
    assert decrypt.resource == assembly.text(producer, {"Fn::GetAtt": ["Key", "Arn"]})
    assert decrypt.resource.startswith("arn:aws:kms:us-east-1:")
    assert_uniform(
        decrypt,
        {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "aws:ResourceTag/k": "v"},
    )


# -- tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "context"),
    [
        (
            [{"Key": "team", "Value": "api"}, {"Key": "env", "Value": "prod"}],
            {"aws:ResourceTag/team": "api", "aws:ResourceTag/env": "prod"},
        ),
        (None, {}),
        ([], {}),
        ([{"Key": "team"}, "x", {"Key": "env", "Value": "prod"}], {"aws:ResourceTag/env": "prod"}),
    ],
)
def test_a_secret_of_the_template_carries_its_tags(tags: Any, context: dict[str, Any]) -> None:
    properties = {} if tags is None else {"Tags": tags}
    template = make_template(
        {"Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": properties}}
    )
    (need,) = needs_of(template, secret_container({"Ref": "Secret"}))
    assert_uniform(need, context)


def test_a_tag_value_of_a_parameter_of_the_stack_is_an_unknown() -> None:
    template = make_template(
        {
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Tags": [{"Key": "team", "Value": {"Ref": "Team"}}]},
            }
        },
        {"Team": {"Type": "String"}},
    )
    assembly = Assembly([template])
    (need,) = needs_of(template, secret_container({"Ref": "Secret"}), assembly=assembly)
    assert_uniform(need, {"aws:ResourceTag/team": assembly.text(template, {"Ref": "Team"})})


@pytest.mark.parametrize(
    ("properties", "value_from"),
    [
        ({"Name": "/app/db", "Tags": {"team": "db"}}, "/app/db"),
        ({"Name": "/app/db", "Tags": {"team": "db"}}, "app/db"),
        ({"Name": "/app/db", "Tags": {"team": "db"}}, PARAMETER_ARN),
        ({"Name": "app/db", "Tags": {"team": "db"}}, "/app/db"),
        ({"Tags": {"team": "db"}}, {"Ref": "Param"}),
    ],
)
def test_a_parameter_of_the_template_carries_its_tags(
    properties: dict[str, Any], value_from: Any
) -> None:
    template = make_template({"Param": {"Type": "AWS::SSM::Parameter", "Properties": properties}})
    assembly = Assembly([template])
    (need,) = needs_of(template, secret_container(value_from), assembly=assembly)
    name = (assembly.text(template, {"Ref": "Param"}) or "").removeprefix("/")
    assert need.resource == f"arn:aws:ssm:eu-west-1:123456789012:parameter/{name}"
    assert need.prop == "parameters"
    assert need.requests == (
        Request("ssm:GetParameters", need.resource, {"aws:ResourceTag/team": "db"}),
    )


@pytest.mark.parametrize(
    "value_from",
    [
        "arn:aws:ssm:ap-south-1:999999999999:parameter/app/db",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db",
        "/app/db",
    ],
    ids=["other-region-and-account", "other-region", "name-in-the-tasks-region"],
)
def test_a_parameter_of_that_name_in_another_region_lends_no_tags(value_from: str) -> None:
    # The parameter of the app is in us-east-1; the task (eu-west-1) names another.
    other = make_template(
        {
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/app/db", "Tags": {"team": "db"}},
            }
        },
        region="us-east-1",
        path="/t/O.template.json",
    )
    template = make_template()
    assembly = Assembly([other, template])
    (need,) = needs_of(template, secret_container(value_from), assembly=assembly)
    assert need.requests[0].context == ANY_TAGS


def test_tag_conditions_judge_secrets_by_their_tags() -> None:
    template = make_template(
        {
            "Tagged": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Tags": [{"Key": "team", "Value": "api"}]},
            },
            "Other": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Tags": [{"Key": "team", "Value": "web"}]},
            },
        }
    )
    container = {
        "name": "app",
        "secrets": [
            {"name": "A", "valueFrom": {"Ref": "Tagged"}},
            {"name": "B", "valueFrom": {"Ref": "Other"}},
            {"name": "C", "valueFrom": SECRET_ARN},
        ],
    }
    needs = needs_of(template, container)
    policies = [
        policy(
            allow(
                "secretsmanager:GetSecretValue",
                "*",
                Condition={"StringEquals": {"aws:ResourceTag/team": "api"}},
            )
        )
    ]
    decisions = {need.what: evaluate(policies, need.requests[0]) for need in needs}
    assert decisions == {
        "its secret A": Decision.ALLOW,
        "its secret B": Decision.IMPLICIT_DENY,
        # The tags of a secret outside the app are unknown: any value.
        "its secret C": Decision.ALLOW,
    }


# -- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "what", "prop"),
    [
        (
            {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::configs/app.env"}]},
            "its environment file",
            "environment_files",
        ),
        (
            {
                "firelensConfiguration": {
                    "type": "fluentbit",
                    "options": {
                        "config-file-type": "s3",
                        "config-file-value": "arn:aws:s3:::configs/app.env",
                    },
                }
            },
            "its FireLens config file",
            "firelens_config_files",
        ),
        (
            {"credentialSpecs": ["credentialspec:arn:aws:s3:::configs/app.env"]},
            "its credential spec",
            "credential_specs",
        ),
    ],
)
def test_files_in_s3_need_the_object_and_the_buckets_location(
    container: dict[str, Any], what: str, prop: str
) -> None:
    get, location = needs_of(make_template(), {"name": "app", **container})
    assert (get.what, get.prop, location.what, location.prop) == (what, prop, what, prop)
    # A bucket imported into the app: its owner is not in the templates, any owner holds.
    any_owner = {"aws:ResourceAccount": ANY_VALUE}
    assert get.requests == (Request("s3:GetObject", "arn:aws:s3:::configs/app.env", any_owner),)
    assert location.requests == (
        Request("s3:GetBucketLocation", "arn:aws:s3:::configs", any_owner),
    )


def test_a_credential_spec_in_ssm_is_a_parameter() -> None:
    spec = "credentialspecdomainless:arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa"
    (need,) = needs_of(make_template(), {"name": "app", "credentialSpecs": [spec]})
    arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa"
    assert (need.what, need.prop, need.resource) == ("its credential spec", "credential_specs", arn)
    assert need.requests == (Request("ssm:GetParameters", arn, ANY_TAGS),)


def test_a_credential_spec_in_a_parameter_of_the_template_carries_its_tags() -> None:
    template = make_template(
        {
            "Spec": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/gmsa/spec", "Tags": {"team": "ad"}},
            }
        }
    )
    spec = "credentialspec:arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/spec"
    (need,) = needs_of(template, {"name": "app", "credentialSpecs": [spec]})
    assert_uniform(need, {"aws:ResourceTag/team": "ad"})


def encrypted_bucket(algorithm: str, key: Any = None) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if key is not None:
        default["KMSMasterKeyID"] = key
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": default}]
            }
        },
    }


@pytest.mark.parametrize("key", [{"Fn::GetAtt": ["Key", "Arn"]}, {"Ref": "Key"}])
@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_a_file_of_a_bucket_encrypted_with_a_key_of_the_template(key: Any, algorithm: str) -> None:
    template = make_template(
        {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "k", "Value": "v"}]}},
            "Bucket": encrypted_bucket(algorithm, key),
        }
    )
    assembly = Assembly([template])
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/app.env"]]}
    container = {"name": "app", "environmentFiles": [{"type": "s3", "value": value}]}
    get, location, decrypt = needs_of(template, container, assembly=assembly)
    bucket = assembly.text(template, {"Fn::GetAtt": ["Bucket", "Arn"]})
    assert get.resource == f"{bucket}/app.env"
    assert location.resource == bucket
    key_arn = assembly.text(template, {"Fn::GetAtt": ["Key", "Arn"]})
    assert (decrypt.what, decrypt.prop, decrypt.resource) == (
        "the key of the bucket of its environment file",
        "keys",
        key_arn,
    )
    assert_uniform(
        decrypt, {"kms:ViaService": "s3.eu-west-1.amazonaws.com", "aws:ResourceTag/k": "v"}
    )


def test_a_file_of_a_named_bucket_encrypted_with_a_key_of_another_region() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    bucket = encrypted_bucket("aws:kms", key)
    bucket["Properties"]["BucketName"] = "configs"
    template = make_template({"Bucket": bucket})
    container = {
        "name": "app",
        "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::configs/app.env"}],
    }
    *_, decrypt = needs_of(template, container)
    assert decrypt.resource == key
    assert_uniform(decrypt, {"kms:ViaService": "s3.us-east-1.amazonaws.com", **ANY_TAGS})


@pytest.mark.parametrize(
    "bucket",
    [
        {"Type": "AWS::S3::Bucket"},
        encrypted_bucket("AES256"),
        encrypted_bucket("aws:kms"),
        encrypted_bucket("aws:kms", "alias/aws/s3"),
    ],
)
def test_a_file_of_a_bucket_without_a_customer_managed_key_needs_no_decrypt(
    bucket: dict[str, Any],
) -> None:
    template = make_template({"Bucket": bucket})
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/app.env"]]}
    container = {"name": "app", "environmentFiles": [{"type": "s3", "value": value}]}
    needs = needs_of(template, container)
    assert [actions(need) for need in needs] == [("s3:GetObject",), ("s3:GetBucketLocation",)]
    # A bucket of the app is owned by the account of its stack.
    account = Assembly([template]).pseudo(template, "AWS::AccountId")
    assert {
        request.context["aws:ResourceAccount"] for need in needs for request in need.requests
    } == {account}


# -- several needs ------------------------------------------------------------------------------


def test_needs_come_in_the_order_images_logs_secrets_files() -> None:
    containers: list[dict[str, Any]] = [
        {
            "name": "app",
            "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::configs/app.env"}],
            "secrets": [{"name": "DB", "valueFrom": SECRET_ARN}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "app"}},
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1",
        },
        {"name": "sidecar", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/side:v1"},
    ]
    needs = needs_of(make_template(), *containers)
    assert [(need.container, need.prop) for need in needs] == [
        ("app", "repositories"),
        ("app", "repositories"),
        ("sidecar", "repositories"),
        ("sidecar", "repositories"),
        ("app", "log_groups"),
        ("app", "secrets"),
        ("app", "environment_files"),
        ("app", "environment_files"),
    ]


def test_a_role_allowing_every_request_allows_the_task() -> None:
    template = make_template()
    container = {
        "name": "api",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "app", "awslogs-stream-prefix": "web"},
        },
        "secrets": [{"name": "DB", "valueFrom": PARTIAL_ARN}],
    }
    needs = needs_of(template, container)
    role = [
        policy(
            allow(ECR_TOKEN_ACTION, "*"),
            allow(list(ECR_PULL_ACTIONS), "arn:aws:ecr:eu-west-1:123456789012:repository/team/api"),
            allow(
                list(LOGS_WRITE_ACTIONS),
                "arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:web/*",
            ),
            allow("secretsmanager:GetSecretValue", f"{PARTIAL_ARN}-??????"),
        )
    ]
    requests = [request for need in needs for request in need.requests]
    assert len(requests) == 1 + len(ECR_PULL_ACTIONS) + len(LOGS_WRITE_ACTIONS) + 1
    assert all(evaluate(role, request) is Decision.ALLOW for request in requests)
    narrower = [policy(*role[0]["Statement"][:3])]
    assert [evaluate(narrower, request) for request in requests][-1] is Decision.IMPLICIT_DENY


def test_a_secret_of_another_accounts_stack_without_a_key_needs_an_impossible_decrypt() -> None:
    data = Template(
        "/t/Data.template.json",
        {"Resources": {"Db": {"Type": "AWS::SecretsManager::Secret", "Properties": {}}}},
        "Data",
        "210987654321",
        REGION,
    )
    service = make_template()
    assembly = Assembly([data, service])
    arn = assembly.text(data, {"Ref": "Db"})
    needs = needs_of(service, secret_container(arn), assembly=assembly)
    read, decrypt = needs
    assert actions(read) == ("secretsmanager:GetSecretValue",)
    assert decrypt.resource == "arn:aws:kms:eu-west-1:210987654321:alias/aws/secretsmanager"
    assert actions(decrypt) == ("kms:Decrypt",)
    assert "the AWS managed key of its secret" in decrypt.what
    assert "customer managed key" in decrypt.fix
    # The same account: the AWS managed key serves the role.
    local = Template(data.path, data.body, "Data", ACCOUNT, REGION)
    assembly = Assembly([local, service])
    arn = assembly.text(local, {"Ref": "Db"})
    assert len(needs_of(service, secret_container(arn), assembly=assembly)) == 1
