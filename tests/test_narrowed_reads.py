"""A grant of reads on a whole bucket the task definitions read files from (an environment
file asset's ``readers``, which apps write because aws-cdk-lib grants nothing for environment
files) is narrowed to the files, with a warning, by each derived role and by the aspect; a
read of another bucket, or a role that does not derive, still fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match
from helpers import OWNED, concrete_environment
from iam_eval import is_allowed, role_policies

from ecs_exec_roles import HardenExecutionRoles, MinimalExecutionRole, SharedExecutionRole
from testkit.cfn import resolve

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
ASSETS = f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
MODES = ["minimal", "shared", "harden"]


def _app(mode: str, tmp_path: Path, *, derive: bool = True, other_bucket: bool = False) -> cdk.App:
    env_file = tmp_path / "app.env"
    env_file.write_text("LEVEL=info\n")
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    role: Any = None
    if mode == "minimal":
        role = MinimalExecutionRole(stack, "Role", derive=derive)
    elif mode == "shared":
        role = SharedExecutionRole(stack, "Role", derive=derive)
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="app"),
        environment_files=[
            ecs.EnvironmentFile.from_asset(str(env_file), readers=[task.obtain_execution_role()])
        ],
    )
    if other_bucket:
        task.add_to_execution_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::other/*"])
        )
    if mode == "harden":
        cdk.Aspects.of(app).add(HardenExecutionRoles())
    return app


def _execution_role(template: dict[str, Any]) -> str:
    (role,) = (
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and "TaskRole" not in logical_id
    )
    return role


@pytest.mark.parametrize("mode", MODES)
def test_a_whole_bucket_read_is_narrowed_to_the_files_with_a_warning(
    mode: str, tmp_path: Path
) -> None:
    app = _app(mode, tmp_path)
    stack = app.node.find_child("S")
    assert isinstance(stack, cdk.Stack)
    template = app.synth().get_stack_by_name("S").template
    env = concrete_environment(template)
    (task,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition")
    file_arn = resolve(
        task["Properties"]["ContainerDefinitions"][0]["EnvironmentFiles"][0]["Value"], env
    )
    assert file_arn.startswith(f"{ASSETS}/")
    policies = role_policies(template, _execution_role(template), env)
    assert is_allowed(policies, "s3:GetObject", file_arn, OWNED)
    assert is_allowed(policies, "s3:GetBucketLocation", ASSETS, OWNED)
    # Only the file: not the rest of the bootstrap's assets bucket.
    assert not is_allowed(policies, "s3:GetObject", f"{ASSETS}/other.zip", OWNED)
    assert not is_allowed(policies, "s3:ListBucket", ASSETS, OWNED)
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("reads of whole buckets its task definitions read files")
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_read_of_a_bucket_no_task_reads_a_file_from_still_fails(
    mode: str, tmp_path: Path
) -> None:
    app = _app(mode, tmp_path, other_bucket=True)
    with pytest.raises(RuntimeError, match=r"s3:GetObject on arn:aws:s3:::other/\*"):
        app.synth()


@pytest.mark.parametrize("mode", ["minimal", "shared"])
def test_a_role_that_does_not_derive_narrows_nothing(mode: str, tmp_path: Path) -> None:
    app = _app(mode, tmp_path, derive=False)
    with pytest.raises(RuntimeError, match="does not cover"):
        app.synth()
