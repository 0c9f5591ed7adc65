"""Reading what an audit is given (``_sources.load_paths``): a synthesized cloud assembly with
the stacks of its stages, CloudFormation templates in JSON or in YAML with the short forms of
the functions, both at once, and a one-line error for each input it cannot read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_sqs as sqs

from ecs_exec_roles._errors import ExecutionRoleError
from ecs_exec_roles._sources import AuditInputError, load_paths
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STAGE_REGION = "us-east-1"

_YAML = """\
AWSTemplateFormatVersion: 2010-09-09
Description: Written by hand
Mappings:
  Sizes:
    prod:
      Name: large
Resources:
  Repo:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: app
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - {Key: ref, Value: !Ref Repo}
        - {Key: att, Value: !GetAtt Repo.Arn}
        - {Key: att-list, Value: !GetAtt [Repo, Arn]}
        - {Key: sub, Value: !Sub "${Repo}-queue"}
        - Key: sub-list
          Value: !Sub
            - "${Name}/${Repo}"
            - Name: !Select [1, [small, medium, large]]
        - {Key: join, Value: !Join [":", [images, !Ref Repo, latest]]}
        - {Key: if, Value: !If [IsProd, !Ref Repo, !Ref "AWS::NoValue"]}
        - {Key: select, Value: !Select [0, !Split [",", "a,b"]]}
        - {Key: import, Value: !ImportValue shared-bucket}
        - {Key: map, Value: !FindInMap [Sizes, prod, Name]}
Conditions:
  IsProd: !Equals [!Ref "AWS::Region", eu-west-1]
"""

_EXPORTER = {
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "shared"}}},
    "Outputs": {
        "Name": {"Value": {"Ref": "Bucket"}, "Export": {"Name": "shared-bucket"}},
    },
}


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _tags(template: Template) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in template.properties("Queue")["Tags"]}


# -- template files -----------------------------------------------------------------------------


def test_a_json_template_is_a_stack_named_after_its_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "Shared.template.json", json.dumps(_EXPORTER))
    assembly = load_paths([path])
    (template,) = assembly.templates
    assert template.path == path
    assert load_paths(path).templates[0].body == _EXPORTER  # one path, not its characters
    assert template.body == _EXPORTER
    assert (template.stack_path, template.account, template.region) == ("", None, None)
    assert template.stack_name == "Shared"
    assert assembly.text(template, {"Ref": "Bucket"}) == "shared"
    assert assembly.path_of(template, "Bucket") == ""


def test_yaml_short_forms_are_the_long_forms(tmp_path: Path) -> None:
    (template,) = load_paths([_write(tmp_path / "app.yaml", _YAML)]).templates
    assert template.stack_name == "app"
    assert _tags(template) == {
        "ref": {"Ref": "Repo"},
        "att": {"Fn::GetAtt": "Repo.Arn"},
        "att-list": {"Fn::GetAtt": ["Repo", "Arn"]},
        "sub": {"Fn::Sub": "${Repo}-queue"},
        "sub-list": {
            "Fn::Sub": [
                "${Name}/${Repo}",
                {"Name": {"Fn::Select": [1, ["small", "medium", "large"]]}},
            ]
        },
        "join": {"Fn::Join": [":", ["images", {"Ref": "Repo"}, "latest"]]},
        "if": {"Fn::If": ["IsProd", {"Ref": "Repo"}, {"Ref": "AWS::NoValue"}]},
        "select": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "import": {"Fn::ImportValue": "shared-bucket"},
        "map": {"Fn::FindInMap": ["Sizes", "prod", "Name"]},
    }
    assert template.body["Conditions"] == {
        "IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    }


def test_yaml_values_resolve_as_json_ones_do(tmp_path: Path) -> None:
    exporter = _write(tmp_path / "shared.json", json.dumps(_EXPORTER))
    assembly = load_paths([_write(tmp_path / "app.yaml", _YAML), exporter])
    template, _ = assembly.templates
    tags = _tags(template)
    resolved = {key: assembly.text(template, tags[key]) for key in tags if key != "if"}
    arn = assembly.text(template, tags["att"])
    assert arn is not None
    assert arn.endswith(":repository/app")
    assert resolved == {
        "ref": "app",
        "att": arn,
        "att-list": arn,
        "sub": "app-queue",
        "sub-list": "medium/app",
        "join": "images:app:latest",
        "select": "a",
        "import": "shared",  # the export of the other template given
        "map": "large",
    }


def test_dates_stay_text_and_other_scalars_are_yaml_s(tmp_path: Path) -> None:
    text = (
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Description: !!timestamp 2001-12-14t21:59:43.10-05:00\n"
        "Resources:\n"
        "  Q:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties: {A: yes, B: 12, C: 1.5, D: null, E: '007', F: 2024-01-02 10:00:00}\n"
    )
    (template,) = load_paths([_write(tmp_path / "t.yml", text)]).templates
    assert template.body["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template.body["Description"] == "2001-12-14t21:59:43.10-05:00"
    assert template.properties("Q") == {
        "A": True,
        "B": 12,
        "C": 1.5,
        "D": None,
        "E": "007",
        "F": "2024-01-02 10:00:00",
    }


# Every function with a short form: "!Name" is "Fn::Name".
_FUNCTIONS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "GetAtt",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
    "Length",
    "ToJsonString",
)
_SHORT_FORMS = [
    *((f"!{name}", f"Fn::{name}") for name in _FUNCTIONS),
    ("!Ref", "Ref"),
    ("!Condition", "Condition"),
]


@pytest.mark.parametrize(("tag", "key"), _SHORT_FORMS)
def test_every_short_form_is_its_long_form(tmp_path: Path, tag: str, key: str) -> None:
    text = (
        "Resources: {}\n"
        f"Scalar: {tag} text\n"
        f"Sequence: {tag} [a, 1, !Ref b]\n"
        f"Mapping: {tag} {{k: [v]}}\n"
        f"Quoted: {tag} '2010-09-09'\n"
    )
    (template,) = load_paths([_write(tmp_path / "t.template", text)]).templates
    body = template.body
    assert body["Scalar"] == {key: "text"}
    assert body["Sequence"] == {key: ["a", 1, {"Ref": "b"}]}
    assert body["Mapping"] == {key: {"k": ["v"]}}
    assert body["Quoted"] == {key: "2010-09-09"}
    assert template.stack_name == "t"


def test_a_yaml_flow_mapping_is_read_though_not_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "flow.yaml", "{Resources: {Q: {Type: AWS::SQS::Queue}}}\n")
    (template,) = load_paths([path]).templates
    assert template.resource_type("Q") == "AWS::SQS::Queue"


def test_a_path_given_twice_is_read_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "shared.json", json.dumps(_EXPORTER))
    other = os.path.join(str(tmp_path), ".", "shared.json")
    assert len(load_paths([path, other, path]).templates) == 1


# -- bad input ----------------------------------------------------------------------------------


def _missing(tmp_path: Path) -> str:
    return str(tmp_path / "nowhere.json")


def _empty_directory(tmp_path: Path) -> str:
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty")


def _truncated_json(tmp_path: Path) -> str:
    return _write(tmp_path / "t.json", '{\n  "Resources": {\n    "Q": {"Type": ')


def _truncated_yaml(tmp_path: Path) -> str:
    return _write(tmp_path / "t.yaml", "Resources:\n  Q:\n    Type: [AWS::SQS::Queue\n")


def _unknown_tag(tmp_path: Path) -> str:
    return _write(tmp_path / "t.yaml", "Resources:\n  Q:\n    Type: !Foo bar\n")


def _json_list(tmp_path: Path) -> str:
    return _write(tmp_path / "t.json", '[{"Resources": {}}]')


def _no_resources(tmp_path: Path) -> str:
    return _write(tmp_path / "t.yaml", "AWSTemplateFormatVersion: 2010-09-09\nOutputs: {}\n")


def _resources_not_a_mapping(tmp_path: Path) -> str:
    return _write(tmp_path / "t.yaml", "Resources: [Q]\n")


def _empty_file(tmp_path: Path) -> str:
    return _write(tmp_path / "t.yaml", "")


def _bad_manifest(tmp_path: Path) -> str:
    (tmp_path / "cdk.out").mkdir()
    _write(tmp_path / "cdk.out" / "manifest.json", '{"version": "48.0.0",')
    return str(tmp_path / "cdk.out")


def _no_stacks(tmp_path: Path) -> str:
    (tmp_path / "cdk.out").mkdir()
    manifest = {"artifacts": {"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}
    _write(tmp_path / "cdk.out" / "manifest.json", json.dumps(manifest))
    return str(tmp_path / "cdk.out")


def _stack_template_missing(tmp_path: Path) -> str:
    (tmp_path / "cdk.out").mkdir()
    stack = {"type": "aws:cloudformation:stack", "properties": {"templateFile": "S.json"}}
    _write(tmp_path / "cdk.out" / "manifest.json", json.dumps({"artifacts": {"S": stack}}))
    return str(tmp_path / "cdk.out")


def _stack_template_a_list(tmp_path: Path) -> str:
    _stack_template_missing(tmp_path)
    _write(tmp_path / "cdk.out" / "S.json", "[]")
    return str(tmp_path / "cdk.out")


def _stage_without_manifest(tmp_path: Path) -> str:
    (tmp_path / "cdk.out" / "assembly-Stage").mkdir(parents=True)
    stage = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Stage"}}
    _write(tmp_path / "cdk.out" / "manifest.json", json.dumps({"artifacts": {"Stage": stage}}))
    return str(tmp_path / "cdk.out")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing, "{path}: no such file or directory"),
        (
            _empty_directory,
            "{path}: not a cloud assembly (no manifest.json) and not a template file",
        ),
        (_truncated_json, "{path}: invalid JSON at line 3, column 19: Expecting value"),
        (
            _truncated_yaml,
            "{path}: invalid YAML at line 4: expected ',' or ']', but got '<stream end>'",
        ),
        (_unknown_tag, "{path}: unknown tag !Foo at line 3"),
        (_json_list, "{path}: not a CloudFormation template (no Resources)"),
        (_no_resources, "{path}: not a CloudFormation template (no Resources)"),
        (
            _resources_not_a_mapping,
            "{path}: not a CloudFormation template (Resources is not a mapping)",
        ),
        (_empty_file, "{path}: not a CloudFormation template (no Resources)"),
        (
            _bad_manifest,
            "{path}/manifest.json: invalid JSON at line 1, column 22: "
            "Expecting property name enclosed in double quotes",
        ),
        (_no_stacks, "{path}: cloud assembly has no stacks"),
        (
            _stack_template_missing,
            "{path}/S.json: no such file or directory (listed in {path}/manifest.json)",
        ),
        (_stack_template_a_list, "{path}/S.json: not a CloudFormation template (no Resources)"),
        (_stage_without_manifest, "{path}/assembly-Stage: not a cloud assembly (no manifest.json)"),
    ],
)
def test_each_bad_input_is_one_line_naming_it(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(AuditInputError) as raised:
        load_paths([path])
    assert str(raised.value) == message.format(path=path)
    assert raised.value.__cause__ is None
    assert isinstance(raised.value, ExecutionRoleError)


def test_no_path_is_an_error() -> None:
    with pytest.raises(AuditInputError, match=r"^no path given: "):
        load_paths([])


def test_a_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "t.json", "{")
    with pytest.raises(AuditInputError, match=r"^\./t\.json: invalid JSON at line 1, column 2: "):
        load_paths(["./t.json"])


def test_a_bad_path_after_good_ones_is_still_an_error(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.json", json.dumps(_EXPORTER))
    with pytest.raises(AuditInputError, match=r"missing\.yaml: no such file or directory$"):
        load_paths([good, str(tmp_path / "missing.yaml")])


# -- cloud assemblies ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app with a stack and a stage's stack, synthesized."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    top = cdk.Stack(app, "Top", env=cdk.Environment(account=ACCOUNT, region=REGION))
    ecr.Repository(top, "Repo", repository_name="app")
    stage = cdk.Stage(app, "Stage", env=cdk.Environment(account=ACCOUNT, region=STAGE_REGION))
    sqs.Queue(cdk.Stack(stage, "Inner"), "Queue")
    app.synth()
    return outdir


def _by_stack_path(templates: list[Template], stack_path: str) -> Template:
    (found,) = (t for t in templates if t.stack_path == stack_path)
    return found


def _logical_id(template: Template, resource_type: str) -> str:
    (found,) = (k for k in template.resources if template.resource_type(k) == resource_type)
    return found


def test_an_assembly_s_stacks_and_its_stages_are_read(outdir: Path) -> None:
    assembly = load_paths([str(outdir)])
    assert sorted(t.stack_path for t in assembly.templates) == ["Stage/Inner", "Top"]
    top = _by_stack_path(assembly.templates, "Top")
    inner = _by_stack_path(assembly.templates, "Stage/Inner")
    assert (top.account, top.region) == (ACCOUNT, REGION)
    assert (inner.account, inner.region) == (ACCOUNT, STAGE_REGION)
    assert Path(inner.path).parent.name == "assembly-Stage"
    repo = _logical_id(top, "AWS::ECR::Repository")
    queue = _logical_id(inner, "AWS::SQS::Queue")
    assert assembly.path_of(top, repo) == "Top/Repo/Resource"
    assert assembly.path_of(inner, queue) == "Stage/Inner/Queue/Resource"
    assert assembly.text(top, {"Fn::GetAtt": [repo, "Arn"]}) == (
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
    )


def test_a_stage_s_assembly_is_read_on_its_own(outdir: Path) -> None:
    assembly = load_paths([str(outdir / "assembly-Stage")])
    (inner,) = assembly.templates
    assert inner.stack_path == "Stage/Inner"
    queue = _logical_id(inner, "AWS::SQS::Queue")
    assert assembly.path_of(inner, queue) == "Stage/Inner/Queue/Resource"


def test_an_assembly_and_template_files_are_one_assembly(outdir: Path, tmp_path: Path) -> None:
    exporter = _write(tmp_path / "shared.json", json.dumps(_EXPORTER))
    yaml_path = _write(tmp_path / "app.yaml", _YAML)
    assembly = load_paths([exporter, str(outdir), yaml_path])
    # In the order given: the assembly's stacks where the assembly is.
    first, *stacks, app = assembly.templates
    assert (first.path, first.stack_name, app.path) == (exporter, "shared", yaml_path)
    assert sorted(t.stack_path for t in stacks) == ["Stage/Inner", "Top"]
    assert assembly.text(app, _tags(app)["import"]) == "shared"
    # The construct paths the assembly's tree names survive its templates joining others.
    top = _by_stack_path(assembly.templates, "Top")
    repo = _logical_id(top, "AWS::ECR::Repository")
    assert assembly.path_of(top, repo) == "Top/Repo/Resource"
    assert assembly.by_path["Top/Repo/Resource"] == (top, repo)
    assert assembly.label(top, repo) == "Top/Repo"


def test_stacks_are_read_in_the_order_of_their_manifests(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "assembly-S").mkdir(parents=True)

    def stack(directory: Path, name: str) -> dict[str, Any]:
        _write(directory / f"{name}.template.json", json.dumps(_EXPORTER))
        properties = {"templateFile": f"{name}.template.json"}
        return {"type": "aws:cloudformation:stack", "properties": properties}

    stage = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-S"}}
    manifest = {"artifacts": {"B": stack(out, "B"), "S": stage, "A": stack(out, "A")}}
    _write(out / "manifest.json", json.dumps(manifest))
    inner = {"artifacts": {"C": stack(out / "assembly-S", "C")}}
    _write(out / "assembly-S" / "manifest.json", json.dumps(inner))
    assembly = load_paths([str(out)])
    assert [os.path.relpath(t.path, out) for t in assembly.templates] == [
        "B.template.json",
        os.path.join("assembly-S", "C.template.json"),
        "A.template.json",
    ]
    assert [t.stack_name for t in assembly.templates] == ["B", "C", "A"]


def test_an_assembly_s_template_also_given_is_read_once(outdir: Path) -> None:
    top_file = str(outdir / "Top.template.json")
    for paths in ([top_file, str(outdir)], [str(outdir), top_file, str(outdir)]):
        assembly = load_paths(paths)
        assert sorted(t.stack_path for t in assembly.templates) == ["Stage/Inner", "Top"]


def test_a_stage_given_with_its_app_is_read_once(outdir: Path) -> None:
    for paths in (
        [str(outdir), str(outdir / "assembly-Stage")],
        [str(outdir / "assembly-Stage"), str(outdir)],
    ):
        assembly = load_paths(paths)
        assert sorted(t.stack_path for t in assembly.templates) == ["Stage/Inner", "Top"]
        inner = _by_stack_path(assembly.templates, "Stage/Inner")
        queue = _logical_id(inner, "AWS::SQS::Queue")
        assert assembly.path_of(inner, queue) == "Stage/Inner/Queue/Resource"


# -- without aws-cdk-lib ------------------------------------------------------------------------


def test_the_sources_are_read_without_aws_cdk_lib(tmp_path: Path) -> None:
    path = _write(tmp_path / "app.yaml", _YAML)
    code = (
        "import sys\n"
        "from ecs_exec_roles._sources import load_paths\n"
        f"assembly = load_paths([{path!r}])\n"
        "assert len(assembly.templates) == 1\n"
        "loaded = sorted(m for m in ('aws_cdk', 'jsii', 'constructs') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
