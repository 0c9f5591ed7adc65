"""Every way a CDK app gets its container image, covered without widening the role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from helpers import policy_statements, role_logical_id, template_json

from ecs_exec_roles import ExecutionRoleError, MinimalExecutionRole, SharedExecutionRole
from ecs_exec_roles._cfn import canonical

ASSET_DIR = str(Path(__file__).parent / "assets" / "app")


def _pull(stack: cdk.Stack, role: Any) -> dict[str, Any]:
    statements = policy_statements(template_json(stack), role_logical_id(stack, role))
    return next(s for s in statements if s["Sid"] == "EcrImagePull")


def _task(stack: cdk.Stack, role: Any, image: ecs.ContainerImage) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container("app", image=image)


def test_from_asset_is_covered_by_the_bootstrap_repository(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", container_assets=True)
    _task(env_stack, role, ecs.ContainerImage.from_asset(ASSET_DIR))
    pull = _pull(env_stack, role)
    assert pull["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:eu-west-1:123456789012:repository/"
                "cdk-hnb659fds-container-assets-123456789012-eu-west-1",
            ],
        ]
    }


def test_from_asset_in_an_environment_agnostic_stack(stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(stack, "Api", container_assets=True)
    _task(stack, role, ecs.ContainerImage.from_asset(ASSET_DIR))
    Template.from_stack(stack).resource_count_is("AWS::IAM::Policy", 0)


def test_custom_bootstrap_qualifier_from_the_context_is_respected() -> None:
    app = cdk.App(context={"@aws-cdk/core:bootstrapQualifier": "team42"})
    stack = cdk.Stack(
        app, "Custom", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    role = MinimalExecutionRole(stack, "Api", container_assets=True)
    _task(stack, role, ecs.ContainerImage.from_asset(ASSET_DIR))
    assert "repository/cdk-team42-container-assets-123456789012-eu-west-1" in str(
        _pull(stack, role)
    )


def test_fails_when_a_qualifier_set_only_on_the_synthesizer_object_differs(app: cdk.App) -> None:
    # The synthesizer object does not expose a qualifier given to its constructor; the
    # coverage check then names the real repository instead of letting the pull fail.
    stack = cdk.Stack(
        app,
        "Custom",
        env=cdk.Environment(account="123456789012", region="eu-west-1"),
        synthesizer=cdk.DefaultStackSynthesizer(qualifier="team42"),
    )
    role = MinimalExecutionRole(stack, "Api", derive=False, container_assets=True)
    _task(stack, role, ecs.ContainerImage.from_asset(ASSET_DIR))
    with pytest.raises(RuntimeError, match="cdk-team42-container-assets-123456789012-eu-west-1"):
        Template.from_stack(stack)


def test_fails_when_an_asset_image_is_not_covered(env_stack: cdk.Stack) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _task(env_stack, role, ecs.ContainerImage.from_asset(ASSET_DIR))
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert "repository/cdk-hnb659fds-container-assets-123456789012-eu-west-1" in message
    assert "add the resource to `repositories`" in message


def test_docker_image_asset_objects(env_stack: cdk.Stack) -> None:
    asset = ecr_assets.DockerImageAsset(env_stack, "Image", directory=ASSET_DIR)
    role = SharedExecutionRole(env_stack, "Workers", image_assets=[asset])
    _task(env_stack, role, ecs.ContainerImage.from_docker_image_asset(asset))
    assert "container-assets-123456789012-eu-west-1" in str(_pull(env_stack, role))
    assert "repository/*" not in str(template_json(env_stack))


def test_fails_when_image_assets_get_a_path(env_stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError, match=r"image_assets\[0\] is './app'"):
        MinimalExecutionRole(env_stack, "Api", image_assets=["./app"])  # type: ignore[list-item]


def test_fails_when_container_assets_meet_the_legacy_synthesizer(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Legacy", synthesizer=cdk.LegacyStackSynthesizer())
    with pytest.raises(ExecutionRoleError, match="LegacyStackSynthesizer, which has none"):
        MinimalExecutionRole(stack, "Api", container_assets=True)


def test_tag_parameter_container_image_is_covered_by_its_repository(env_stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(env_stack, "Repo", "pipeline/api")
    role = MinimalExecutionRole(env_stack, "Api", repositories=[repository])
    _task(env_stack, role, ecs.TagParameterContainerImage(repository))
    template = Template.from_stack(env_stack)
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_fails_when_the_tag_parameter_repository_is_missing(env_stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(env_stack, "Repo", "pipeline/api")
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _task(env_stack, role, ecs.TagParameterContainerImage(repository))
    with pytest.raises(RuntimeError, match="repository/pipeline/api"):
        Template.from_stack(env_stack)


@pytest.mark.parametrize(
    "image",
    [
        "public.ecr.aws/nginx/nginx:latest",
        "nginx:1.27",
        "docker.io/library/redis:7",
        "ghcr.io/org/app@sha256:" + "b" * 64,
    ],
)
def test_public_registries_need_no_ecr_permission(env_stack: cdk.Stack, image: str) -> None:
    role = MinimalExecutionRole(env_stack, "Api")
    _task(env_stack, role, ecs.ContainerImage.from_registry(image))
    Template.from_stack(env_stack).resource_count_is("AWS::IAM::ManagedPolicy", 0)


@pytest.mark.parametrize(
    ("uri", "arn"),
    [
        (
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:v1",
            "arn:aws:ecr:us-east-1:210987654321:repository/team/api",
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/api@sha256:" + "c" * 64,
            "arn:aws-cn:ecr:cn-north-1:210987654321:repository/api",
        ),
        (
            "210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com/api",
            "arn:aws-us-gov:ecr:us-gov-west-1:210987654321:repository/api",
        ),
    ],
)
def test_fails_when_an_ecr_uri_names_an_uncovered_repository(
    env_stack: cdk.Stack, uri: str, arn: str
) -> None:
    role = MinimalExecutionRole(env_stack, "Api", derive=False)
    _task(env_stack, role, ecs.ContainerImage.from_registry(uri))
    with pytest.raises(RuntimeError) as error:
        Template.from_stack(env_stack)
    message = str(error.value)
    assert (
        "EnvStack/Api: container 'app' of task definition EnvStack/Task needs "
        "ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage on "
        f"{arn} for its image {uri}, which the role does not allow"
    ) in message
    assert "Suggested fix: add the resource to `repositories`." in message


# -- URIs built from tokens, read from the template ---------------------------------------------


def _image_uris(stack: cdk.Stack) -> dict[str, tuple[str, Any]]:
    """Images named by URI without a grant, and the repository ARN each pulls from."""
    in_app = ecr.Repository(stack, "AppRepo")
    imported = ecr.Repository.from_repository_name(stack, "Imported", "team/api")
    digest = "sha256:" + "d" * 64
    account, region = ACCOUNT_AND_REGION
    return {
        "uri-for-tag-of-an-app-repository": (
            in_app.repository_uri_for_tag("v1"),
            {"Fn::GetAtt": [stack.get_logical_id(in_app.node.default_child), "Arn"]},  # type: ignore[arg-type]
        ),
        "uri-for-tag-of-an-imported-repository": (
            imported.repository_uri_for_tag("v1"),
            stack.resolve(imported.repository_arn),
        ),
        "pseudo-parameters": (
            f"{cdk.Aws.ACCOUNT_ID}.dkr.ecr.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/team/web:1",
            stack.resolve(
                f"arn:{cdk.Aws.PARTITION}:ecr:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:repository/team/web"
            ),
        ),
        "dual-stack": (
            f"{account}.dkr-ecr.{region}.on.aws/team/dual:v1",
            f"arn:aws:ecr:{region}:{account}:repository/team/dual",
        ),
        "tag-and-digest": (
            f"{account}.dkr.ecr.{region}.amazonaws.com/team/pinned:v1@{digest}",
            f"arn:aws:ecr:{region}:{account}:repository/team/pinned",
        ),
    }


ACCOUNT_AND_REGION = ("123456789012", "eu-west-1")
URI_CASES = [
    "uri-for-tag-of-an-app-repository",
    "uri-for-tag-of-an-imported-repository",
    "pseudo-parameters",
    "dual-stack",
    "tag-and-digest",
]


@pytest.mark.parametrize("case", URI_CASES)
@pytest.mark.parametrize("agnostic", [False, True], ids=["env", "agnostic"])
def test_an_image_uri_built_from_tokens_is_derived_exactly(case: str, agnostic: bool) -> None:
    app = cdk.App()
    env = None if agnostic else cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(app, "S", env=env)
    image, arn = _image_uris(stack)[case]
    role = MinimalExecutionRole(stack, "Api")
    _task(stack, role, ecs.ContainerImage.from_registry(image))
    pull = _pull(stack, role)
    # One resource: a literal partition names the same as the partition of the stack.
    assert canonical(pull["Resource"]) == canonical(arn)


@pytest.mark.parametrize("case", URI_CASES)
def test_fails_when_an_image_uri_built_from_tokens_is_not_covered(case: str) -> None:
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    image, _ = _image_uris(stack)[case]
    role = MinimalExecutionRole(stack, "Api", derive=False)
    _task(stack, role, ecs.ContainerImage.from_registry(image))
    with pytest.raises(RuntimeError) as raised:
        Template.from_stack(stack)
    message = str(raised.value)
    assert "S/Api: container 'app' of task definition S/Task needs " in message
    assert "ecr:BatchGetImage on " in message
    assert "Suggested fix: add the resource to `repositories`." in message


@pytest.mark.parametrize(
    "make",
    [
        lambda s: cdk.CfnParameter(s, "Image").value_as_string,
        lambda s: f"{cdk.CfnParameter(s, 'Registry').value_as_string}/team/api:v1",
    ],
    ids=["whole-uri-parameter", "registry-parameter"],
)
def test_fails_when_the_template_cannot_tell_where_an_image_comes_from(make: Any) -> None:
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    role = MinimalExecutionRole(
        stack, "Api", repositories=[ecr.Repository.from_repository_name(stack, "R", "team/api")]
    )
    _task(stack, role, ecs.ContainerImage.from_registry(make(stack)))
    with pytest.raises(RuntimeError) as raised:
        Template.from_stack(stack)
    message = str(raised.value)
    assert "S/Api: container 'app' of task definition S/Task has the image <" in message
    assert "whose registry and repository the template cannot tell" in message
    assert "ecs.ContainerImage.from_ecr_repository(repository, tag)" in message


@pytest.mark.parametrize("agnostic", [False, True], ids=["env", "agnostic"])
def test_a_granted_image_also_read_from_its_uri_is_named_once(agnostic: bool) -> None:
    # The URI of an imported repository is read from the template (with the stack's literal
    # partition in a concrete stack) and granted by aws-cdk-lib (with the partition token):
    # one resource, one entry.
    env = None if agnostic else cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(cdk.App(), "S", env=env)
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
    role = MinimalExecutionRole(stack, "Api")
    _task(stack, role, ecs.ContainerImage.from_ecr_repository(repository, "v1"))
    assert _pull(stack, role)["Resource"] == stack.resolve(repository.repository_arn)
