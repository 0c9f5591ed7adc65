"""The ``ecs-exec-roles audit`` command: exit status, ``--fail-on``, ``--output``, bad input
as one line, and no aws-cdk-lib or Node process on the way."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecs_exec_roles._cli import FAIL_ON, main

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db-AbCdEf"


def _template(tmp_path: Path, statements: list[Any], conditions: bool = True) -> str:
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        trust["Condition"] = {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:aws:ecs:*:${AWS::AccountId}:*"}},
        }
    body = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Statement": [trust]},
                    "ManagedPolicyArns": [{"Ref": "Policy"}],
                },
            },
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": statements}},
            },
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "ContainerDefinitions": [
                        {
                            "Name": "app",
                            "Image": "public.ecr.aws/docker/library/busybox:1",
                            "Secrets": [{"Name": "DB", "ValueFrom": SECRET}],
                        }
                    ],
                },
            },
        }
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(body))
    return str(path)


EXACT = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}]
EXCESS = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]
MISSING = [{"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}]


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), stdout=out)
    return status, out.getvalue()


def test_a_clean_template_exits_0(tmp_path: Path) -> None:
    status, out = _run("audit", _template(tmp_path, EXACT))
    assert status == 0
    assert "template.json::Role" in out and "clean" in out


@pytest.mark.parametrize(
    ("statements", "conditions", "fail_on", "status"),
    [
        (EXCESS, True, "missing", 0),
        (EXCESS, True, "excess", 1),
        (EXCESS, True, "any", 1),
        (MISSING, True, "missing", 1),
        (EXACT, False, "excess", 0),
        (EXACT, False, "any", 1),
    ],
)
def test_fail_on_chooses_what_fails(
    tmp_path: Path, statements: list[Any], conditions: bool, fail_on: str, status: int
) -> None:
    path = _template(tmp_path, statements, conditions)
    assert _run("audit", path, "--fail-on", fail_on)[0] == status


def test_fail_on_any_covers_every_category() -> None:
    from ecs_exec_roles._audit_checks import CATEGORIES

    assert FAIL_ON["any"] == CATEGORIES


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "audit.sarif"
    status, out = _run(
        "audit", _template(tmp_path, EXCESS), "--format", "sarif", "--output", str(target)
    )
    assert (status, out) == (1, "")
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_an_output_file_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "out.json"
    status, _ = _run("audit", _template(tmp_path, EXACT), "--output", str(target))
    assert status == 2
    assert capsys.readouterr().err == (
        f"ecs-exec-roles: error: {target}: No such file or directory\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path}: no such file or directory"),
        ('{"Resources": {', "{path}: invalid JSON at line 1, column 16: Expecting property name"),
        ("Resources:\n  A: !Foo x\n", "{path}: unknown tag !Foo at line 2"),
        ("[]", "{path}: not a CloudFormation template (no Resources)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "bad.template"
    if content is not None:
        path.write_text(content)
    assert _run("audit", str(path))[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("ecs-exec-roles: error: " + message.format(path=path))
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_empty_directory_is_not_an_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("audit", str(tmp_path))[0] == 2
    assert capsys.readouterr().err == (
        f"ecs-exec-roles: error: {tmp_path}: not a cloud assembly (no manifest.json) and not "
        "a template file\n"
    )


def test_the_audit_loads_neither_aws_cdk_lib_nor_jsii(tmp_path: Path) -> None:
    path = _template(tmp_path, EXCESS)
    code = (
        "import io, sys\n"
        "from ecs_exec_roles._cli import main\n"
        f"status = main(['audit', {path!r}, '--format', 'sarif'], stdout=io.StringIO())\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii'))\n"
        "print(status, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1 []"


def _parameterized(tmp_path: Path) -> str:
    body = json.loads(Path(_template(tmp_path, EXACT)).read_text())
    body["Parameters"] = {"Secret": {"Type": "String", "Default": "ignored"}}
    body["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Secrets"] = [
        {"Name": "DB", "ValueFrom": {"Ref": "Secret"}}
    ]
    path = tmp_path / "parameterized.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_a_parameter_is_unknown_even_with_a_default_until_its_value_is_given(
    tmp_path: Path,
) -> None:
    path = _parameterized(tmp_path)
    status, out = _run("audit", path, "--format", "json")
    rules = [f["rule"] for f in json.loads(out)["roles"][0]["findings"]]
    assert status == 1 and "UnreadableValue[app::secrets DB]" in rules
    status, out = _run("audit", path, "--parameter", f"Secret={SECRET}", "--format", "json")
    assert (status, json.loads(out)["roles"][0]["findings"]) == (0, [])


def test_the_environment_of_template_files_can_be_given(tmp_path: Path) -> None:
    status, out = _run(
        "audit",
        _template(tmp_path, EXACT),
        "--account",
        ACCOUNT,
        "--region",
        "eu-west-1",
        "--format",
        "json",
    )
    assert status == 0
    trust = json.loads(out)["roles"][0]["recommendedTrustPolicy"]["Statement"][0]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT}:*"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--parameter", "Secret"], "--parameter 'Secret': give NAME=VALUE"),
        (["--parameter", "Other=1"], "--parameter Other: no template given declares a parameter"),
        (["--account", "1234"], "--account '1234': not 12 digits"),
        (["--region", "Ireland"], "--region 'Ireland': not a region name"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert _run("audit", _parameterized(tmp_path), *options)[0] == 2
    assert capsys.readouterr().err.startswith(f"ecs-exec-roles: error: {message}")
