"""A user's app type-checked as an adopting team checks it, with mypy and with pyright.

The examples (``examples/typed_app.py`` passes the constructs where aws-cdk-lib expects an
``iam.IRole`` and leaves props as ``None``) must be accepted, and a misuse must be rejected
at exactly its lines, which shows that the checkers see the library's and aws-cdk-lib's types.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import examples.app  # noqa: F401  (the aws-cdk-lib modules the examples use)
from examples import typed_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TYPED_APP = EXAMPLES / "typed_app.py"
REJECTED = "# rejected"

MISUSE = f"""\
import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

import ecs_exec_roles
from ecs_exec_roles import MinimalExecutionRole

stack = cdk.Stack(cdk.App(), "Misuse")
version: str = ecs_exec_roles.__version__
ecs_exec_roles.MinimalExecutionRol  {REJECTED}
repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
execution = MinimalExecutionRole(stack, "Execution", repositories=repository)  {REJECTED}
ecs.FargateTaskDefinition(stack, "Task", execution_role=repository)  {REJECTED}
execution.grant_pass_role(stack)  {REJECTED}
ecs.FargateTaskDefinition(stack, "Fine", execution_role=execution)
"""


def _misuse(tmp_path: Path) -> tuple[Path, set[int]]:
    """The misuse module, and its 1-based lines a checker must reject."""
    path = tmp_path / "misuse.py"
    path.write_text(MISUSE)
    lines = MISUSE.splitlines()
    return path, {number for number, line in enumerate(lines, 1) if line.endswith(REJECTED)}


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_mypy_accepts_the_users_app_and_rejects_the_misuse(tmp_path: Path) -> None:
    misuse, rejected = _misuse(tmp_path)
    # The project's configuration: strict, as `mypy src` runs (and its cache serves here).
    result = _run(sys.executable, "-m", "mypy", "--no-error-summary", EXAMPLES, misuse)
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    # By name: mypy's cache may name the module by the path of an earlier run's file.
    in_misuse = [line for line in errors if Path(line.split(":")[0]).name == misuse.name]
    assert len(in_misuse) == len(errors), result.stdout
    error_lines = {int(line.split(":")[1]) for line in in_misuse}
    assert error_lines == rejected, result.stdout


def _pyright(*paths: Path) -> list[dict[str, Any]]:
    result = _run(
        sys.executable,
        "-m",
        "pyright",
        "--outputjson",
        "--pythonpath",
        sys.executable,
        *paths,
    )
    assert result.stdout.startswith("{"), result.stdout + result.stderr
    diagnostics: list[dict[str, Any]] = json.loads(result.stdout)["generalDiagnostics"]
    return [d for d in diagnostics if d["severity"] == "error"]


# pyright matches parameter names when it checks that a class implements a protocol, and
# aws-cdk-lib's generated Python names some apart from its own interfaces
# (``Secret.secret_value_from_json(json_field)``, ``ISecret``'s ``key``), so pyright holds a
# ``Secret`` not to be an ``ISecret``, a ``Key`` not an ``IKey``, an ``iam.Role`` not an
# ``IRole``: errors of aws-cdk-lib in any app, told apart here by aws-cdk-lib's own word that
# the class implements the interface. Any other error, one naming a construct of this library
# included, counts.
_NOT_THE_PROTOCOL = re.compile(r'"(\w+)" is incompatible with protocol "(\w+)"')


def _aws_cdk_libs_own(diagnostic: dict[str, Any]) -> bool:
    found = _NOT_THE_PROTOCOL.search(diagnostic["message"])
    return found is not None and found.group(2) in _declared_interfaces(found.group(1))


def _declared_interfaces(class_name: str) -> set[str]:
    """The interfaces aws-cdk-lib declares a class of that name (in a module the examples
    import) to implement, with the interfaces they extend."""
    names: set[str] = set()
    for name, module in list(sys.modules.items()):
        found = getattr(module, class_name, None) if name.startswith("aws_cdk.") else None
        if not isinstance(found, type):
            continue
        for cls in found.__mro__:
            for interface in getattr(cls, "__jsii_ifaces__", ()):
                names.update(base.__name__ for base in interface.__mro__)
    return names


def test_pyright_accepts_the_users_app_and_rejects_the_misuse(tmp_path: Path) -> None:
    misuse, rejected = _misuse(tmp_path)
    errors = _pyright(EXAMPLES, misuse)
    in_typed_app = [d for d in errors if Path(d["file"]) == TYPED_APP]
    # The typed app names no aws-cdk-lib class that pyright holds apart from its interface.
    assert in_typed_app == []
    in_examples = [d for d in errors if Path(d["file"]) != misuse and not _aws_cdk_libs_own(d)]
    assert in_examples == [], json.dumps(in_examples, indent=1)
    error_lines = {d["range"]["start"]["line"] + 1 for d in errors if Path(d["file"]) == misuse}
    assert error_lines == rejected, json.dumps(errors, indent=1)


def test_the_typed_app_synthesizes() -> None:
    assembly = typed_app.build().synth()
    (stack,) = assembly.stacks
    resources = stack.template["Resources"].values()
    policies = [r for r in resources if r["Type"] == "AWS::IAM::ManagedPolicy"]
    # The API's and the workers' derived policies (the batch role's AWS managed policy
    # covers its image).
    roles = sorted(ref["Ref"] for p in policies for ref in p["Properties"]["Roles"])
    assert [re.sub(r"[0-9A-F]{8}$", "", ref) for ref in roles] == [
        "ApiExecutionRole",
        "WorkersExecutionRole",
    ]
    assert "secretsmanager:GetSecretValue" in json.dumps(policies)
    # No inline policy on any role: the deployer's PassRole grants are its own.
    inline = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Policy"]
    assert inline
    assert all("Roles" not in policy for policy in inline)
