"""The README runs: every Python block is a complete app, executed here, and every JSON and
text block it shows is what synth produces for that app. So do the other documents
(``DOCUMENTS``: the contributors' guide and the pages of the documentation site).

Each fenced block of a document follows a marker comment saying what it is:

- ``<!-- readme-example: NAME -->`` before a Python block: an app, executed in a fresh
  namespace and synthesized. ``NAME fails`` marks an app whose synth must fail.
- ``<!-- readme-json: NAME KIND ARG -->`` before a JSON block: what the app ``NAME``
  synthesizes. ``policy PATH``: the one customer-managed policy document attached to the role
  at or under the construct path ``PATH``; ``statements PATH``: the statements of that role's
  policies with the Sids shown, in order; ``trust PATH``: its trust policy; ``arns PATH``: its
  ``ManagedPolicyArns``; ``value EXPR``: the value of a Python expression in the app's
  namespace.
- ``<!-- readme-error: NAME -->`` before a text block: the message synth fails with.
- ``<!-- readme-diff: BEFORE AFTER -->`` before a text block: ``cdk diff`` between two apps'
  templates (``NAME:unhardened`` is the app ``NAME`` with ``HardenExecutionRoles`` doing
  nothing); the resources it lists are exactly those that differ.
- bash blocks are not run; the scripts and modules they name must exist.

Every app runs twice: with aws-cdk-lib's recommended feature flags on (the context ``cdk init``
writes into ``cdk.json``, as a test checks with the project's CLI), where the README must match
exactly, and with no flags (aws-cdk-lib's defaults), where it must match up to
:func:`flag_insensitive`: the README says which two differences that allows.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from constructs import IConstruct

import ecs_exec_roles

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _documents() -> dict[str, str]:
    """The README, the contributors' guide and the site's own pages (not those that only
    include a file of the repository's root), by path."""
    pages = sorted(ROOT.glob("docs/*.md"))
    paths = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"] + [
        page for page in pages if not page.read_text().startswith("```{include}")
    ]
    return {str(path.relative_to(ROOT)): path.read_text() for path in paths}


DOCUMENTS = _documents()

_BLOCK = re.compile(
    r"^(?:<!-- (?P<marker>[^\n]*?) -->\n)?```(?P<language>[a-z]*)\n(?P<body>.*?)\n```$",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    language: str
    marker: str  # the marker comment's words, "" when there is none
    body: str
    line: int  # where the block (its marker, if any) starts
    body_line: int
    document: str = "README.md"

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def kind(self) -> str:
        return self.marker.split(":", 1)[0] if ":" in self.marker else ""

    @property
    def words(self) -> list[str]:
        return self.marker.split(":", 1)[1].split() if ":" in self.marker else []


def readme_blocks(text: str = README, document: str = "README.md") -> list[Block]:
    return [
        Block(
            language=match["language"],
            marker=match["marker"] or "",
            body=match["body"],
            line=text.count("\n", 0, match.start()) + 1,
            body_line=text.count("\n", 0, match.start("body")) + 1,
            document=document,
        )
        for match in _BLOCK.finditer(text)
    ]


BLOCKS = [block for path, text in DOCUMENTS.items() for block in readme_blocks(text, path)]
EXAMPLES = {
    block.words[0]: block for block in BLOCKS if block.kind == "readme-example" and block.words
}
MODES = ("recommended-flags", "no-flags")


# -- the feature flags ----------------------------------------------------------------------


@cache
def recommended_flags() -> dict[str, Any]:
    """The context ``cdk init`` writes: aws-cdk-lib's own recommended-feature-flags.json."""
    spec = importlib.util.find_spec("aws_cdk")
    assert spec is not None and spec.origin is not None
    (bundle,) = (Path(spec.origin).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle, "r:gz") as archive:
        for member in archive:
            if member.name == "package/recommended-feature-flags.json":
                file = archive.extractfile(member)
                assert file is not None
                flags: dict[str, Any] = json.load(file)
                return flags
    raise AssertionError(f"no recommended-feature-flags.json in {bundle}")


def _app_class(context: dict[str, Any]) -> type[cdk.App]:
    class FlaggedApp(cdk.App):
        def __init__(self, **kwargs: Any) -> None:
            kwargs["context"] = {**context, **(kwargs.get("context") or {})}
            super().__init__(**kwargs)

    return FlaggedApp


def flag_insensitive(value: Any) -> Any:
    """``value`` with what the recommended flags change in our output undone.

    ``@aws-cdk/aws-iam:minimizePolicies`` sorts each statement's actions: actions are sorted
    here. ``@aws-cdk/core:enablePartitionLiterals`` writes the partition of a stack with a
    concrete region as ``aws`` where it was ``{"Ref": "AWS::Partition"}`` in an ``Fn::Join``
    (and ``<AWS::Partition>`` in messages): every partition here is ``aws``, and a join left
    with literal parts only is that text.
    """
    if isinstance(value, str):
        return value.replace("<AWS::Partition>", "aws")
    if isinstance(value, list):
        return [flag_insensitive(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] == "AWS::Partition":
        return "aws"
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        merged: list[Any] = []
        for part in (flag_insensitive(part) for part in parts):
            if merged and isinstance(part, str) and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + separator + part
            else:
                merged.append(part)
        if len(merged) == 1 and isinstance(merged[0], str):
            return merged[0]
        return {"Fn::Join": [separator, merged]}
    result = {key: flag_insensitive(item) for key, item in value.items()}
    if isinstance(result.get("Action"), list):
        result["Action"] = sorted(result["Action"])
    return result


def test_flag_insensitive_undoes_action_order_and_partition_literals() -> None:
    join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:eu-west-1:1:repository/a"]]}
    statement = {"Action": ["ecr:B", "ecr:A"], "Resource": join, "Sid": "S"}
    assert flag_insensitive(statement) == {
        "Action": ["ecr:A", "ecr:B"],
        "Resource": "arn:aws:ecr:eu-west-1:1:repository/a",
        "Sid": "S",
    }
    assert flag_insensitive("on arn:<AWS::Partition>:ssm:x") == "on arn:aws:ssm:x"


def test_flag_insensitive_keeps_what_the_flags_do_not_change() -> None:
    region_join = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":", {"Ref": "AWS::Region"}]]
    }
    assert flag_insensitive(region_join) == {"Fn::Join": ["", ["arn:aws:", {"Ref": "AWS::Region"}]]}
    assert flag_insensitive({"Ref": "AWS::AccountId"}) == {"Ref": "AWS::AccountId"}
    # Only actions are sorted: resources and statements keep their order.
    assert flag_insensitive({"Resource": ["b", "a"]}) == {"Resource": ["b", "a"]}
    assert flag_insensitive([{"Sid": "B"}, {"Sid": "A"}]) == [{"Sid": "B"}, {"Sid": "A"}]


def test_the_recommended_flags_are_what_cdk_init_writes(tmp_path: Path) -> None:
    cdk_cli = ROOT / ".cdk-cli" / "node_modules" / ".bin" / "cdk"
    assert cdk_cli.exists(), "the CDK CLI is missing; run `bash scripts/setup.sh`"
    environment = {
        **os.environ,
        # As scripts/setup.sh: Node 24 from the project's environment, never the machine's.
        "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")]),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    command = [str(cdk_cli), "init", "app", "--language", "python", "--generate-only"]
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    written = json.loads((tmp_path / "cdk.json").read_text())["context"]
    # Every flag aws-cdk-lib recommends, with its value; on the oldest supported aws-cdk-lib
    # (constraints/floor.txt, run in CI) the pinned CLI also writes newer flags it does not
    # know, and those cannot change its output.
    recommended = recommended_flags()
    assert recommended.items() <= written.items()
    floor = (ROOT / "constraints" / "floor.txt").read_text()
    if f"aws-cdk-lib=={importlib.metadata.version('aws-cdk-lib')}\n" not in floor:
        assert written == recommended, set(written) ^ set(recommended)


def test_the_recommended_flags_are_those_that_change_the_policies() -> None:
    flags = recommended_flags()
    assert flags["@aws-cdk/aws-iam:minimizePolicies"] is True
    assert flags["@aws-cdk/core:enablePartitionLiterals"] is True


# -- running an example -----------------------------------------------------------------------


@jsii.implements(cdk.IAspect)
class _NoAspect:
    """``HardenExecutionRoles`` doing nothing: the app as it was before hardening."""

    def __init__(self, **_: Any) -> None:
        pass

    def visit(self, node: IConstruct) -> None:
        pass


@dataclass
class Run:
    namespace: dict[str, Any]
    assembly: cdk.cx_api.CloudAssembly | None
    error: str | None


_RUNS: dict[tuple[str, str], Run] = {}
_REPORT_COPY = re.compile(r"A copy of this report can be found in: \S+")
_REPORT_COPY_SHOWN = "A copy of this report can be found in: cdk.out/validation-report.json"


def run_example(name: str, mode: str) -> Run:
    """The app of the README block ``name``, executed and synthesized once per mode."""
    key = (name, mode)
    if key in _RUNS:
        return _RUNS[key]
    base, _, variant = name.partition(":")
    block = EXAMPLES[base]
    context = recommended_flags() if mode == "recommended-flags" else {}
    patch = pytest.MonkeyPatch()
    patch.setattr(cdk, "App", _app_class(context))
    if variant == "unhardened":
        patch.setattr(ecs_exec_roles, "HardenExecutionRoles", _NoAspect)
    namespace: dict[str, Any] = {"__name__": f"readme_{base}"}
    try:
        # Padded so that a traceback names the README's own line.
        code = compile("\n" * (block.body_line - 1) + block.body, block.document, "exec")
        error: str | None = None
        try:
            exec(code, namespace)
        except RuntimeError as raised:
            # The verification's report names its copy in the app's output directory.
            error = _REPORT_COPY.sub(_REPORT_COPY_SHOWN, str(raised))
        app = namespace.get("app")
        assert isinstance(app, cdk.App), f"README example {base!r} has no `app = cdk.App()`"
        run = Run(namespace, None if error else app.synth(), error)
    finally:
        patch.undo()
    if "fails" in block.words:
        assert run.error is not None, f"README example {base!r} should fail synth"
    else:
        assert run.error is None, f"README example {base!r} failed: {run.error}"
    _RUNS[key] = run
    return run


def _role(run: Run, path: str) -> tuple[dict[str, Any], str]:
    """The template of the role at or under ``path``, and its logical ID."""
    app = run.namespace["app"]
    found = [c for c in app.node.find_all() if c.node.path == path]
    assert found, f"no construct at {path!r}"
    roles = [
        c
        for c in found[0].node.find_all()
        if cdk.CfnResource.is_cfn_resource(c) and c.cfn_resource_type == "AWS::IAM::Role"
    ]
    assert len(roles) == 1, f"{len(roles)} roles under {path!r}"
    stack = cdk.Stack.of(roles[0])
    assert run.assembly is not None
    template = run.assembly.get_stack_by_name(stack.stack_name).template
    return template, stack.get_logical_id(roles[0])


def _policy_documents(run: Run, path: str) -> list[dict[str, Any]]:
    template, role_id = _role(run, path)
    return [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        and {"Ref": role_id} in resource["Properties"].get("Roles", [])
    ]


def _synthesized_json(run: Run, kind: str, argument: str, shown: Any) -> Any:
    """What the app synthesized that a JSON block of this kind shows."""
    if kind == "value":
        return json.loads(json.dumps(eval(argument, run.namespace)))
    if kind == "trust":
        template, role_id = _role(run, argument)
        return template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    if kind == "arns":
        template, role_id = _role(run, argument)
        return template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
    documents = _policy_documents(run, argument)
    if kind == "policy":
        assert len(documents) == 1, f"{len(documents)} policies on {argument!r}"
        return documents[0]
    assert kind == "statements", f"unknown JSON block kind {kind!r}"
    sids = {statement["Sid"] for statement in shown}
    return [s for d in documents for s in d["Statement"] if s.get("Sid") in sids]


# -- the diff ------------------------------------------------------------------------------


def _resources(run: Run) -> dict[str, dict[str, Any]]:
    """Each resource of the app's templates without its metadata, and its construct path as
    ``cdk diff`` prints it (below the stack, without the trailing ``Resource``)."""
    assert run.assembly is not None
    paths: dict[str, str] = {}
    for construct in run.namespace["app"].node.find_all():
        if cdk.CfnResource.is_cfn_resource(construct):
            stack = cdk.Stack.of(construct)
            path = construct.node.path.removeprefix(stack.node.path + "/")
            paths[stack.resolve(construct.logical_id)] = path.removesuffix("/Resource")
    resources: dict[str, dict[str, Any]] = {}
    for stack in run.assembly.stacks:
        for logical_id, resource in stack.template["Resources"].items():
            resources[logical_id] = {k: v for k, v in resource.items() if k != "Metadata"}
            resources[logical_id]["path"] = paths[logical_id]
    return resources


def _diff_lines(before: Run, after: Run) -> set[str]:
    """The lines of ``cdk diff`` naming each resource that differs, and each changed key."""
    old, new = _resources(before), _resources(after)
    lines: set[str] = set()
    for logical_id in old.keys() - new.keys():
        was = old[logical_id]
        lines.add(f"[-] {was['Type']} {was['path']} {logical_id} destroy")
    for logical_id in new.keys() - old.keys():
        now = new[logical_id]
        lines.add(f"[+] {now['Type']} {now['path']} {logical_id}")
    for logical_id in old.keys() & new.keys():
        was, now = old[logical_id], new[logical_id]
        if {**was, "path": ""} != {**now, "path": ""}:
            lines.add(f"[~] {now['Type']} {now['path']} {logical_id}")
            old_properties, new_properties = was.get("Properties", {}), now.get("Properties", {})
            lines.update(
                f"{logical_id} [~] {key}"
                for key in old_properties.keys() | new_properties.keys()
                if old_properties.get(key) != new_properties.get(key)
            )
            lines.update(
                f"{logical_id} [~] {key}"
                for key in ("DependsOn", "Condition", "DeletionPolicy")
                if was.get(key) != now.get(key)
            )
            if was["path"] != now["path"]:
                # The CLI's templates carry each resource's path in its aws:cdk:path metadata.
                lines.add(f"{logical_id} [~] Metadata")
    return lines


def _shown_diff_lines(text: str) -> set[str]:
    """The README's diff block as :func:`_diff_lines` writes it."""
    lines: set[str] = set()
    resource = ""
    header, *rest = text.splitlines()
    assert header == "Resources"
    for line in rest:
        if match := re.fullmatch(r"\[[-+~]\] \S+ \S+ (?P<id>\S+)(?: destroy)?", line):
            resource = match["id"]
            lines.add(line)
        else:
            match = re.fullmatch(r" [├└]─ \[~\] (?P<key>\S+)", line)
            assert match is not None, f"not a line of cdk diff: {line!r}"
            lines.add(f"{resource} [~] {match['key']}")
    return lines


# -- the tests --------------------------------------------------------------------------------


def _checks_of(name: str) -> Iterator[Block]:
    for block in BLOCKS:
        if block.kind in ("readme-json", "readme-error") and block.words[0] == name:
            yield block
        if block.kind == "readme-diff" and name in {w.partition(":")[0] for w in block.words}:
            yield block


def test_every_block_is_marked_with_what_checks_it() -> None:
    kinds = {
        "python": {"readme-example"},
        "json": {"readme-json"},
        "text": {"readme-error", "readme-diff", "readme-audit"},
        "bash": {""},
    }
    # Every fence opens or closes a block found here (an indented block would escape).
    for path, text in DOCUMENTS.items():
        found = [block for block in BLOCKS if block.document == path]
        assert len(re.findall(r"(?m)^\s*```", text)) == 2 * len(found), path
    for block in BLOCKS:
        assert block.kind in kinds.get(block.language, set()), (
            f"{block.where}: a {block.language or 'plain'} block marked {block.marker!r}"
        )
        named = block.words if block.kind == "readme-diff" else block.words[:1]
        if block.kind in ("readme-json", "readme-error", "readme-diff"):
            for name in named:
                assert name.partition(":")[0] in EXAMPLES, f"{block.where}: no {name}"
        if block.kind == "readme-example":
            # Under the CDK CLI an app that never calls synth writes nothing.
            assert "\napp.synth()" in block.body, f"{block.where}: no app.synth()"
    names = [block.words[0] for block in BLOCKS if block.kind == "readme-example"]
    assert len(names) == len(set(names)), "two README examples share a name"


def test_every_example_shows_what_it_synthesizes() -> None:
    assert len(EXAMPLES) >= 20
    unchecked = [name for name in EXAMPLES if not any(_checks_of(name))]
    assert not unchecked, f"README examples with no JSON, error or diff block: {unchecked}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example(name: str, mode: str) -> None:
    run = run_example(name, mode)
    same: Callable[[Any], Any] = (lambda v: v) if mode == "recommended-flags" else flag_insensitive
    for block in _checks_of(name):
        where = f"{block.where} ({block.marker})"
        if block.kind == "readme-json":
            shown = json.loads(block.body)
            _, kind, *rest = block.words
            synthesized = _synthesized_json(run, kind, " ".join(rest), shown)
            assert same(synthesized) == same(shown), where
        elif block.kind == "readme-error":
            assert run.error is not None
            assert same(run.error) == same(block.body), where
        elif block.kind == "readme-diff" and block.words[-1] == name:
            before = run_example(block.words[0], mode)
            assert _diff_lines(before, run) == _shown_diff_lines(block.body), where


def test_the_commands_name_what_exists() -> None:
    commands = "\n".join(block.body for block in BLOCKS if block.language == "bash")
    scripts = re.findall(r"bash (scripts/\S+)", commands)
    modules = re.findall(r"python -m ([\w.]+)((?: [^\s`#]+)*)", "\n".join(DOCUMENTS.values()))
    assert scripts and modules
    for script in scripts:
        assert (ROOT / script).is_file(), script
    for module, arguments in modules:
        source = _command_source(module)
        for option in (word for word in arguments.split() if word.startswith("--")):
            assert f'"{option}"' in source, f"python -m {module} has no {option}"
    # The console script the package installs, and the options its commands are shown with.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'ecs-exec-roles = "ecs_exec_roles._cli:run"' in pyproject
    cli = _command_source("ecs_exec_roles")
    for arguments in re.findall(r"^ecs-exec-roles audit((?: [^\s`#]+)*)", commands, re.M):
        for option in (word for word in arguments.split() if word.startswith("--")):
            assert f'"{option}"' in cli, f"ecs-exec-roles audit has no {option}"
    assert "pip install ecs-exec-roles" in commands
    assert 'name = "ecs-exec-roles"' in pyproject


def _command_source(module: str) -> str:
    """The source of what ``python -m module`` runs: the module, or a package's ``__main__``
    and the package modules it imports."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    if spec.submodule_search_locations is None:
        return Path(spec.origin).read_text()
    main = importlib.util.find_spec(f"{module}.__main__")
    assert main is not None and main.origin is not None, f"{module} has no __main__"
    source = Path(main.origin).read_text()
    for imported in re.findall(r"^from \.(\w+) import", source, re.M):
        source += Path(main.origin).with_name(f"{imported}.py").read_text()
    return source


def test_the_audit_output_in_the_readme_is_what_the_command_prints(
    twin_assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from ecs_exec_roles._cli import main

    (block,) = (block for block in BLOCKS if block.kind == "readme-audit")
    assert block.words == ["jsapp"]
    command, *shown = block.body.splitlines()
    assert command == "$ ecs-exec-roles audit jsapp"
    # The same templates as app.js (tests/test_js_app.py), in a directory named jsapp.
    monkeypatch.chdir(twin_assembly.parent)
    out = io.StringIO()
    assert main(["audit", "jsapp"], stdout=out) == 1
    printed = iter(out.getvalue().splitlines())
    # Every line shown appears, in order; "..." stands for lines left out.
    for line in shown:
        if line != "...":
            assert any(line == candidate for candidate in printed), line
