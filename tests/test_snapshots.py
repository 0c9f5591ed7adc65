"""One snapshot per construct: guards logical IDs and the whole synthesized role.

A change here is reviewed line by line; a changed logical ID replaces a resource in users'
stacks and goes in CHANGELOG.md.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole, StarterExecutionRole


def _stack() -> cdk.Stack:
    app = cdk.App()
    return cdk.Stack(
        app, "Snapshot", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )


def _resources(stack: cdk.Stack, name: str) -> dict[str, object]:
    key = kms.Key(stack, f"{name}Key", enable_key_rotation=True)
    return {
        "repositories": [ecr.Repository(stack, f"{name}Repo")],
        "log_groups": [logs.LogGroup(stack, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH)],
        "secrets": [secretsmanager.Secret(stack, f"{name}Secret", encryption_key=key)],
        "parameters": [
            ssm.StringParameter.from_string_parameter_name(stack, f"{name}Param", f"/{name}/flag")
        ],
    }


def _use(stack: cdk.Stack, role: object, name: str, resources: dict[str, list[object]]) -> None:
    task = ecs.FargateTaskDefinition(stack, f"{name}Task", execution_role=role.role)  # type: ignore[attr-defined]
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_ecr_repository(resources["repositories"][0]),  # type: ignore[arg-type]
        logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=resources["log_groups"][0]),  # type: ignore[arg-type]
        secrets={
            "SECRET": ecs.Secret.from_secrets_manager(resources["secrets"][0]),  # type: ignore[arg-type]
            "PARAM": ecs.Secret.from_ssm_parameter(resources["parameters"][0]),  # type: ignore[arg-type]
        },
    )


def _iam(stack: cdk.Stack) -> dict[str, object]:
    template = Template.from_stack(stack).to_json()
    return {k: v for k, v in template["Resources"].items() if v["Type"].startswith("AWS::IAM::")}


def test_minimal_snapshot(snapshot: SnapshotAssertion) -> None:
    stack = _stack()
    resources = _resources(stack, "Api")
    role = MinimalExecutionRole(stack, "ApiExecutionRole", **resources)  # type: ignore[arg-type]
    _use(stack, role, "Api", resources)  # type: ignore[arg-type]
    assert _iam(stack) == snapshot


def test_shared_snapshot(snapshot: SnapshotAssertion) -> None:
    stack = _stack()
    role = SharedExecutionRole(stack, "WorkersExecutionRole")
    for name in ("Billing", "Mailer"):
        resources = _resources(stack, name)
        role.add_resources(**resources)  # type: ignore[arg-type]
        _use(stack, role, name, resources)  # type: ignore[arg-type]
    assert _iam(stack) == snapshot


def test_starter_snapshot(snapshot: SnapshotAssertion) -> None:
    stack = _stack()
    resources = _resources(stack, "Demo")
    role = StarterExecutionRole(
        stack,
        "DemoExecutionRole",
        secrets=resources["secrets"],
        parameters=resources["parameters"],  # type: ignore[arg-type]
    )
    _use(stack, role, "Demo", resources)  # type: ignore[arg-type]
    assert _iam(stack) == snapshot
