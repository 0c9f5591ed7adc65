"""Reading container definitions into what a task needs at launch (``_reader``): images and
their registries, ``awslogs``, secrets and parameters, files in S3 and credential specs, in
both the ECS API and the CloudFormation spelling of property names."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._reader import (
    AwsLogs,
    File,
    ImageSource,
    Registry,
    SecretRef,
    SecretSource,
    TaskRead,
    Unreadable,
    read_containers,
)
from ecs_exec_roles._symbols import PLACEHOLDER
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DIGEST = "sha256:" + "0123456789abcdef" * 4
FLUENT_BIT_PARAMETER = (
    "SsmParameterValueawsserviceawsforfluentbitlatestC96584B6F00A464EAD1953AFF4B05118Parameter"
)


def make_template(
    resources: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    account: str | None = ACCOUNT,
    region: str | None = REGION,
    outputs: dict[str, Any] | None = None,
    path: str = "/t/S.template.json",
) -> Template:
    body: dict[str, Any] = {"Resources": resources or {}}
    if parameters:
        body["Parameters"] = parameters
    if outputs:
        body["Outputs"] = outputs
    return Template(path, body, "S", account, region)


def agnostic(
    resources: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None
) -> Template:
    return make_template(resources, parameters, account=None, region=None)


def read(template: Template, *containers: Any, assembly: Assembly | None = None) -> TaskRead:
    return read_containers(assembly or Assembly([template]), template, list(containers))


def pseudos(assembly: Assembly, template: Template) -> tuple[str, str, str]:
    """The template's partition, region and account, as text."""
    return (
        assembly.pseudo(template, "AWS::Partition"),
        assembly.pseudo(template, "AWS::Region"),
        assembly.pseudo(template, "AWS::AccountId"),
    )


def string_parameter(**extra: Any) -> dict[str, Any]:
    return {"Type": "String", **extra}


def ssm_image_parameter(default: str) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter::Value<String>", "Default": default}


# -- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "arn"),
    [
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1",
            "arn:aws:ecr:eu-west-1:123456789012:repository/api",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api",
            "arn:aws:ecr:eu-west-1:123456789012:repository/api",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1",
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/org/team/my_api.web-1:2024.01_rc-1",
            "arn:aws:ecr:eu-west-1:123456789012:repository/org/team/my_api.web-1",
        ),
        (
            f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST}",
            "arn:aws:ecr:eu-west-1:123456789012:repository/api",
        ),
        (
            f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1.2@{DIGEST}",
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
        ),
        (
            "210987654321.dkr.ecr.us-west-2.amazonaws.com/api:1",
            "arn:aws:ecr:us-west-2:210987654321:repository/api",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api:1",
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/api",
        ),
        (
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/api:1",
            "arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/api",
        ),
        (
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/api:1",
            "arn:aws:ecr:us-east-1:123456789012:repository/api",
        ),
        (
            "123456789012.dkr-ecr.eu-west-1.on.aws/team/api:v1",
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
        ),
        (
            f"123456789012.dkr-ecr-fips.us-east-2.on.aws/api:v1@{DIGEST}",
            "arn:aws:ecr:us-east-2:123456789012:repository/api",
        ),
    ],
)
@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
def test_ecr_uri_forms_give_the_repository_arn(uri: str, arn: str, environment: str) -> None:
    template = make_template() if environment == "concrete" else agnostic()
    result = read(template, {"name": "app", "image": uri})
    (image,) = result.images
    assert image.container == "app"
    assert image.text == uri
    assert image.value == uri
    assert image.source == ImageSource(Registry.ECR, arn)
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (
            {
                "Fn::Join": [
                    "",
                    [
                        {"Ref": "AWS::AccountId"},
                        ".dkr.ecr.",
                        {"Ref": "AWS::Region"},
                        ".",
                        {"Ref": "AWS::URLSuffix"},
                        "/team/api:v1",
                    ],
                ]
            },
            "team/api",
        ),
        (
            {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/api:v1"},
            "api",
        ),
        (
            {
                "Fn::Join": [
                    "",
                    [
                        {"Ref": "AWS::AccountId"},
                        ".dkr.ecr.",
                        {"Ref": "AWS::Region"},
                        ".",
                        {"Ref": "AWS::URLSuffix"},
                        f"/team/api@{DIGEST}",
                    ],
                ]
            },
            "team/api",
        ),
        (
            {"Fn::Sub": "${AWS::AccountId}.dkr-ecr.${AWS::Region}.on.aws/team/api:v1"},
            "team/api",
        ),
    ],
)
def test_uri_of_pseudo_parameters_gives_an_arn_with_unknowns(value: Any, name: str) -> None:
    template = agnostic()
    assembly = Assembly([template])
    (image,) = read(template, {"name": "app", "image": value}, assembly=assembly).images
    partition, region, account = pseudos(assembly, template)
    assert all(PLACEHOLDER.fullmatch(p) for p in (partition, region, account))
    assert image.source == ImageSource(
        Registry.ECR, f"arn:{partition}:ecr:{region}:{account}:repository/{name}"
    )
    assert image.value is value


@pytest.mark.parametrize(
    ("region", "arn"),
    [
        ("eu-west-1", "arn:aws:ecr:eu-west-1:123456789012:repository/team/api"),
        ("cn-northwest-1", "arn:aws-cn:ecr:cn-northwest-1:123456789012:repository/team/api"),
    ],
)
def test_uri_of_pseudo_parameters_in_a_concrete_environment(region: str, arn: str) -> None:
    template = make_template(region=region)
    value = {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/team/api:v1"}
    (image,) = read(template, {"name": "app", "image": value}).images
    assert image.source == ImageSource(Registry.ECR, arn)
    assert not PLACEHOLDER.search(image.text)


def repository_uri(suffix: str) -> dict[str, Any]:
    """The URI aws-cdk-lib's ``repository_uri_for_tag`` (or ``_for_digest``) writes."""
    arn = {"Fn::GetAtt": ["Repo", "Arn"]}
    return {
        "Fn::Join": [
            "",
            [
                {"Fn::Select": [4, {"Fn::Split": [":", arn]}]},
                ".dkr.ecr.",
                {"Fn::Select": [3, {"Fn::Split": [":", arn]}]},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/",
                {"Ref": "Repo"},
                suffix,
            ],
        ]
    }


@pytest.mark.parametrize("suffix", [":v1", f"@{DIGEST}"])
@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
def test_uri_of_a_repository_of_the_template_gives_its_arn(suffix: str, environment: str) -> None:
    resources = {"Repo": {"Type": "AWS::ECR::Repository"}}
    template = make_template(resources) if environment == "concrete" else agnostic(resources)
    assembly = Assembly([template])
    result = read(template, {"name": "app", "image": repository_uri(suffix)}, assembly=assembly)
    (image,) = result.images
    expected = assembly.text(template, {"Fn::GetAtt": ["Repo", "Arn"]})
    name = assembly.text(template, {"Ref": "Repo"})
    partition, region, account = pseudos(assembly, template)
    assert expected == f"arn:{partition}:ecr:{region}:{account}:repository/{name}"
    assert image.source == ImageSource(Registry.ECR, expected, from_arn=False)
    assert result.unreadable == []


def test_uri_of_a_named_repository_of_the_template_is_literal() -> None:
    template = make_template(
        {"Repo": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "team/api"}}}
    )
    (image,) = read(template, {"name": "app", "image": repository_uri(":v1")}).images
    assert image.text == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v1"
    assert image.source == ImageSource(
        Registry.ECR, "arn:aws:ecr:eu-west-1:123456789012:repository/team/api"
    )


@pytest.mark.parametrize("suffix", [":v1", f"@{DIGEST}"])
@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
def test_uri_of_a_repository_outside_the_template_is_read_from_its_arn(
    suffix: str, environment: str
) -> None:
    template = make_template() if environment == "concrete" else agnostic()
    assembly = Assembly([template])
    result = read(template, {"name": "app", "image": repository_uri(suffix)}, assembly=assembly)
    (image,) = result.images
    arn = assembly.text(template, {"Fn::GetAtt": ["Repo", "Arn"]})
    assert arn is not None
    unknown = assembly.symbols.unknown(arn)
    assert unknown is not None and unknown.expression == {"Fn::GetAtt": ["Repo", "Arn"]}
    assert image.source == ImageSource(Registry.ECR, arn, from_arn=True)
    assert result.unreadable == []


@pytest.mark.parametrize(
    "uri",
    [
        "nginx:1",
        "nginx",
        f"nginx@{DIGEST}",
        "library/nginx:1.25",
        "public.ecr.aws/x/y:1",
        "ghcr.io/org/app:1",
        "localhost:5000/app",
        "123456789012.dkr.ecr.eu-west-1.example.com/app:1",
    ],
)
def test_other_registries(uri: str) -> None:
    result = read(make_template(), {"name": "app", "image": uri})
    (image,) = result.images
    assert image.source == ImageSource(Registry.OTHER)
    assert image.text == uri
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("value", "parameters", "shown"),
    [
        ({"Ref": "ImageUri"}, {"ImageUri": string_parameter()}, "<ImageUri>"),
        (
            {"Fn::Join": ["", [{"Ref": "Registry"}, "/team/api:v1"]]},
            {"Registry": string_parameter()},
            "<Registry>/team/api:v1",
        ),
        (
            {"Fn::Sub": "${Host}/team/api:v1"},
            {"Host": string_parameter(Default="123456789012.dkr.ecr.eu-west-1.amazonaws.com")},
            "<Host>/team/api:v1",
        ),
        (
            {"Ref": "AppImage"},
            {"AppImage": ssm_image_parameter("/my/app/image")},
            "<AppImage>",
        ),
        (
            {"Ref": "SsmParameterValuemyappimageParameter"},
            {},
            "<SsmParameterValuemyappimageParameter>",
        ),
    ],
)
def test_fails_when_the_image_is_unknown(
    value: Any, parameters: dict[str, Any], shown: str
) -> None:
    result = read(make_template(parameters=parameters), {"name": "app", "image": value})
    (image,) = result.images
    assert image.source == ImageSource(Registry.UNKNOWN)
    assert image.value is value
    assert result.unreadable == [Unreadable("app", "image", shown)]


def test_fails_when_the_image_is_not_text() -> None:
    value = {"Fn::Split": [",", "a,b"]}
    result = read(make_template(), {"name": "app", "image": value})
    (image,) = result.images
    assert image.source == ImageSource(Registry.UNKNOWN)
    assert image.text == '{"Fn::Split":[",","a,b"]}'
    assert result.unreadable == [Unreadable("app", "image", image.text)]


def test_a_container_without_an_image_has_none() -> None:
    result = read(make_template(), {"name": "app"})
    assert result.images == []
    assert result.unreadable == []


@pytest.mark.parametrize("container", ["log_router", "app", "firelens-sidecar"])
@pytest.mark.parametrize("tag", ["latest", "2.1.0", "stable"])
def test_fluent_bit_parameter_of_the_template(container: str, tag: str) -> None:
    parameters = {"RouterImage": ssm_image_parameter(f"/aws/service/aws-for-fluent-bit/{tag}")}
    result = read(
        make_template(parameters=parameters), {"name": container, "image": {"Ref": "RouterImage"}}
    )
    (image,) = result.images
    assert image.container == container
    assert image.source == ImageSource(Registry.FLUENT_BIT)
    assert result.unreadable == []


@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
def test_fluent_bit_parameter_absent_from_the_template(environment: str) -> None:
    template = make_template() if environment == "concrete" else agnostic()
    result = read(template, {"name": "log_router", "image": {"Ref": FLUENT_BIT_PARAMETER}})
    (image,) = result.images
    assert image.source == ImageSource(Registry.FLUENT_BIT)
    assert result.unreadable == []


# -- logs ---------------------------------------------------------------------------------------


def awslogs(**options: Any) -> dict[str, Any]:
    return {"logDriver": "awslogs", "options": options}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"awslogs-group": "app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"},
            ("app", "us-east-1", "web", False),
        ),
        ({"awslogs-group": "/ecs/app"}, ("/ecs/app", REGION, "", False)),
        ({"awslogs-group": "app", "awslogs-create-group": "true"}, ("app", REGION, "", True)),
        ({"awslogs-group": "app", "awslogs-create-group": "True"}, ("app", REGION, "", True)),
        ({"awslogs-group": "app", "awslogs-create-group": "false"}, ("app", REGION, "", False)),
        (
            {"awslogs-group": "app", "awslogs-region": "cn-north-1", "mode": "non-blocking"},
            ("app", "cn-north-1", "", False),
        ),
    ],
)
def test_awslogs(options: dict[str, Any], expected: tuple[str, str, str, bool]) -> None:
    result = read(make_template(), {"name": "app", "logConfiguration": awslogs(**options)})
    group, region, prefix, create = expected
    region_value = options.get("awslogs-region", {"Ref": "AWS::Region"})
    assert result.logs == [
        AwsLogs("app", group, options["awslogs-group"], region, region_value, prefix, create)
    ]
    assert result.unreadable == []


def test_awslogs_default_region_of_an_agnostic_template() -> None:
    template = agnostic()
    assembly = Assembly([template])
    config = awslogs(**{"awslogs-group": "app"})
    (logs,) = read(template, {"name": "app", "logConfiguration": config}, assembly=assembly).logs
    assert logs.region == assembly.pseudo(template, "AWS::Region")
    assert PLACEHOLDER.fullmatch(logs.region)
    assert logs.region_value == {"Ref": "AWS::Region"}


def test_awslogs_group_of_the_template() -> None:
    template = make_template(
        {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/ecs/api"}}}
    )
    config = awslogs(
        **{
            "awslogs-group": {"Ref": "Logs"},
            "awslogs-region": {"Ref": "AWS::Region"},
            "awslogs-stream-prefix": "api",
        }
    )
    (logs,) = read(template, {"name": "app", "logConfiguration": config}).logs
    assert (logs.group, logs.region, logs.prefix) == ("/ecs/api", REGION, "api")
    assert logs.group_value == {"Ref": "Logs"}


@pytest.mark.parametrize(
    "configuration",
    [
        {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch", "awslogs-group": "app"}},
        {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.example.com"}},
        {"logDriver": "json-file"},
        {"logDriver": "awslogs"},
        {"logDriver": "awslogs", "options": {"awslogs-region": "eu-west-1"}},
        {"logDriver": "awslogs", "options": {"awslogs-stream-prefix": "web"}},
    ],
)
def test_awslogs_is_read_only_from_awslogs_with_a_group(configuration: dict[str, Any]) -> None:
    result = read(make_template(), {"name": "app", "logConfiguration": configuration})
    assert result.logs == []
    assert result.unreadable == []


def test_fails_when_the_awslogs_group_is_not_text() -> None:
    options = {"awslogs-group": {"Fn::Split": [",", "a,b"]}}
    result = read(make_template(), {"name": "app", "logConfiguration": awslogs(**options)})
    assert result.logs == []
    (unreadable,) = result.unreadable
    assert (unreadable.container, unreadable.what) == ("app", "awslogs log group")
    assert "awslogs-group" in unreadable.text


# -- secrets and parameters ---------------------------------------------------------------------

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"
PARAMETER_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db"


@pytest.mark.parametrize(
    ("value_from", "source", "arn", "partial"),
    [
        (SECRET_ARN, SecretSource.SECRET, SECRET_ARN, False),
        (PARTIAL_ARN, SecretSource.SECRET, PARTIAL_ARN, True),
        (f"{SECRET_ARN}:password::", SecretSource.SECRET, SECRET_ARN, False),
        (f"{SECRET_ARN}:password:AWSPREVIOUS:", SecretSource.SECRET, SECRET_ARN, False),
        (f"{PARTIAL_ARN}:json-key::", SecretSource.SECRET, PARTIAL_ARN, True),
        (
            "arn:aws:secretsmanager:us-east-1:210987654321:secret:team/db-Xy12Z9:user::",
            SecretSource.SECRET,
            "arn:aws:secretsmanager:us-east-1:210987654321:secret:team/db-Xy12Z9",
            False,
        ),
        (PARAMETER_ARN, SecretSource.PARAMETER, PARAMETER_ARN, False),
        (
            "arn:aws:ssm:us-east-1:210987654321:parameter/shared",
            SecretSource.PARAMETER,
            "arn:aws:ssm:us-east-1:210987654321:parameter/shared",
            False,
        ),
        ("app/db", SecretSource.PARAMETER, PARAMETER_ARN, False),
        ("/app/db", SecretSource.PARAMETER, PARAMETER_ARN, False),
        ("db", SecretSource.PARAMETER, "arn:aws:ssm:eu-west-1:123456789012:parameter/db", False),
    ],
)
@pytest.mark.parametrize("purpose", ["secrets", "secretOptions", "repositoryCredentials"])
def test_secret_values(
    value_from: str, source: SecretSource, arn: str, partial: bool, purpose: str
) -> None:
    container: dict[str, Any] = {"name": "app", "image": "nginx"}
    name = "" if purpose == "repositoryCredentials" else "DB"
    if purpose == "secrets":
        container["secrets"] = [{"name": name, "valueFrom": value_from}]
    elif purpose == "secretOptions":
        container["logConfiguration"] = {
            "logDriver": "splunk",
            "options": {"splunk-url": "https://splunk.example.com"},
            "secretOptions": [{"name": name, "valueFrom": value_from}],
        }
    else:
        container["repositoryCredentials"] = {"credentialsParameter": value_from}
    result = read(make_template(), container)
    assert result.secrets == [SecretRef("app", purpose, name, source, arn, partial, value_from)]
    assert result.unreadable == []


def test_parameter_name_in_an_agnostic_template() -> None:
    template = agnostic()
    assembly = Assembly([template])
    container = {"name": "app", "secrets": [{"name": "DB", "valueFrom": "/app/db"}]}
    (secret,) = read(template, container, assembly=assembly).secrets
    partition, region, account = pseudos(assembly, template)
    assert secret.arn == f"arn:{partition}:ssm:{region}:{account}:parameter/app/db"


@pytest.mark.parametrize(
    "value_from",
    [
        {"Ref": "Secret"},
        {"Fn::Join": ["", [{"Ref": "Secret"}, ":password::"]]},
        {"Fn::Join": [":", [{"Ref": "Secret"}, "password", "AWSCURRENT", ""]]},
    ],
)
def test_secret_of_the_template(value_from: Any) -> None:
    template = make_template({"Secret": {"Type": "AWS::SecretsManager::Secret"}})
    assembly = Assembly([template])
    container = {"name": "app", "secrets": [{"name": "PASSWORD", "valueFrom": value_from}]}
    result = read(template, container, assembly=assembly)
    arn = assembly.text(template, {"Ref": "Secret"})
    assert arn is not None and PLACEHOLDER.fullmatch(arn)
    assert result.secrets == [
        SecretRef("app", "secrets", "PASSWORD", SecretSource.SECRET, arn, False, value_from)
    ]
    assert result.unreadable == []


def test_parameter_of_the_template_without_a_name() -> None:
    template = make_template({"Param": {"Type": "AWS::SSM::Parameter"}})
    assembly = Assembly([template])
    container = {"name": "app", "secrets": [{"name": "DB", "valueFrom": {"Ref": "Param"}}]}
    (secret,) = read(template, container, assembly=assembly).secrets
    name = assembly.text(template, {"Ref": "Param"})
    assert name is not None and PLACEHOLDER.fullmatch(name)
    assert secret.source is SecretSource.PARAMETER
    assert secret.arn == f"arn:aws:ssm:eu-west-1:123456789012:parameter/{name}"


def test_parameter_of_the_template_with_a_name() -> None:
    template = make_template(
        {"Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/app/db"}}}
    )
    container = {"name": "app", "secrets": [{"name": "DB", "valueFrom": {"Ref": "Param"}}]}
    (secret,) = read(template, container).secrets
    assert (secret.source, secret.arn) == (SecretSource.PARAMETER, PARAMETER_ARN)


def test_secret_exported_by_another_template() -> None:
    producer = make_template(
        {"Secret": {"Type": "AWS::SecretsManager::Secret"}},
        outputs={"SecretArn": {"Value": {"Ref": "Secret"}, "Export": {"Name": "shared-db-secret"}}},
        path="/t/Producer.template.json",
    )
    consumer = make_template(path="/t/Consumer.template.json")
    assembly = Assembly([producer, consumer])
    value_from = {"Fn::ImportValue": "shared-db-secret"}
    container = {"name": "app", "secrets": [{"name": "DB", "valueFrom": value_from}]}
    result = read(consumer, container, assembly=assembly)
    arn = assembly.text(producer, {"Ref": "Secret"})
    assert result.secrets == [
        SecretRef("app", "secrets", "DB", SecretSource.SECRET, arn or "", False, value_from)
    ]
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("value_from", "shown"),
    [
        ({"Ref": "DbSecret"}, "<DbSecret>"),
        ({"Fn::Join": ["", [{"Ref": "DbSecret"}, ":password::"]]}, "<DbSecret>:password::"),
        ({"Fn::Join": ["", [{"Ref": "Param"}, ":x"]]}, "<Param>:x"),
        ({"Ref": "Bucket"}, "<Bucket>"),
        ({"Fn::ImportValue": "not-exported"}, "<not-exported>"),
        ("arn:aws:s3:::bucket/secret.txt", "arn:aws:s3:::bucket/secret.txt"),
        (
            "arn:aws:secretsmanager:eu-west-1:123456789012:db",
            "arn:aws:secretsmanager:eu-west-1:123456789012:db",
        ),
        (["a", "b"], '["a","b"]'),
    ],
)
def test_fails_when_the_template_cannot_tell_the_secret(value_from: Any, shown: str) -> None:
    template = make_template(
        {"Param": {"Type": "AWS::SSM::Parameter"}, "Bucket": {"Type": "AWS::S3::Bucket"}},
        {"DbSecret": string_parameter()},
    )
    container = {"name": "app", "secrets": [{"name": "DB", "valueFrom": value_from}]}
    result = read(template, container)
    assert result.secrets == []
    assert result.unreadable == [Unreadable("app", "secrets DB", shown)]


@pytest.mark.parametrize(
    ("container", "what"),
    [
        (
            {
                "logConfiguration": {
                    "logDriver": "splunk",
                    "secretOptions": [{"name": "splunk-token", "valueFrom": {"Ref": "Token"}}],
                }
            },
            "secretOptions splunk-token",
        ),
        (
            {"repositoryCredentials": {"credentialsParameter": {"Ref": "Token"}}},
            "repositoryCredentials",
        ),
    ],
)
def test_fails_when_an_option_or_credential_secret_is_unknown(
    container: dict[str, Any], what: str
) -> None:
    template = make_template(parameters={"Token": string_parameter()})
    result = read(template, {"name": "app", **container})
    assert result.secrets == []
    assert result.unreadable == [Unreadable("app", what, "<Token>")]


def test_secret_entries_that_are_not_objects_are_skipped() -> None:
    container = {"name": "app", "secrets": ["DB", None, {"name": "X", "valueFrom": "x"}]}
    result = read(make_template(), container)
    assert [secret.name for secret in result.secrets] == ["X"]
    assert result.unreadable == []


# -- files --------------------------------------------------------------------------------------


def test_environment_files() -> None:
    files = [
        {"type": "s3", "value": "arn:aws:s3:::configs/app.env"},
        {"type": "s3", "value": "arn:aws:s3:::configs/team/extra.env"},
    ]
    result = read(make_template(), {"name": "app", "environmentFiles": files})
    assert result.files == [
        File(
            "app",
            "environmentFiles",
            0,
            "arn:aws:s3:::configs/app.env",
            "arn:aws:s3:::configs",
            files[0]["value"],
        ),
        File(
            "app",
            "environmentFiles",
            1,
            "arn:aws:s3:::configs/team/extra.env",
            "arn:aws:s3:::configs",
            files[1]["value"],
        ),
    ]
    assert all(file.in_s3 for file in result.files)
    assert result.unreadable == []


@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
def test_environment_file_of_a_bucket_of_the_template(environment: str) -> None:
    resources = {"Bucket": {"Type": "AWS::S3::Bucket"}}
    template = make_template(resources) if environment == "concrete" else agnostic(resources)
    assembly = Assembly([template])
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/app.env"]]}
    container = {"name": "app", "environmentFiles": [{"type": "s3", "value": value}]}
    result = read(template, container, assembly=assembly)
    bucket = assembly.text(template, {"Fn::GetAtt": ["Bucket", "Arn"]})
    name = assembly.text(template, {"Ref": "Bucket"})
    partition = assembly.pseudo(template, "AWS::Partition")
    assert bucket == f"arn:{partition}:s3:::{name}"
    assert result.files == [File("app", "environmentFiles", 0, f"{bucket}/app.env", bucket, value)]


def test_environment_file_of_a_bucket_outside_the_template() -> None:
    template = make_template()
    assembly = Assembly([template])
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/app.env"]]}
    container = {"name": "app", "environmentFiles": [{"type": "s3", "value": value}]}
    (file,) = read(template, container, assembly=assembly).files
    bucket = assembly.text(template, {"Fn::GetAtt": ["Bucket", "Arn"]})
    assert bucket is not None and PLACEHOLDER.fullmatch(bucket)
    assert (file.arn, file.bucket_arn, file.in_s3) == (f"{bucket}/app.env", bucket, True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"config-file-type": "s3", "config-file-value": "arn:aws:s3:::conf/extra.conf"},
            [("arn:aws:s3:::conf/extra.conf", "arn:aws:s3:::conf")],
        ),
        ({"config-file-type": "file", "config-file-value": "/fluent-bit/etc/extra.conf"}, []),
        ({"enable-ecs-log-metadata": "true"}, []),
    ],
)
def test_firelens_configuration_file(
    options: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    container = {
        "name": "log_router",
        "firelensConfiguration": {"type": "fluentbit", "options": options},
    }
    result = read(make_template(), container)
    assert [(f.purpose, f.index, f.arn, f.bucket_arn) for f in result.files] == [
        ("firelensConfiguration", 0, arn, bucket) for arn, bucket in expected
    ]
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("spec", "arn"),
    [
        ("credentialspec:arn:aws:s3:::gmsa/spec.json", "arn:aws:s3:::gmsa/spec.json"),
        (
            "credentialspecdomainless:arn:aws:s3:::gmsa/dir/spec.json",
            "arn:aws:s3:::gmsa/dir/spec.json",
        ),
    ],
)
def test_credential_specs_in_s3(spec: str, arn: str) -> None:
    result = read(make_template(), {"name": "app", "credentialSpecs": [spec]})
    (file,) = result.files
    assert (file.container, file.purpose, file.index) == ("app", "credentialSpecs", 0)
    assert (file.arn, file.bucket_arn, file.in_s3) == (arn, "arn:aws:s3:::gmsa", True)
    # The value is the template's, prefix included, as for every other fact.
    assert file.value == spec
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("spec", "arn"),
    [
        (
            "credentialspecdomainless:arn:aws:ssm:eu-west-1:123456789012:parameter/x",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
        ),
        (
            "credentialspec:arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/spec",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/gmsa/spec",
        ),
    ],
)
def test_credential_specs_in_ssm(spec: str, arn: str) -> None:
    result = read(make_template(), {"name": "app", "credentialSpecs": ["x", spec]})
    assert result.files == [File("app", "credentialSpecs", 1, arn, "", spec)]
    assert result.files[0].in_s3 is False
    assert result.unreadable == [Unreadable("app", "credentialSpecs", "x")]


@pytest.mark.parametrize(
    ("container", "what", "shown"),
    [
        (
            {"environmentFiles": [{"type": "s3", "value": {"Ref": "EnvFile"}}]},
            "environmentFiles",
            "<EnvFile>",
        ),
        (
            {"environmentFiles": [{"type": "s3", "value": "s3://configs/app.env"}]},
            "environmentFiles",
            "s3://configs/app.env",
        ),
        (
            {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::configs"}]},
            "environmentFiles",
            "arn:aws:s3:::configs",
        ),
        (
            {"environmentFiles": [{"type": "s3", "value": ["a"]}]},
            "environmentFiles",
            '["a"]',
        ),
        (
            {
                "firelensConfiguration": {
                    "type": "fluentbit",
                    "options": {"config-file-type": "s3", "config-file-value": {"Ref": "EnvFile"}},
                }
            },
            "firelensConfiguration",
            "<EnvFile>",
        ),
        (
            {"credentialSpecs": ["arn:aws:s3:::gmsa/spec.json"]},
            "credentialSpecs",
            "arn:aws:s3:::gmsa/spec.json",
        ),
    ],
)
def test_fails_when_a_file_is_unknown(container: dict[str, Any], what: str, shown: str) -> None:
    template = make_template(parameters={"EnvFile": string_parameter()})
    result = read(template, {"name": "app", **container})
    assert result.files == []
    assert result.unreadable == [Unreadable("app", what, shown)]


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ({"Fn::Join": ["", ["credentialspec:", {"Ref": "EnvFile"}]]}, "<EnvFile>"),
        (f"credentialspecdomainless:{SECRET_ARN}", SECRET_ARN),
        ("credentialspec:arn:aws:s3:::gmsa", "arn:aws:s3:::gmsa"),
    ],
)
def test_fails_when_a_credential_spec_names_no_object_or_parameter(spec: Any, shown: str) -> None:
    template = make_template(parameters={"EnvFile": string_parameter()})
    result = read(template, {"name": "app", "credentialSpecs": [spec]})
    assert result.files == []
    (unreadable,) = result.unreadable
    assert (unreadable.container, unreadable.what) == ("app", "credentialSpecs")
    assert shown in unreadable.text


def test_environment_files_of_other_types_are_skipped() -> None:
    files = [{"type": "local", "value": "/app.env"}, "arn:aws:s3:::configs/app.env"]
    result = read(make_template(), {"name": "app", "environmentFiles": files})
    assert result.files == []
    assert result.unreadable == []


# -- spellings and containers -------------------------------------------------------------------


def spelled(pascal: bool) -> dict[str, Any]:
    """One container holding every need, in the ECS API's or CloudFormation's spelling."""

    def key(name: str) -> str:
        return name[:1].upper() + name[1:] if pascal else name

    return {
        key("name"): "app",
        key("image"): {
            "Fn::Join": [
                "",
                [
                    {"Ref": "AWS::AccountId"},
                    ".dkr.ecr.",
                    {"Ref": "AWS::Region"},
                    ".",
                    {"Ref": "AWS::URLSuffix"},
                    "/team/api:v1",
                ],
            ]
        },
        key("logConfiguration"): {
            key("logDriver"): "awslogs",
            key("options"): {
                "awslogs-group": {"Ref": "Logs"},
                "awslogs-stream-prefix": "web",
                "awslogs-create-group": "true",
            },
            key("secretOptions"): [{key("name"): "token", key("valueFrom"): PARTIAL_ARN}],
        },
        key("secrets"): [
            {key("name"): "DB", key("valueFrom"): {"Ref": "Secret"}},
            {key("name"): "FLAG", key("valueFrom"): "/app/flag"},
        ],
        key("repositoryCredentials"): {key("credentialsParameter"): SECRET_ARN},
        key("environmentFiles"): [
            {key("type"): "s3", key("value"): "arn:aws:s3:::configs/app.env"}
        ],
        key("firelensConfiguration"): {
            key("type"): "fluentbit",
            key("options"): {
                "config-file-type": "s3",
                "config-file-value": "arn:aws:s3:::conf/extra.conf",
            },
        },
        key("credentialSpecs"): ["credentialspec:arn:aws:s3:::gmsa/spec.json"],
    }


def test_both_spellings_read_the_same() -> None:
    template = make_template(
        {
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Secret": {"Type": "AWS::SecretsManager::Secret"},
        }
    )
    assembly = Assembly([template])
    camel = read(template, spelled(pascal=False), assembly=assembly)
    pascal = read(template, spelled(pascal=True), assembly=assembly)
    assert camel == pascal
    assert len(camel.images) == 1 and camel.images[0].source.registry is Registry.ECR
    assert camel.images[0].source.repository_arn == (
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/api"
    )
    (logs,) = camel.logs
    assert (logs.prefix, logs.create_group) == ("web", True)
    assert logs.group_value == {"Ref": "Logs"}
    assert [(s.purpose, s.name) for s in camel.secrets] == [
        ("secretOptions", "token"),
        ("secrets", "DB"),
        ("secrets", "FLAG"),
        ("repositoryCredentials", ""),
    ]
    assert camel.secrets[1].value == {"Ref": "Secret"}
    assert [f.purpose for f in camel.files] == [
        "environmentFiles",
        "firelensConfiguration",
        "credentialSpecs",
    ]
    assert camel.unreadable == []


def test_option_keys_are_kept_as_written() -> None:
    configuration = {
        "LogDriver": "awslogs",
        "Options": {"awslogs-group": "kept", "Awslogs-group": "other"},
    }
    (logs,) = read(make_template(), {"Name": "app", "LogConfiguration": configuration}).logs
    assert logs.group == "kept"


def test_containers_are_read_in_order_and_non_objects_skipped() -> None:
    containers = [
        {"name": "first", "image": "nginx:1"},
        "not a container",
        None,
        {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1"},
        {"Name": {"Fn::Sub": "${AWS::Region}-app"}, "Image": "redis"},
    ]
    result = read(make_template(), *containers)
    assert [image.container for image in result.images] == ["first", "?", "eu-west-1-app"]
    assert [image.source.registry for image in result.images] == [
        Registry.OTHER,
        Registry.ECR,
        Registry.OTHER,
    ]


def test_needs_of_several_containers_keep_their_container() -> None:
    containers = [
        {"name": "a", "secrets": [{"name": "X", "valueFrom": "x"}]},
        {"name": "b", "secrets": [{"name": "Y", "valueFrom": "y"}]},
    ]
    result = read(make_template(), *containers)
    assert [(s.container, s.name, s.arn.rsplit("/", 1)[1]) for s in result.secrets] == [
        ("a", "X", "x"),
        ("b", "Y", "y"),
    ]
