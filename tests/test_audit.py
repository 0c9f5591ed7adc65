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
from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._audit import RoleAudit, audit
from ecs_exec_roles._evaluate import Decision, Evaluator, Request, statements_of
from ecs_exec_roles._sources import load_paths

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _findings(roles: list[RoleAudit]) -> dict[str, list[str]]:
    return {role.role: [finding.rule for finding in role.findings] for role in roles}


@pytest.fixture(scope="module")
def twin(twin_assembly: Path) -> list[RoleAudit]:
    return audit(load_paths([str(twin_assembly)]))


@pytest.fixture(scope="module")
def library_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _library_app(tmp_path_factory.mktemp("library"))


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
    library_assembly: Path,
) -> None:
    found = _findings(audit(load_paths([str(library_assembly)])))
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


def test_the_recommended_policy_is_what_the_constructs_write(library_assembly: Path) -> None:
    assembly = library_assembly
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
    js_assembly: Path, twin: list[RoleAudit]
) -> None:
    javascript = audit(load_paths([str(js_assembly)]))
    assert _findings(javascript) == _findings(twin)
    assert [role.policy for role in javascript] == [role.policy for role in twin]


def test_the_counts_the_readme_compares(twin: list[RoleAudit]) -> None:
    from ecs_exec_roles._report import counts

    assert {role.role: counts([role]) for role in twin} == {
        "JsAudit/Web/ExecutionRole": {
            "missing": 0,
            "excess": 3,
            "trust": 1,
            "inline": 1,
            "unverified": 0,
        },
        "JsAudit/HandRole": {"missing": 2, "excess": 13, "trust": 1, "inline": 2, "unverified": 0},
    }


# -- the same app as plain CloudFormation ------------------------------------------------------


class _Tagged:
    """An intrinsic function in YAML's short form (``!Ref x``, ``!GetAtt A.B``...)."""

    def __init__(self, tag: str, value: object) -> None:
        self.tag, self.value = tag, value


def _short_forms(value: object) -> object:
    if isinstance(value, list):
        return [_short_forms(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == "Ref":
            return _Tagged("!Ref", inner)
        if key == "Fn::GetAtt" and isinstance(inner, list):
            return _Tagged("!GetAtt", ".".join(inner))
        if key.startswith("Fn::"):
            return _Tagged("!" + key[4:], _short_forms(inner))
    return {key: _short_forms(item) for key, item in value.items()}


def _yaml(body: dict[str, object]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent(dumper: yaml.SafeDumper, tagged: _Tagged) -> yaml.Node:
        if isinstance(tagged.value, list):
            return dumper.represent_sequence(tagged.tag, tagged.value)
        if isinstance(tagged.value, dict):
            return dumper.represent_mapping(tagged.tag, tagged.value)
        return dumper.represent_scalar(tagged.tag, str(tagged.value))

    Dumper.add_representer(_Tagged, represent)
    return str(yaml.dump(_short_forms(body), Dumper=Dumper, sort_keys=False))


def _plain(body: dict[str, object]) -> dict[str, object]:
    """A synthesized template as a CloudFormation author writes it: no CDK metadata, no
    bootstrap version."""
    resources = {
        logical_id: {key: item for key, item in resource.items() if key != "Metadata"}
        for logical_id, resource in body["Resources"].items()  # type: ignore[attr-defined]
        if resource["Type"] != "AWS::CDK::Metadata"
    }
    return {"Resources": resources}


def _by_logical_id(roles: list[RoleAudit], labels: dict[str, str]) -> dict[str, object]:
    """Each role's findings and recommended policies, with every resource named by its
    logical ID (a cloud assembly names them by construct path, a plain template cannot)."""

    def named(text: str) -> str:
        for label, logical_id in labels.items():
            text = text.replace(f"<{label}>", f"<{logical_id}>")
            text = text.replace(f"[{label}]", f"[{logical_id}]")
        return text

    return {
        role.logical_id: (
            [named(f.rule) for f in role.findings],
            named(json.dumps([role.policy, role.trust])),
        )
        for role in roles
    }


def test_plain_templates_in_json_and_yaml_give_the_same_findings_as_the_app(
    tmp_path: Path, twin_assembly: Path
) -> None:
    assembly_dir = twin_assembly
    assembly = load_paths([str(assembly_dir)])
    labels = {
        path.removesuffix("/Resource"): logical_id
        for path, (_, logical_id) in sorted(assembly.by_path.items(), key=lambda i: -len(i[0]))
    }
    expected = _by_logical_id(audit(assembly), labels)
    body = _plain(json.loads((assembly_dir / "JsAudit.template.json").read_text()))
    # The environment is what the stack's manifest gave; a template alone has none.
    plain_json, plain_yaml = tmp_path / "service.json", tmp_path / "service.yaml"
    plain_json.write_text(json.dumps(body, indent=1))
    plain_yaml.write_text(_yaml(body))
    assert "!GetAtt" in plain_yaml.read_text() and "!Join" in plain_yaml.read_text()
    for path in (plain_json, plain_yaml):
        template = load_paths([str(path)]).templates[0]
        template.account, template.region = "123456789012", "eu-west-1"
        assert _by_logical_id(audit(Assembly([template])), {}) == expected, path.name
