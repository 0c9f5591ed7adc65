"""What other accounts must allow (``_cross_account``): per account, for exactly the role, in
a stack output and in ``<stack>.cross-account.json`` of the cloud assembly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from iam_eval import is_allowed
from iam_lint import LintedPolicy, database_findings, parliament_findings

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole

ACCOUNT = "123456789012"
OTHER = "210987654321"
REPOSITORY = f"arn:aws:ecr:eu-west-1:{OTHER}:repository/shared/api"
KEY = f"arn:aws:kms:eu-west-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{OTHER}:secret:db-AbCdEf"
PARAMETER = f"arn:aws:ssm:eu-west-1:{OTHER}:parameter/flag"
FILE = "arn:aws:s3:::platform-config/api.env"
BUCKET = "arn:aws:s3:::platform-config"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/<Api/ApiExecutionRole/Resource>"


def _app(tmp_path: Path, role: str = "minimal") -> cdk.App:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Api", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    repository = ecr.Repository.from_repository_arn(stack, "Repo", REPOSITORY)
    key = kms.Key.from_key_arn(stack, "Key", KEY)
    secret = secretsmanager.Secret.from_secret_attributes(
        stack, "Db", secret_complete_arn=SECRET, encryption_key=key
    )
    bucket = s3.Bucket.from_bucket_attributes(
        stack, "Config", bucket_name="platform-config", account=OTHER
    )
    parameter = ssm.StringParameter.from_string_parameter_arn(stack, "Flag", PARAMETER)
    own = s3.Bucket.from_bucket_name(stack, "Own", "own-config")
    execution = MinimalExecutionRole(stack, "ApiExecutionRole") if role == "minimal" else None
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=execution)
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_ecr_repository(repository, "1"),
        secrets={
            "DB": ecs.Secret.from_secrets_manager(secret),
            "FLAG": ecs.Secret.from_ssm_parameter(parameter),
        },
        environment_files=[
            ecs.EnvironmentFile.from_bucket(bucket, "api.env"),
            ecs.EnvironmentFile.from_bucket(own, "api.env"),
        ],
    )
    if role == "harden":
        cdk.Aspects.of(app).add(HardenExecutionRoles())
    app.synth()
    return app


def _file(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    return json.loads((tmp_path / "Api.cross-account.json").read_text(encoding="utf-8"))


def test_each_resource_of_another_account_gets_its_policy_statement(tmp_path: Path) -> None:
    _app(tmp_path)
    found = _file(tmp_path)
    assert list(found) == [OTHER]  # the bucket of the role's own account is not there
    by_resource = {entry["resource"]: entry for entry in found[OTHER]}
    assert {resource: entry["policy"] for resource, entry in by_resource.items()} == {
        REPOSITORY: "repository policy",
        SECRET: "secret resource policy",
        PARAMETER: "AWS RAM resource share",
        FILE: "bucket policy",
        BUCKET: "bucket policy",
        KEY: "key policy",
    }
    assert "advanced-tier" in by_resource[PARAMETER]["share"]
    for entry in found[OTHER]:
        if "statement" in entry:
            assert entry["statement"]["Principal"] == {"AWS": ROLE_ARN}
    key = by_resource[KEY]["statement"]
    assert key["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }


# What ECS calls on each resource, and what it must not get.
_CALLS = [
    (REPOSITORY, "ecr:BatchGetImage", True),
    (REPOSITORY, "ecr:GetDownloadUrlForLayer", True),
    (REPOSITORY, "ecr:BatchCheckLayerAvailability", True),
    (REPOSITORY, "ecr:PutImage", False),
    (REPOSITORY, "ecr:GetAuthorizationToken", False),
    (SECRET, "secretsmanager:GetSecretValue", True),
    (SECRET, "secretsmanager:DescribeSecret", False),
    (FILE, "s3:GetObject", True),
    (FILE, "s3:PutObject", False),
    (BUCKET, "s3:GetBucketLocation", True),
    (BUCKET, "s3:ListBucket", False),
]


@pytest.mark.parametrize(("resource", "action", "allowed"), _CALLS)
def test_each_statement_allows_exactly_what_ecs_calls_on_exactly_its_resource(
    tmp_path: Path, resource: str, action: str, allowed: bool
) -> None:
    _app(tmp_path)
    (entry,) = [e for e in _file(tmp_path)[OTHER] if e["resource"] == resource]
    statement = {k: v for k, v in entry["statement"].items() if k != "Principal"}
    # A repository or secret policy applies to its own resource: "Resource" there is the
    # resource itself (or absent).
    statement["Resource"] = (
        resource if statement.get("Resource", "*") == "*" else statement["Resource"]
    )
    policy = [{"Version": "2012-10-17", "Statement": [statement]}]
    assert is_allowed(policy, action, resource) is allowed
    if allowed and entry["policy"] == "bucket policy":
        assert not is_allowed(policy, action, resource + "x")


def test_the_key_policy_allows_decryption_through_the_secrets_service_only(
    tmp_path: Path,
) -> None:
    _app(tmp_path)
    (entry,) = [e for e in _file(tmp_path)[OTHER] if e["resource"] == KEY]
    statement = {k: v for k, v in entry["statement"].items() if k != "Principal"}
    policy = [{"Version": "2012-10-17", "Statement": [{**statement, "Resource": KEY}]}]
    via = "kms:ViaService"
    assert is_allowed(policy, "kms:Decrypt", KEY, {via: "secretsmanager.eu-west-1.amazonaws.com"})
    assert not is_allowed(policy, "kms:Decrypt", KEY, {via: "s3.eu-west-1.amazonaws.com"})
    assert not is_allowed(policy, "kms:Decrypt", KEY)


def test_the_stack_outputs_carry_the_same_with_the_roles_arn(tmp_path: Path) -> None:
    app = _app(tmp_path)
    template = app.synth().get_stack_by_name("Api").template
    (name,) = [n for n in template["Outputs"] if "CrossAccount" in n]
    assert name.startswith(f"ApiExecutionRoleCrossAccount{OTHER}")
    output = template["Outputs"][name]
    assert output["Description"].startswith(f"ecs-exec-roles: what account {OTHER} must allow")
    parts = output["Value"]["Fn::Join"][1]
    role = [p["Fn::GetAtt"] for p in parts if isinstance(p, dict) and "Fn::GetAtt" in p]
    assert len(role) == 5  # one principal per statement
    assert role[0][0].startswith("ApiExecutionRole")
    assert all(p == [role[0][0], "Arn"] for p in role)


def test_a_hardened_role_gets_the_file_too(tmp_path: Path) -> None:
    _app(tmp_path, "harden")
    found = _file(tmp_path)
    assert {entry["policy"] for entry in found[OTHER]} >= {"repository policy", "key policy"}
    assert all(
        entry["statement"]["Principal"]["AWS"].endswith(":role/<Api/Task/ExecutionRole>")
        for entry in found[OTHER]
        if "statement" in entry
    )


def test_a_role_that_names_only_its_own_accounts_resources_writes_nothing(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Api", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    task = ecs.FargateTaskDefinition(
        stack, "Task", execution_role=MinimalExecutionRole(stack, "ApiExecutionRole")
    )
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_registry("nginx"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api"),
    )
    template = app.synth().get_stack_by_name("Api").template
    assert "Outputs" not in template
    assert not (tmp_path / "Api.cross-account.json").exists()


_POLICY_TYPES = {
    "repository policy": "AWS::ECR::Repository",
    "secret resource policy": "AWS::SecretsManager::ResourcePolicy",
    "key policy": "AWS::KMS::Key",
    "bucket policy": "AWS::S3::BucketPolicy",
}


def test_the_linters_find_nothing_in_the_statements(tmp_path: Path) -> None:
    _app(tmp_path)
    findings = []
    for entry in _file(tmp_path)[OTHER]:
        if "statement" not in entry:
            continue
        statement = dict(entry["statement"])
        # A policy on the resource itself: its statements name it (a repository policy has no
        # Resource element; the linters read one).
        if statement.get("Resource", "*") == "*":
            statement["Resource"] = entry["resource"]
        policy = LintedPolicy(
            entry["resource"],
            "resource",
            {"Version": "2012-10-17", "Statement": [statement]},
            _POLICY_TYPES[entry["policy"]],
            "Policy",
        )
        findings += [*database_findings(policy), *parliament_findings(policy)]
    assert findings == []
