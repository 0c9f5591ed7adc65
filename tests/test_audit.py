"""The audit of cloud assemblies synthesized here: aws-cdk-lib's own roles, a hand-written
role with the AWS managed policy and wildcards, the library's constructs, and the same app
written in JavaScript (synthesized with Node and aws-cdk-lib from npm)."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._audit import RoleAudit, audit
from ecs_exec_roles._evaluate import Decision, Evaluator, Request, statements_of
from ecs_exec_roles._sources import load_paths
from testkit.js_app import JsAppError, synth_js_app, synth_python_twin

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _findings(roles: list[RoleAudit]) -> dict[str, list[str]]:
    return {role.role: [finding.rule for finding in role.findings] for role in roles}


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> list[RoleAudit]:
    return audit(load_paths([str(synth_python_twin(tmp_path_factory.mktemp("twin")))]))


def test_aws_cdk_libs_own_role_and_a_hand_written_one(twin: list[RoleAudit]) -> None:
    found = _findings(twin)
    web = found["JsAudit/Web/ExecutionRole"]
    assert "ExcessAction[secretsmanager:DescribeSecret]" in web
    assert "TrustWithoutConditions[aws:SourceAccount, aws:SourceArn]" in web
    assert "InlinePolicy[JsAudit/Web/ExecutionRole/DefaultPolicy]" in web
    assert [rule for rule in web if rule.startswith("Missing")] == []
    hand = found["JsAudit/HandRole"]
    # aws-cdk-lib never grants the environment file's read: the launch would fail.
    assert [rule.split("::")[0] for rule in hand if rule.startswith("Missing")] == [
        "MissingPermission[s3:GetObject",
        "MissingPermission[s3:GetBucketLocation",
    ]
    assert "ExcessResource[secretsmanager:GetSecretValue::*]" in hand
    assert "ExcessResource[ecr:BatchGetImage::*]" in hand  # the AWS managed policy


def test_the_recommended_policies_allow_every_need_and_nothing_the_role_lacks(
    twin: list[RoleAudit],
) -> None:
    for role in twin:
        evaluator = Evaluator([role.policy])
        assert evaluator.evaluate(Request("secretsmanager:DescribeSecret", "*")) is (
            Decision.IMPLICIT_DENY
        )
        # Every missing request is allowed by the recommendation.
        for finding in role.findings:
            if finding.rule.startswith("MissingPermission["):
                actions, resource = finding.rule[len("MissingPermission[") : -1].split("::", 1)
                for action in actions.split(", "):
                    decision = evaluator.evaluate(
                        Request(action, resource, {"aws:ResourceAccount": "123456789012"})
                    )
                    assert decision is Decision.ALLOW, (role.role, action)


def _library_app(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Lib", env=ENV)
    repo = ecr.Repository(stack, "Repo")
    secret = secretsmanager.Secret(stack, "Db")
    group = logs.LogGroup(stack, "Logs")

    def task(name: str, role: object = None) -> ecs.FargateTaskDefinition:
        definition = ecs.FargateTaskDefinition(stack, name, execution_role=role)  # type: ignore[arg-type]
        definition.add_container(
            "app",
            image=ecs.ContainerImage.from_ecr_repository(repo, "1"),
            logging=ecs.LogDrivers.aws_logs(log_group=group, stream_prefix=name.lower()),
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        )
        return definition

    task("Minimal", MinimalExecutionRole(stack, "MinimalRole", derive=True))
    shared = SharedExecutionRole(stack, "SharedRole", derive=True)
    task("SharedA", shared)
    task("SharedB", shared)
    task(
        "Starter",
        StarterExecutionRole(stack, "StarterRole", secrets=[secret]),
    )
    task("Default")
    cdk.Aspects.of(stack).add(HardenExecutionRoles())
    app.synth()
    return outdir


def test_the_librarys_roles_audit_clean_and_the_starter_shows_its_managed_policy(
    tmp_path: Path,
) -> None:
    found = _findings(audit(load_paths([str(_library_app(tmp_path))])))
    starter = found.pop("Lib/StarterRole/Resource")
    assert found == {
        "Lib/MinimalRole/Resource": [],
        "Lib/SharedRole/Resource": [],
        "Lib/Default/ExecutionRole": [],
    }
    # By design: AmazonECSTaskExecutionRolePolicy pulls and writes logs on every resource.
    assert sorted(rule.split("::")[0] for rule in starter) == [
        "ExcessResource[ecr:BatchCheckLayerAvailability",
        "ExcessResource[ecr:BatchGetImage",
        "ExcessResource[ecr:GetDownloadUrlForLayer",
        "ExcessResource[logs:CreateLogStream",
        "ExcessResource[logs:PutLogEvents",
    ]


def test_the_recommended_policy_is_what_the_constructs_write(tmp_path: Path) -> None:
    assembly = _library_app(tmp_path)
    roles = {role.role: role for role in audit(load_paths([str(assembly)]))}
    template = json.loads((assembly / "Lib.template.json").read_text())
    written = [
        statement
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("MinimalRole")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    recommended = statements_of(roles["Lib/MinimalRole/Resource"].policy)
    assert [(s["Sid"], s["Action"]) for s in recommended] == [
        (s["Sid"], s["Action"]) for s in written
    ]


def test_the_javascript_app_gives_the_same_findings_as_its_python_twin(
    tmp_path: Path, twin: list[RoleAudit]
) -> None:
    try:
        assembly = synth_js_app(tmp_path / "js")
    except JsAppError as error:  # pragma: no cover - a set-up failure, shown as such
        pytest.fail(str(error))
    javascript = audit(load_paths([str(assembly)]))
    assert _findings(javascript) == _findings(twin)
    assert [role.policy for role in javascript] == [role.policy for role in twin]
