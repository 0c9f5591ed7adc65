"""cfn-lint on every template the example app synthesizes, and on a default FireLens log router's:
no error, warning or information."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from cfnlint.api import ManualArgs, lint, lint_file

from ecs_exec_roles import MinimalExecutionRole
from examples import app as example

# Regions of the commercial, China and GovCloud partitions: the templates build every ARN
# from the partition, so they must lint clean in each.
REGIONS = ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"]
# Informational rules ("I") are off by default; experimental rules are included too.
CONFIG = ManualArgs(regions=REGIONS, include_checks=["I"], include_experimental=True)


def synthesize(tmp_path: Path, env: cdk.Environment | None) -> list[Path]:
    # Analytics reporting adds the AWS::CDK::Metadata resource, as `cdk synth` does; cfn-lint
    # recognizes CDK templates by it and skips style rules (I1022, Sub over Join) for them.
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), analytics_reporting=True)
    example.build_app(app, env=env)
    assembly = app.synth()
    return sorted(Path(assembly.directory).glob("*.template.json"))


@pytest.mark.parametrize(
    "env",
    [None, cdk.Environment(account="123456789012", region="eu-west-1")],
    ids=["environment-agnostic", "concrete-env"],
)
def test_example_templates_have_no_cfn_lint_findings(
    env: cdk.Environment | None, tmp_path: Path
) -> None:
    templates = synthesize(tmp_path, env)
    assert [t.name for t in templates] == [f"{example.STACK_NAME}.template.json"]
    for template in templates:
        matches = lint_file(template, config=CONFIG)
        assert matches == [], "\n".join(f"{m.rule.id} {m}" for m in matches)


def test_lint_config_reports_warnings_and_information() -> None:
    # The clean result above means something only if this configuration reports W and I rules.
    template = {
        "Parameters": {"Unused": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    rule_ids = {match.rule.id for match in lint(json.dumps(template), config=CONFIG)}
    assert {"W2001", "I3011"} <= rule_ids


@pytest.mark.parametrize(
    "env",
    [None, cdk.Environment(account="123456789012", region="eu-west-1")],
    ids=["environment-agnostic", "concrete-env"],
)
def test_default_log_router_template_has_no_cfn_lint_findings(
    env: cdk.Environment | None, tmp_path: Path
) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), analytics_reporting=True)
    stack = cdk.Stack(app, "Router", env=env)
    role = MinimalExecutionRole(stack, "Api", firelens_default_router=True)
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:latest"),
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    (template,) = sorted(Path(app.synth().directory).glob("*.template.json"))
    assert "aws-for-fluent-bit" in template.read_text()
    matches = lint_file(template, config=CONFIG)
    assert matches == [], "\n".join(f"{m.rule.id} {m}" for m in matches)
