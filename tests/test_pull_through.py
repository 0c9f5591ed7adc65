"""ECR pull-through cache rules of the app (``_pull_through``): images under a rule get the
cache actions on exactly their repository, derived, under the aspect and verified."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_exec_roles import ExecutionRoleError, HardenExecutionRoles, MinimalExecutionRole
from ecs_exec_roles._pull_through import ROOT, CacheRule, rule_for, rules_of_templates

ACCOUNT = "123456789012"
REGION = "eu-west-1"
CACHE_ACTIONS = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]


def _arn(name: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


# -- matching an image's repository with a rule ----------------------------------------------


def test_an_image_is_pulled_through_the_rule_of_its_place_with_the_longest_prefix() -> None:
    hub = CacheRule("docker-hub", ACCOUNT, REGION)
    team = CacheRule("docker-hub/team", ACCOUNT, REGION)
    root = CacheRule(ROOT, ACCOUNT, REGION)
    assert rule_for([hub, team], _arn("docker-hub/library/nginx")) is hub
    assert rule_for([hub, team], _arn("docker-hub/team/app")) is team
    assert rule_for([root, hub], _arn("docker-hub/library/nginx")) is hub
    assert rule_for([root, hub], _arn("app/api")) is root
    # The prefix is a whole part of the name, in the rule's own account and region only.
    assert rule_for([hub], _arn("docker-hubx/nginx")) is None
    assert rule_for([hub], _arn("docker-hub")) is None
    assert rule_for([hub, root], _arn("docker-hub/nginx", account="210987654321")) is None
    assert rule_for([hub, root], _arn("docker-hub/nginx", region="us-east-1")) is None
    assert rule_for([hub], "arn:aws:s3:::docker-hub/nginx") is None
    assert rule_for([], _arn("docker-hub/nginx")) is None


def test_parts_the_templates_cannot_know_are_matched_as_written() -> None:
    rule = CacheRule("quay", "<AWS::AccountId>", "<AWS::Region>")
    arn = "arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/quay/app"
    assert rule_for([rule], arn) is rule
    assert rule_for([rule], arn.replace("<AWS::Region>", REGION)) is None


def _resource(type_name: str, **properties: Any) -> tuple[str, str, str, str, dict[str, Any]]:
    return (type_name, ACCOUNT, REGION, "S/Rule", properties)


def test_a_creation_template_that_tags_makes_its_rules_tag() -> None:
    rule = "AWS::ECR::PullThroughCacheRule"
    template = "AWS::ECR::RepositoryCreationTemplate"
    rules = rules_of_templates(
        [
            _resource(rule, EcrRepositoryPrefix="docker-hub"),
            _resource(rule, EcrRepositoryPrefix="quay/"),
            _resource(rule, EcrRepositoryPrefix="k8s"),
            _resource(rule),  # no prefix written: not read
            _resource(
                template,
                Prefix="docker-hub",
                AppliedFor=["PULL_THROUGH_CACHE"],
                ResourceTags=[{"Key": "team", "Value": "a"}],
            ),
            # The prefix's own template wins over ROOT's; one for replication only is not one.
            _resource(template, Prefix="quay", AppliedFor=["PULL_THROUGH_CACHE"]),
            _resource(
                template,
                Prefix=ROOT,
                AppliedFor=["PULL_THROUGH_CACHE"],
                ResourceTags=[{"Key": "k", "Value": "v"}],
            ),
            _resource(template, Prefix="k8s", AppliedFor=["REPLICATION"]),
        ]
    )
    assert [(r.prefix, r.tagging) for r in rules] == [
        ("docker-hub", True),
        ("quay", False),
        ("k8s", True),
    ]


# -- the role ------------------------------------------------------------------------------------


def _app(env: bool = True, prefix: str = "docker-hub") -> tuple[cdk.App, cdk.Stack, str]:
    app = cdk.App()
    stack = cdk.Stack(
        app, "S", env=cdk.Environment(account=ACCOUNT, region=REGION) if env else None
    )
    ecr.CfnPullThroughCacheRule(
        stack, "Hub", ecr_repository_prefix=prefix, upstream_registry="docker-hub"
    )
    uri = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{prefix}/library/nginx:1"
    return app, stack, uri


def _task(stack: cdk.Stack, role: Any, uri: str, **options: Any) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container("app", image=ecs.ContainerImage.from_registry(uri), **options)


def _statements(app: cdk.App) -> dict[str, Any]:
    template = app.synth().get_stack_by_name("S").template
    return {
        statement["Sid"]: statement
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    }


def _resource_text(statement: dict[str, Any]) -> str:
    resource = statement["Resource"]
    if isinstance(resource, str):
        return resource
    return "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in resource["Fn::Join"][1])


@pytest.mark.parametrize("env", [True, False], ids=["env", "agnostic"])
def test_a_derived_role_gets_the_cache_actions_on_exactly_the_images_repository(env: bool) -> None:
    app, stack, uri = _app(env)
    _task(stack, MinimalExecutionRole(stack, "Role"), uri)
    statements = _statements(app)
    cache = statements["EcrPullThroughCache"]
    assert cache["Action"] == CACHE_ACTIONS
    assert _resource_text(cache).endswith(":repository/docker-hub/library/nginx")
    assert _resource_text(cache) == _resource_text(statements["EcrImagePull"])
    assert "EcrPullThroughCacheTagging" not in statements


def test_a_tagging_creation_template_adds_tagging_and_the_aspect_hardens_alike() -> None:
    app, stack, uri = _app()
    ecr.CfnRepositoryCreationTemplate(
        stack,
        "Template",
        prefix="docker-hub",
        applied_for=["PULL_THROUGH_CACHE"],
        resource_tags=[cdk.CfnTag(key="team", value="a")],
    )
    _task(stack, None, uri, logging=ecs.LogDrivers.aws_logs(stream_prefix="app"))
    cdk.Aspects.of(stack).add(HardenExecutionRoles())
    statements = _statements(app)
    assert statements["EcrPullThroughCacheTagging"]["Action"] == "ecr:TagResource"
    assert _resource_text(statements["EcrPullThroughCacheTagging"]) == _arn(
        "docker-hub/library/nginx"
    )
    assert statements["EcrPullThroughCache"]["Action"] == CACHE_ACTIONS


def test_an_image_of_a_root_rule_is_its_own_repository() -> None:
    app, stack, _ = _app(prefix=ROOT)
    uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:1"
    _task(stack, MinimalExecutionRole(stack, "Role"), uri)
    assert _resource_text(_statements(app)["EcrPullThroughCache"]) == _arn("team/app")


def test_without_derivation_a_missing_cache_permission_fails_synth_naming_the_prefix() -> None:
    app, stack, uri = _app()
    repository = ecr.Repository.from_repository_name(stack, "Repo", "docker-hub/library/nginx")
    role = MinimalExecutionRole(stack, "Role", derive=False, repositories=[repository])
    _task(stack, role, uri)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "S/Role: container 'app' of task definition S/Task needs ecr:BatchImportUpstreamImage, "
        f"ecr:CreateRepository on {_arn('docker-hub/library/nginx')} for its image "
    ) in message
    assert "pulled through the cache rule S/Hub" in message
    assert "add the rule's prefix 'docker-hub' to `pull_through_cache_prefixes`" in message


def test_the_root_prefix_in_props_scopes_the_cache_actions_to_the_named_repositories() -> None:
    app, stack, _ = _app(prefix=ROOT)
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/app")
    role = MinimalExecutionRole(
        stack,
        "Role",
        derive=False,
        repositories=[repository],
        pull_through_cache_prefixes=[ROOT],
    )
    _task(stack, role, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:1")
    statements = _statements(app)
    assert statements["EcrPullThroughCache"]["Action"] == CACHE_ACTIONS
    assert _resource_text(statements["EcrPullThroughCache"]).endswith(":repository/team/app")


def test_the_root_prefix_without_repositories_fails_at_construction() -> None:
    _, stack, _ = _app()
    with pytest.raises(ExecutionRoleError, match="S/Role: pull_through_cache_prefixes has 'ROOT'"):
        MinimalExecutionRole(stack, "Role", pull_through_cache_prefixes=[ROOT])
