"""Reading a synthesized cloud assembly (``_assembly.load_assembly``): each stack's construct
path and environment from its manifest, the stacks of stages, nested stacks through their
stack's assets manifest, and the construct path of each resource from ``tree.json`` or, without
it, from the ``aws:cdk:path`` metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_sqs as sqs

from ecs_exec_roles._assembly import Assembly, load_assembly
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STAGE_REGION = "us-east-1"


def _synth(app: cdk.App) -> list[str]:
    return [stack.template_full_path for stack in app.synth().stacks_recursively]


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="module")
def paths(outdir: Path) -> list[str]:
    """The templates of an app with a concrete and an environment-agnostic stack, a stage,
    and two levels of nested stacks."""
    app = cdk.App(outdir=str(outdir))
    top = cdk.Stack(app, "S", env=cdk.Environment(account=ACCOUNT, region=REGION))
    queue = sqs.Queue(top, "Queue")
    repo = ecr.Repository(top, "Repo", repository_name="app")
    cdk.CfnOutput(top, "Uri", value=repo.repository_uri_for_tag("latest"))
    nested = cdk.NestedStack(top, "N")
    sqs.Queue(nested, "Inner")
    cdk.CfnOutput(nested, "QName", value=queue.queue_name)
    deeper = cdk.NestedStack(nested, "NN")
    sqs.Queue(deeper, "Deep")
    cdk.CfnOutput(deeper, "Url", value=queue.queue_url)
    sqs.Queue(cdk.Stack(app, "Agnostic"), "Q")
    stage = cdk.Stage(app, "Stage", env=cdk.Environment(account=ACCOUNT, region=STAGE_REGION))
    sqs.Queue(cdk.Stack(stage, "Stack"), "Q")
    return _synth(app)


@pytest.fixture(scope="module")
def assembly(paths: list[str]) -> Assembly:
    return load_assembly(paths)


def by_stack_path(assembly: Assembly, stack_path: str) -> Template:
    (found,) = (t for t in assembly.templates if t.stack_path == stack_path)
    return found


def logical_id(template: Template, prefix: str) -> str:
    (found,) = (key for key in template.resources if key.startswith(prefix))
    return found


# -- stacks -------------------------------------------------------------------------------------


def test_every_template_is_read_with_those_of_its_nested_stacks(assembly: Assembly) -> None:
    assert sorted(t.stack_path for t in assembly.templates) == [
        "Agnostic",
        "S",
        "S/N",
        "S/N/NN",
        "Stage/Stack",
    ]
    assert all(t.resources for t in assembly.templates)


@pytest.mark.parametrize(
    ("stack_path", "directory", "account", "region"),
    [
        ("S", ".", ACCOUNT, REGION),
        ("Agnostic", ".", None, None),
        ("Stage/Stack", "assembly-Stage", ACCOUNT, STAGE_REGION),
    ],
)
def test_a_stack_s_path_and_environment_come_from_its_manifest(
    assembly: Assembly,
    paths: list[str],
    outdir: Path,
    stack_path: str,
    directory: str,
    account: str | None,
    region: str | None,
) -> None:
    template = by_stack_path(assembly, stack_path)
    assert template.path in paths
    assert Path(template.path).parent == outdir / directory
    assert (template.account, template.region) == (account, region)
    assert template.parent is None
    assert template.parent_resource == ""


@pytest.mark.parametrize(
    ("stack_path", "parent_path", "resource_prefix"),
    [
        ("S/N", "S", "NNestedStackNNestedStackResource"),
        ("S/N/NN", "S/N", "NNNestedStackNNNestedStackResource"),
    ],
)
def test_a_nested_stack_is_linked_to_the_resource_that_makes_it(
    assembly: Assembly, stack_path: str, parent_path: str, resource_prefix: str
) -> None:
    child = by_stack_path(assembly, stack_path)
    parent = by_stack_path(assembly, parent_path)
    assert child.parent is parent
    assert child.parent_resource == logical_id(parent, resource_prefix)
    assert parent.children == {child.parent_resource: child}
    assert parent.resource_type(child.parent_resource) == "AWS::CloudFormation::Stack"
    assert child.path.endswith(".nested.template.json")
    assert os.path.dirname(child.path) == os.path.dirname(parent.path)
    assert (child.account, child.region) == (ACCOUNT, REGION)


@pytest.mark.parametrize(
    ("construct_path", "stack_path", "prefix"),
    [
        ("S/Queue/Resource", "S", "Queue"),
        ("S/Repo/Resource", "S", "Repo"),
        ("S/N/Inner/Resource", "S/N", "Inner"),
        ("S/N/NN/Deep/Resource", "S/N/NN", "Deep"),
        ("S/N.NestedStack/N.NestedStackResource", "S", "NNestedStack"),
        ("S/N/NN.NestedStack/NN.NestedStackResource", "S/N", "NNNestedStack"),
        ("Agnostic/Q/Resource", "Agnostic", "Q"),
        ("Stage/Stack/Q/Resource", "Stage/Stack", "Q"),
    ],
)
def test_by_path_maps_construct_paths_to_resources(
    assembly: Assembly, construct_path: str, stack_path: str, prefix: str
) -> None:
    template = by_stack_path(assembly, stack_path)
    expected = logical_id(template, prefix)
    assert assembly.by_path[construct_path] == (template, expected)
    assert assembly.path_of(template, expected) == construct_path


def test_only_resources_are_named(assembly: Assembly) -> None:
    for construct_path, (template, found) in assembly.by_path.items():
        assert found in template.resources, construct_path
        assert construct_path.startswith(f"{template.stack_path}/")
    assert "S/Uri" not in assembly.by_path
    assert "S/N/QName" not in assembly.by_path


def test_the_unknowns_of_a_nested_resource_are_labelled_by_its_construct_path(
    assembly: Assembly,
) -> None:
    nested = by_stack_path(assembly, "S/N/NN")
    text = assembly.resolve(nested, {"Fn::GetAtt": [logical_id(nested, "Deep"), "Arn"]})
    assert assembly.symbols.display(text) == "<S/N/NN/Deep.Arn>"


# -- values across stacks -----------------------------------------------------------------------


def test_a_nested_stack_s_parameter_is_the_parent_s_value(assembly: Assembly) -> None:
    top = by_stack_path(assembly, "S")
    nested, deeper = by_stack_path(assembly, "S/N"), by_stack_path(assembly, "S/N/NN")
    queue = logical_id(top, "Queue")
    queue_name = assembly.resolve(top, {"Fn::GetAtt": [queue, "QueueName"]})
    queue_url = assembly.resolve(top, {"Ref": queue})
    assert assembly.symbols.unknown(queue_url) is not None
    (name_parameter,) = (p for p in nested.parameters if p.endswith("QueueName"))
    assert name_parameter.startswith("referencetoS")
    assert assembly.resolve(nested, {"Ref": name_parameter}) == queue_name
    assert assembly.resolve(nested, nested.outputs["QName"]["Value"]) == queue_name
    # Passed on by the first nested stack to the second.
    assert assembly.resolve(deeper, deeper.outputs["Url"]["Value"]) == queue_url
    resource = nested.parent_resource
    assert assembly.resolve(top, {"Fn::GetAtt": [resource, "Outputs.QName"]}) == queue_name


def test_repository_uri_for_tag_is_literal_in_a_concrete_environment(
    assembly: Assembly,
) -> None:
    top = by_stack_path(assembly, "S")
    uri = assembly.text(top, top.outputs["Uri"]["Value"])
    assert uri == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:latest"


def test_stacks_of_one_region_read_the_bootstrap_version_as_one_ssm_parameter(
    assembly: Assembly,
) -> None:
    by_region: dict[str | None, set[str]] = {}
    for template in assembly.templates:
        if template.parent is None:
            text = assembly.resolve(template, {"Ref": "BootstrapVersion"})
            by_region.setdefault(template.region, set()).add(text)
    for texts in by_region.values():
        (text,) = texts
        unknown = assembly.symbols.unknown(text)
        assert unknown is not None
        assert unknown.ssm_parameter == "/cdk-bootstrap/hnb659fds/version"
    # Parameters are regional: each region's value is its own.
    assert len({text for texts in by_region.values() for text in texts}) == len(by_region)


# -- without the construct tree -----------------------------------------------------------------


def test_without_a_tree_the_path_metadata_names_the_resources(tmp_path: Path) -> None:
    app = cdk.App(
        outdir=str(tmp_path),
        tree_metadata=False,
        context={"aws:cdk:enable-path-metadata": True},
    )
    stack = cdk.Stack(app, "S")
    sqs.Queue(stack, "Queue")
    sqs.Queue(cdk.NestedStack(stack, "N"), "Inner")
    paths = _synth(app)
    assert not (tmp_path / "tree.json").exists()
    assembly = load_assembly(paths)
    top = by_stack_path(assembly, "S")
    (nested,) = top.children.values()
    assert assembly.by_path["S/Queue/Resource"] == (top, logical_id(top, "Queue"))
    assert assembly.by_path["S/N/Inner/Resource"] == (nested, logical_id(nested, "Inner"))
    text = assembly.resolve(nested, {"Ref": logical_id(nested, "Inner")})
    assert assembly.symbols.display(text) == "<S/N/Inner>"


def test_without_a_tree_or_path_metadata_no_resource_is_named(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), tree_metadata=False)
    sqs.Queue(cdk.Stack(app, "S"), "Queue")
    assembly = load_assembly(_synth(app))
    assert assembly.by_path == {}
    (template,) = assembly.templates
    assert template.stack_path == "S"
    text = assembly.resolve(template, {"Ref": logical_id(template, "Queue")})
    assert assembly.symbols.display(text) == f"<{logical_id(template, 'Queue')}>"


# -- assemblies written by hand -----------------------------------------------------------------


def _write(path: Path, content: Any) -> str:
    path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def _manifest(directory: Path, **artifacts: Any) -> None:
    _write(directory / "manifest.json", {"version": "1", "artifacts": artifacts})


def _stack_artifact(template_file: str, environment: str, display_name: str) -> dict[str, Any]:
    return {
        "type": "aws:cloudformation:stack",
        "environment": environment,
        "properties": {"templateFile": template_file},
        "displayName": display_name,
    }


@pytest.mark.parametrize(
    ("environment", "account", "region"),
    [
        (f"aws://{ACCOUNT}/{REGION}", ACCOUNT, REGION),
        ("aws://unknown-account/unknown-region", None, None),
        (f"aws://{ACCOUNT}/unknown-region", ACCOUNT, None),
        (f"aws://unknown-account/{REGION}", None, REGION),
        ("", None, None),
    ],
)
def test_the_environment_of_a_manifest_may_be_partly_unknown(
    tmp_path: Path, environment: str, account: str | None, region: str | None
) -> None:
    _manifest(tmp_path, Hand=_stack_artifact("Hand.template.json", environment, "Group/Hand"))
    path = _write(tmp_path / "Hand.template.json", {"Resources": {}})
    (template,) = load_assembly([path]).templates
    assert (template.stack_path, template.account, template.region) == (
        "Group/Hand",
        account,
        region,
    )


@pytest.mark.parametrize("manifest", [True, False], ids=["not-listed", "no-manifest"])
def test_a_template_no_manifest_lists_has_no_stack_path(tmp_path: Path, manifest: bool) -> None:
    if manifest:
        _manifest(tmp_path, Other=_stack_artifact("Other.template.json", "", "Other"))
    path = _write(tmp_path / "Hand.template.json", {"Resources": {"Q": {"Type": "X"}}})
    (template,) = load_assembly([path]).templates
    assert (template.path, template.stack_path, template.account, template.region) == (
        path,
        "",
        None,
        None,
    )
    assert template.resources == {"Q": {"Type": "X"}}


def test_a_nested_template_is_found_by_its_asset_path_metadata(tmp_path: Path) -> None:
    _manifest(tmp_path, P=_stack_artifact("P.template.json", f"aws://{ACCOUNT}/{REGION}", "P"))
    _write(
        tmp_path / "PChild.nested.template.json",
        {"Resources": {"Inner": {"Type": "AWS::SQS::Queue"}}},
    )
    path = _write(
        tmp_path / "P.template.json",
        {
            "Resources": {
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Metadata": {"aws:asset:path": "PChild.nested.template.json"},
                    "Properties": {"TemplateURL": "https://example.com/x.json"},
                },
                "Missing": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://example.com/y.json"},
                },
            }
        },
    )
    top, child = load_assembly([path]).templates
    assert child.parent is top
    assert child.parent_resource == "Child"
    assert child.path == str(tmp_path / "PChild.nested.template.json")
    assert (child.account, child.region) == (ACCOUNT, REGION)
    assert list(top.children) == ["Child"]
