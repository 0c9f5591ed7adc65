"""The example app, synthesized by the real CDK CLI and in process, and the comparison script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from examples import app as example

ROOT = Path(__file__).resolve().parents[1]
CDK_BIN = ROOT / ".cdk-cli" / "node_modules" / ".bin" / "cdk"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
EXECUTION_ROLES = (
    "ApiExecutionRole",
    "WorkersExecutionRole",
    "DemoExecutionRole",
    "WebExecutionRole",
    "StoreExecutionRole",
)
STARTER_POLICY_SUFFIX = ":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def by_path(template: dict[str, Any], resource_type: str) -> dict[str, tuple[str, Any]]:
    """Resources of one type keyed by construct path without the stack name."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == resource_type:
            path = resource["Metadata"]["aws:cdk:path"].split("/", 1)[1]
            found[path] = (logical_id, resource["Properties"])
    return found


def assert_trust_has_conditions(role: dict[str, Any]) -> None:
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Condition"]) == {"ArnLike", "StringEquals"}
    assert set(statement["Condition"]["ArnLike"]) == {"aws:SourceArn"}
    assert set(statement["Condition"]["StringEquals"]) == {"aws:SourceAccount"}


# -- (a) the real CLI -------------------------------------------------------------------------


def test_cdk_cli_synthesizes_the_example(tmp_path: Path) -> None:
    assert CDK_BIN.exists(), "the CDK CLI is missing; run `bash scripts/setup.sh`"
    outdir = tmp_path / "cdk.out"
    env = {
        **os.environ,
        # As scripts/synth.sh: Node 24 and the pinned CLI from the project, never the machine's.
        "PATH": os.pathsep.join(
            [str(ROOT / ".venv" / "bin"), str(CDK_BIN.parent), os.environ.get("PATH", "")]
        ),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        # No AWS account: do not wait for the instance metadata service.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [str(CDK_BIN), "synth", "--ci", "--no-notices", "--quiet", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((outdir / f"{example.STACK_NAME}.template.json").read_text())

    roles = by_path(template, "AWS::IAM::Role")
    for name in EXECUTION_ROLES:
        _, role = roles[f"{name}/Resource/Resource"]
        assert_trust_has_conditions(role)
    # The one inline policy is the VPC flow log role's, which aws-cdk-lib makes.
    inline = by_path(template, "AWS::IAM::Policy")
    assert list(inline) == ["Vpc/FlowLog/IAMRole/DefaultPolicy/Resource"], "no other policy"
    # aws-cdk-lib's own validation plugin (CloudFormation Validate) reports nothing either.
    report = json.loads((outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == [], result.stderr


# -- (b) in process ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_stack() -> cdk.Stack:
    app = example.build_app(cdk.App(), env=cdk.Environment(account=ACCOUNT, region=REGION))
    stack = app.node.find_child(example.STACK_NAME)
    assert isinstance(stack, cdk.Stack)
    return stack


@pytest.fixture(scope="module")
def template(example_stack: cdk.Stack) -> Template:
    return Template.from_stack(example_stack)


def logical_id(stack: cdk.Stack, path: str) -> str:
    """The logical ID of the CloudFormation resource at ``path`` (below the stack)."""
    construct = stack.node.find_child(path.split("/")[0])
    for part in path.split("/")[1:]:
        construct = construct.node.find_child(part)
    assert isinstance(construct, cdk.CfnElement)
    return stack.get_logical_id(construct)


def test_each_task_uses_its_execution_role(example_stack: cdk.Stack, template: Template) -> None:
    for task, role in (
        ("ApiTask", "ApiExecutionRole"),
        ("WorkerATask", "WorkersExecutionRole"),
        ("WorkerBTask", "WorkersExecutionRole"),
        ("DemoTask", "DemoExecutionRole"),
        ("WebTask", "WebExecutionRole"),
    ):
        role_id = logical_id(example_stack, f"{role}/Resource/Resource")
        task_id = logical_id(example_stack, f"{task}/Resource")
        properties = template.to_json()["Resources"][task_id]["Properties"]
        assert properties["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_roles_have_trust_conditions_and_no_inline_policy(
    example_stack: cdk.Stack, template: Template
) -> None:
    resources = template.to_json()["Resources"]
    for name in EXECUTION_ROLES:
        role_id = logical_id(example_stack, f"{name}/Resource/Resource")
        assert_trust_has_conditions(resources[role_id]["Properties"])
        assert "Policies" not in resources[role_id]["Properties"]
        # No inline policy is attached to an execution role.
        for resource in resources.values():
            if resource["Type"] == "AWS::IAM::Policy":
                assert {"Ref": role_id} not in resource["Properties"].get("Roles", [])
    # The reports task's role, aws-cdk-lib's, hardened in place: the same conditions, no
    # DefaultPolicy.
    reports_role = logical_id(example_stack, "ReportsTask/ExecutionRole/Resource")
    assert_trust_has_conditions(resources[reports_role]["Properties"])
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            assert {"Ref": reports_role} not in resource["Properties"].get("Roles", [])
    # Six execution roles, the seven task roles aws-cdk-lib creates for the application and the
    # VPC flow log's role.
    template.resource_count_is("AWS::IAM::Role", 14)


def test_api_role_names_exactly_its_resources(example_stack: cdk.Stack, template: Template) -> None:
    api_role = logical_id(example_stack, "ApiExecutionRole/Resource/Resource")
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": api_role}],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like({"Sid": "EcrAuthorizationToken", "Resource": "*"}),
                    Match.object_like(
                        {
                            "Sid": "EcrImagePull",
                            "Resource": {
                                "Fn::GetAtt": [
                                    logical_id(example_stack, "ApiRepository/Resource"),
                                    "Arn",
                                ]
                            },
                        }
                    ),
                    Match.object_like({"Sid": "LogsWrite"}),
                    Match.object_like(
                        {
                            "Sid": "SecretsRead",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": {"Ref": logical_id(example_stack, "ApiSecret/Resource")},
                        }
                    ),
                    Match.object_like({"Sid": "ParametersRead", "Action": "ssm:GetParameters"}),
                    Match.object_like(
                        {"Sid": "KmsDecryptViaSecretsManager", "Action": "kms:Decrypt"}
                    ),
                ],
            },
        },
    )


def test_shared_role_names_both_workers(example_stack: cdk.Stack, template: Template) -> None:
    workers_role = logical_id(example_stack, "WorkersExecutionRole/Resource/Resource")
    repositories = [
        {"Fn::GetAtt": [logical_id(example_stack, f"{w}/Resource"), "Arn"]}
        for w in ("WorkerARepository", "WorkerBRepository")
    ]
    policies = template.find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": workers_role}]}}
    )
    (policy,) = policies.values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    # Resources are sorted by their resolved form, so compare as sets.
    pulled = statements["EcrImagePull"]["Resource"]
    assert sorted(map(json.dumps, pulled)) == sorted(map(json.dumps, repositories))
    assert len(statements["LogsWrite"]["Resource"]) == 2
    assert len(statements["SecretsRead"]["Resource"]) == 2


def test_demo_role_is_the_managed_policy_plus_its_secret(
    example_stack: cdk.Stack, template: Template
) -> None:
    demo_role = logical_id(example_stack, "DemoExecutionRole/Resource/Resource")
    properties = template.to_json()["Resources"][demo_role]["Properties"]
    (arn,) = properties["ManagedPolicyArns"]
    assert arn["Fn::Join"][1][-1] == STARTER_POLICY_SUFFIX
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": demo_role}],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like({"Sid": "SecretsRead"}),
                    Match.object_like({"Sid": "KmsDecryptViaSecretsManager"}),
                ]
            },
        },
    )


def test_containers_use_their_resources(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": "api",
                        "LogConfiguration": Match.object_like({"LogDriver": "awslogs"}),
                        "Secrets": [
                            {"Name": "DB_PASSWORD", "ValueFrom": Match.any_value()},
                            {"Name": "DB_HOST", "ValueFrom": Match.any_value()},
                        ],
                    }
                )
            ]
        },
    )


# -- scripts/compare.py -----------------------------------------------------------------------


def load_compare() -> ModuleType:
    from scripts import compare

    return compare


def test_compare_measures_peers_and_constructs(tmp_path: Path) -> None:
    compare = load_compare()
    measurements, report = compare.run(tmp_path / "cdk.out")
    by_label = {m.label: m for m in measurements}
    auto = by_label["aws-cdk-lib automatic role"]
    managed = by_label["AWS managed policy role"]
    assert not auto.trust_conditions and auto.policy_forms == ("inline",)
    assert "secretsmanager:DescribeSecret" in auto.actions
    assert len(auto.findings) > 0 and len(managed.findings) > len(auto.findings)
    for label in (
        "StarterExecutionRole",
        "MinimalExecutionRole",
        "SharedExecutionRole",
        "aws-cdk-lib automatic role + HardenExecutionRoles",
        "AWS managed policy role + HardenExecutionRoles",
    ):
        ours = by_label[label]
        assert ours.trust_conditions
        assert ours.findings == ()
        assert "secretsmanager:DescribeSecret" not in ours.actions
        assert "inline" not in ours.policy_forms
    assert by_label["MinimalExecutionRole"].actions_on_star == ("ecr:GetAuthorizationToken",)
    # Hardened in place, the AWS managed policy role is what derivation computes, as is
    # aws-cdk-lib's role; the unhardened stacks beside them are measured as they are.
    hardened = by_label["AWS managed policy role + HardenExecutionRoles"]
    assert hardened.actions == by_label["MinimalExecutionRole, derived (no props)"].actions
    assert hardened.actions_on_star == ("ecr:GetAuthorizationToken",)
    assert "AWS managed" in managed.policy_forms and "inline" in managed.policy_forms
    # The Batch job: aws-cdk-lib's role allows Batch's whole default log group and
    # DescribeSecret; hardened (and derived), the streams under the job definition's name.
    batch_auto = by_label["aws-cdk-lib Batch container role"]
    assert batch_auto.job and not batch_auto.trust_conditions
    assert "secretsmanager:DescribeSecret" in batch_auto.actions
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/batch/job"
    assert batch_auto.actions["logs:PutLogEvents"] == (f"{group}:*",)
    batch_hardened = by_label["aws-cdk-lib Batch container role + HardenExecutionRoles"]
    assert batch_hardened.actions["logs:PutLogEvents"] == (f"{group}:log-stream:api-batch/*",)
    assert "secretsmanager:DescribeSecret" not in batch_hardened.actions
    assert batch_hardened.findings == ()
    # No trust conditions for a role Batch uses (README, "Trust conditions").
    assert not batch_hardened.trust_conditions
    batch_derived = by_label["MinimalExecutionRole for the job, derived (no props)"]
    assert batch_derived.actions == batch_hardened.actions
    # The audit of each role, from the same templates: derived and hardened roles are clean;
    # a role naming the log group in props without a stream prefix writes to all its streams
    # (two excess actions); the starter's AWS managed policy, and the peers, show theirs.
    audited = {m.label: dict(m.audit) for m in measurements}
    clean = dict.fromkeys(("missing", "excess", "trust", "inline", "unverified"), 0)
    for label in (
        "MinimalExecutionRole, derived (no props)",
        "MinimalExecutionRole for the job, derived (no props)",
        "aws-cdk-lib automatic role + HardenExecutionRoles",
        "AWS managed policy role + HardenExecutionRoles",
        "aws-cdk-lib Batch container role + HardenExecutionRoles",
    ):
        assert audited[label] == clean, label
    for label in ("MinimalExecutionRole", "SharedExecutionRole"):
        assert audited[label] == {**clean, "excess": 2}, label
    assert audited["StarterExecutionRole"] == {**clean, "excess": 5}
    for label in ("aws-cdk-lib automatic role", "AWS managed policy role"):
        assert audited[label]["missing"] == 0
        assert min(audited[label][c] for c in ("excess", "trust", "inline")) > 0, label
    text = compare.markdown(measurements, report)
    assert text.startswith("## Execution roles for one service")
    assert "## Execution roles for one AWS Batch job" in text
    assert str(tmp_path) not in text


def test_web_image_comes_from_the_bootstrap_repository(
    example_stack: cdk.Stack, template: Template
) -> None:
    web_role = logical_id(example_stack, "WebExecutionRole/Resource/Resource")
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": web_role}]
    ]
    (policy,) = policies
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "S3FilesRead",
        "S3FilesBucketLocation",
    }
    pull = json.dumps(statements["EcrImagePull"]["Resource"])
    assert "container-assets" in pull and "repository/*" not in pull
    assert json.dumps(statements["LogsWrite"]["Resource"]).endswith(':log-stream:web/*"]]}')


def test_store_role_is_derived_from_the_pattern_it_serves(
    example_stack: cdk.Stack, template: Template
) -> None:
    store_role = logical_id(example_stack, "StoreExecutionRole/Resource/Resource")
    (policy,) = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": store_role}]
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert list(statements) == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "KmsDecryptViaSecretsManager",
    ]
    repository = logical_id(example_stack, "StoreRepository/Resource")
    assert statements["EcrImagePull"]["Resource"] == {"Fn::GetAtt": [repository, "Arn"]}
    # The log group the pattern creates, under the stream prefix the pattern gives.
    log_group = logical_id(example_stack, "Store/TaskDef/web/LogGroup/Resource")
    logs_write = json.dumps(statements["LogsWrite"]["Resource"])
    assert f'{{"Ref": "{log_group}"}}, ":log-stream:Store/*"' in logs_write
    secret = logical_id(example_stack, "StoreSecret/Resource")
    assert statements["SecretsRead"]["Resource"] == {"Ref": secret}
    key = logical_id(example_stack, "DataKey/Resource")
    assert statements["KmsDecryptViaSecretsManager"]["Resource"] == {"Fn::GetAtt": [key, "Arn"]}


def _statements_by_sid(template: dict[str, Any], role_id: str) -> dict[str, Any]:
    """The statements, by Sid, of the one managed policy attached to the role only."""
    (policy,) = [
        properties
        for _, properties in by_path(template, "AWS::IAM::ManagedPolicy").values()
        if properties["Roles"] == [{"Ref": role_id}]
    ]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_the_stages_task_definition_is_hardened_by_the_aspect_inside_the_stage() -> None:
    # Path metadata, as the CDK CLI asks for it.
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    app = example.build_app(app, env=cdk.Environment(account=ACCOUNT, region=REGION))
    stage = app.node.find_child("Staging")
    assert isinstance(stage, example.JobsStage)
    stack = stage.node.find_child("Jobs")
    assert isinstance(stack, cdk.Stack)
    template = stage.synth().get_stack_by_name("Staging-Jobs").template
    roles = by_path(template, "AWS::IAM::Role")
    # Paths below the stage: the stack first.
    role_id, role = roles["Jobs/NightlyTask/ExecutionRole/Resource"]
    assert_trust_has_conditions(role)
    # aws-cdk-lib's DefaultPolicy is gone; the managed policy names the job's resources.
    assert not by_path(template, "AWS::IAM::Policy")
    statements = _statements_by_sid(template, role_id)
    assert list(statements) == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "KmsDecryptViaSecretsManager",
    ]
    repository = logical_id(stack, "NightlyRepository/Resource")
    assert statements["EcrImagePull"]["Resource"] == {"Fn::GetAtt": [repository, "Arn"]}
    logs_write = json.dumps(statements["LogsWrite"]["Resource"])
    assert ':log-stream:nightly/*"' in logs_write

    # The role the app made for the cleanup job: its AWS managed policy is replaced.
    cleanup_id, cleanup = roles["Jobs/CleanupExecutionRole/Resource"]
    assert cleanup_id == logical_id(stack, "CleanupExecutionRole/Resource")
    assert_trust_has_conditions(cleanup)
    assert "ManagedPolicyArns" not in cleanup
    statements = _statements_by_sid(template, cleanup_id)
    assert list(statements) == ["EcrAuthorizationToken", "EcrImagePull", "LogsWrite"]
    assert statements["EcrImagePull"]["Resource"] == {"Fn::GetAtt": [repository, "Arn"]}
    assert ':log-stream:cleanup/*"' in json.dumps(statements["LogsWrite"]["Resource"])

    # The role aws-cdk-lib made for the Batch job's container: Batch's default log group,
    # under the job definition's name (aws-cdk-lib: the whole group); no trust conditions.
    compaction_id, compaction = roles["Jobs/Compaction/ExecutionRole/Resource"]
    (trust,) = compaction["AssumeRolePolicyDocument"]["Statement"]
    assert "Condition" not in trust
    statements = _statements_by_sid(template, compaction_id)
    assert list(statements) == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "KmsDecryptViaSecretsManager",
    ]
    assert statements["LogsWrite"]["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":logs:{REGION}:{ACCOUNT}:log-group:/aws/batch/job:log-stream:compaction/*",
            ],
        ]
    }
    assert statements["SecretsRead"]["Action"] == "secretsmanager:GetSecretValue"
