"""The package's shape: modules import one way, stay small, and keep their privates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ecs_exec_roles"
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 200
MAX_FUNCTION_BODY_LINES = 60
# What only ``_cdk_internals`` may touch: jsii's and aws-cdk-lib's internals, Python's frames.
INTERNALS = ("_delegates", "__jsii_ref__", "_getframe", "f_locals", "f_back", "proxy_for")


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def _imports(tree: ast.Module) -> set[str]:
    """The package modules a module imports (``TYPE_CHECKING`` imports included)."""
    return {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in path:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(module)

    for module in sorted(graph):
        visit(module, [module])
    return cycles


def test_no_import_cycle_inside_the_package() -> None:
    graph = {name: _imports(tree) for name, tree in _modules().items()}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = function.body
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


@pytest.mark.parametrize("name", sorted(_modules()))
def test_modules_stay_small(name: str) -> None:
    lines = len((PACKAGE / f"{name}.py").read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines"


# An IAM action of a service ECS calls for a task, as a string of the code (not a docstring).
_ACTION = re.compile(r"(?i)^(ecr|logs|secretsmanager|ssm|kms|s3|sts):[a-z*?]+( via .*)?$")
# Condition keys of those services, which are not actions.
_CONDITION_KEYS = {"kms:ViaService"}


def _code_strings(tree: ast.Module) -> list[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@pytest.mark.parametrize("name", sorted(set(_modules()) - {"_kinds", "_trust"}))
def test_iam_actions_are_named_in_the_kinds_table_only(name: str) -> None:
    found = [
        text
        for text in _code_strings(_modules()[name])
        if _ACTION.match(text.strip()) and text not in _CONDITION_KEYS
    ]
    assert found == [], name


def test_the_action_finder_finds_actions_but_not_docstrings_or_condition_keys() -> None:
    tree = ast.parse(
        '"""ecr:BatchGetImage"""\n'
        'A = "ssm:GetParameters"\n'
        'B = "kms:ViaService"\n'
        'def f():\n    """logs:PutLogEvents"""\n    return "secretsmanager:getsecretvalue"\n'
    )
    found = [t for t in _code_strings(tree) if _ACTION.match(t) and t not in _CONDITION_KEYS]
    assert found == ["ssm:GetParameters", "secretsmanager:getsecretvalue"]


@pytest.mark.parametrize("name", sorted(set(_modules()) - {"_cdk_internals"}))
def test_only_one_module_touches_the_internals_of_aws_cdk_lib_and_jsii(name: str) -> None:
    source = (PACKAGE / f"{name}.py").read_text()
    assert [word for word in INTERNALS if word in source] == [], name
    # Construct IDs aws-cdk-lib chooses are named in _cdk_internals, not written out here.
    assert re.findall(r"find_child\(\s*[\"']", source) == [], name


def test_the_internals_module_is_where_they_are() -> None:
    source = (PACKAGE / "_cdk_internals.py").read_text()
    assert [word for word in INTERNALS if word not in source] == []


@pytest.mark.parametrize("name", sorted(set(_modules()) - {"__init__"}))
def test_every_module_has_its_test_module(name: str) -> None:
    assert (PACKAGE.parents[1] / "tests" / f"test{name}.py").is_file(), name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_classes_and_functions_stay_small(name: str) -> None:
    tree = _modules()[name]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            assert lines <= MAX_CLASS_LINES, f"{name}.{node.name}: {lines} lines"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = _body_lines(node)
            assert lines <= MAX_FUNCTION_BODY_LINES, f"{name}.{node.name}: {lines} lines"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_imports_another_modules_private_names(name: str) -> None:
    for node in ast.walk(_modules()[name]):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{name} imports {private} from {node.module}"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_reads_private_members_of_other_objects(name: str) -> None:
    # ``sys._getframe`` is CPython's, not the package's; ``_cfn_properties`` is aws-cdk-lib's
    # protected ``cfnProperties``, read in ``_cdk_internals`` only (and pinned there).
    allowed = {"sys._getframe"} | (
        {"resource._cfn_properties"} if name == "_cdk_internals" else set()
    )
    for node in ast.walk(_modules()[name]):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            assert ast.unparse(node) in allowed, f"{name}: {ast.unparse(node)}"


@pytest.mark.parametrize("name", sorted(set(_modules()) - {"__init__"}))
def test_every_private_module_lists_exactly_its_public_names(name: str) -> None:
    tree = _modules()[name]
    declared: list[str] | None = None
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__":
                        declared = list(ast.literal_eval(node.value))
                    else:
                        defined.add(target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
    assert declared is not None, f"{name} has no __all__"
    public = {n for n in defined if not n.startswith("_")}
    assert set(declared) == public, f"{name}: __all__ {sorted(declared)} vs {sorted(public)}"


def test_public_names_report_the_public_module() -> None:
    import ecs_exec_roles

    for name in ecs_exec_roles.__all__:
        assert getattr(ecs_exec_roles, name).__module__ == "ecs_exec_roles", name
    assert repr(ecs_exec_roles.S3File).startswith("<class 'ecs_exec_roles.S3File'")
