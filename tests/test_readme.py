"""The README's lead example runs, and the JSON and the error text it shows are synth's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_exec_roles import MinimalExecutionRole

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block_after(marker: str, language: str) -> str:
    """The fenced ``language`` block that follows ``<!-- marker -->`` in the README."""
    match = re.search(
        rf"<!-- {re.escape(marker)} -->\s*```{language}\n(?P<body>.*?)\n```", README, re.DOTALL
    )
    assert match is not None, f"no {language} block after <!-- {marker} -->"
    return match["body"]


def test_the_derived_example_prints_the_policy_the_readme_shows() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_block_after("readme-example: derived", "python"), "README.md", "exec"), namespace)
    app: cdk.App = namespace["app"]
    template = app.synth().get_stack_by_name("Api").template
    role_id = namespace["stack"].get_logical_id(namespace["execution"].role.node.default_child)
    (document,) = [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and resource["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    shown = json.loads(_block_after("readme-policy: derived ApiExecutionRole", "json"))
    assert document == shown


def test_the_sample_gap_message_is_the_one_synth_prints() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    repository = ecr.Repository.from_repository_name(stack, "Repo", "api")
    database = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "api/db")
    execution = MinimalExecutionRole(
        stack, "ApiExecutionRole", repositories=[repository], derive=False
    )
    task = ecs.FargateTaskDefinition(stack, "ApiTask", family="api", execution_role=execution.role)
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_ecr_repository(repository),
        secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(database, "password")},
    )
    with pytest.raises(RuntimeError) as error:
        app.synth()
    match = re.search(r"```text\n(Stack/ApiExecutionRole: .*?)\n```", README, re.DOTALL)
    assert match is not None
    for line in match[1].splitlines():
        assert line.strip() in str(error.value)
