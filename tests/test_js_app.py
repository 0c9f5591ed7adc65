"""The JavaScript test app (tests/js_app/app.js, Node and aws-cdk-lib from npm) and its Python
twin (tests/js_app/app.py) synthesize the same template, so that what is found in one cloud
assembly can be expected in the other.

scripts/setup.sh installs the npm aws-cdk-lib of the version .venv has from PyPI; in the
floor run (scripts/test_floor.sh) the Python side is the floor release instead, and the
templates are still expected to match.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import pytest

from testkit.js_app import JS_CDK, JsAppError, synth_js_app

STACK = "JsAudit"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# What the two synthesis runs may legitimately write differently.
METADATA_KEYS = ("aws:cdk:path",)
METADATA_PREFIXES = ("aws:asset:",)

Template = dict[str, Any]


def _template(assembly: Path, stack: str = STACK) -> Template:
    manifest = json.loads((assembly / "manifest.json").read_text())
    artifact = manifest["artifacts"][stack]
    assert artifact["type"] == "aws:cloudformation:stack"
    template: Template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
    return template


def _without_hashes(value: Any) -> Any:
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    if isinstance(value, list):
        return [_without_hashes(item) for item in value]
    if isinstance(value, dict):
        return {_without_hashes(key): _without_hashes(item) for key, item in value.items()}
    return value


def normalize(template: Template) -> Template:
    """The template less asset hashes, CDK metadata and the bootstrap version check."""
    template = copy.deepcopy(template)
    resources = template.get("Resources", {})
    for logical_id in [i for i, r in resources.items() if r.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    for resource in resources.values():
        metadata = resource.get("Metadata")
        if metadata is None:
            continue
        for key in list(metadata):
            if key in METADATA_KEYS or key.startswith(METADATA_PREFIXES):
                del metadata[key]
        if not metadata:
            del resource["Metadata"]
    for section, name in (
        ("Conditions", "CDKMetadataAvailable"),
        ("Parameters", "BootstrapVersion"),
        ("Rules", "CheckBootstrapVersion"),
    ):
        template.get(section, {}).pop(name, None)
        if section in template and not template[section]:
            del template[section]
    normalized: Template = _without_hashes(template)
    return normalized


def _of_type(template: Template, *types: str) -> dict[str, Any]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in types
    }


@pytest.fixture(scope="session")
def js_template(js_assembly: Path) -> Template:
    return normalize(_template(js_assembly))


@pytest.fixture(scope="session")
def py_template(twin_assembly: Path) -> Template:
    return normalize(_template(twin_assembly))


def _versions() -> str:
    stamp = JS_CDK / "version"
    npm = stamp.read_text().strip() if stamp.exists() else "?"
    python = importlib.metadata.version("aws-cdk-lib")
    return f"npm aws-cdk-lib and constructs {npm}; Python aws-cdk-lib {python}"


def test_same_resources(js_template: Template, py_template: Template) -> None:
    def types(template: Template) -> dict[str, str]:
        return {i: r["Type"] for i, r in template["Resources"].items()}

    assert types(js_template) == types(py_template), _versions()


def test_same_container_definitions(js_template: Template, py_template: Template) -> None:
    def containers(template: Template) -> dict[str, Any]:
        return {
            i: p["ContainerDefinitions"]
            for i, p in _of_type(template, "AWS::ECS::TaskDefinition").items()
        }

    assert containers(js_template) == containers(py_template), _versions()


def test_same_roles_and_policies(js_template: Template, py_template: Template) -> None:
    kinds = ("AWS::IAM::Role", "AWS::IAM::Policy")
    assert _of_type(js_template, *kinds) == _of_type(py_template, *kinds), _versions()


def test_same_template(js_template: Template, py_template: Template) -> None:
    assert js_template == py_template, _versions()


def test_the_app_has_what_the_audit_looks_at(js_template: Template) -> None:
    task_definitions = _of_type(js_template, "AWS::ECS::TaskDefinition")
    roles = _of_type(js_template, "AWS::IAM::Role")
    assert len(task_definitions) == 2
    by_container = {p["ContainerDefinitions"][0]["Name"]: p for p in task_definitions.values()}
    # The hand-written role: the worker's execution role, trusted without conditions, with
    # the AWS managed policy and an inline policy on every resource.
    hand = next(i for i in roles if i.startswith("HandRole"))
    assert by_container["worker"]["ExecutionRoleArn"] == {"Fn::GetAtt": [hand, "Arn"]}
    (trust,) = roles[hand]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    }
    assert "AmazonECSTaskExecutionRolePolicy" in json.dumps(roles[hand]["ManagedPolicyArns"])
    (inline,) = roles[hand]["Policies"]
    assert inline["PolicyDocument"]["Statement"] == [
        {
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
    worker = by_container["worker"]["ContainerDefinitions"][0]
    assert [s["Name"] for s in worker["Secrets"]] == ["TOKEN"]
    assert "parameter/app/token" in json.dumps(worker["Secrets"])
    assert worker["EnvironmentFiles"][0]["Type"] == "s3"
    # The web task definition's execution role is the one aws-cdk-lib makes.
    web_role = by_container["web"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert web_role.startswith("WebExecutionRole")


def test_normalize_drops_what_legitimately_differs() -> None:
    digest = "a" * 64
    template: Template = {
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:x"}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:cdk:path": "S/Fn", "aws:asset:path": "asset.x", "Keep": 1},
                "Properties": {"Code": {"S3Key": f"{digest}.zip"}},
            },
        },
        "Conditions": {"CDKMetadataAvailable": {}},
        "Parameters": {"BootstrapVersion": {}},
        "Rules": {"CheckBootstrapVersion": {}},
    }
    assert normalize(template) == {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"Keep": 1},
                "Properties": {"Code": {"S3Key": "<asset-hash>.zip"}},
            }
        }
    }


def test_a_failing_app_raises_with_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "js_app"
    broken.mkdir()
    (broken / "app.js").write_text('throw new Error("no such construct");\n')
    monkeypatch.setattr("testkit.js_app.JS_APP", broken)
    with pytest.raises(JsAppError, match="no such construct"):
        synth_js_app(tmp_path / "out")
