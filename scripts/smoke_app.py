"""Synthesize a small app with the installed package, as a user's first app would.

One Fargate task definition whose container pulls from an ECR repository and writes to a
log group, with a ``MinimalExecutionRole`` as its execution role; ``app.synth()`` runs in
this process (no CDK CLI). The script checks that the role's policy names exactly the
repository and the log group, and prints the version and where the package was imported
from.

Usage: ``python scripts/smoke_app.py`` with the interpreter of the environment to check. It
imports nothing from this repository, so that in a fresh virtual environment it exercises
the installed wheel and its runtime dependencies only.
"""

from __future__ import annotations

import json
import sys
import tempfile
from importlib.metadata import version
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

import ecs_exec_roles
from ecs_exec_roles import MinimalExecutionRole

REPOSITORY_ARN = "arn:${AWS::Partition}:ecr:eu-west-1:123456789012:repository/team/api"
LOG_GROUP_ARN = (
    "arn:${AWS::Partition}:logs:eu-west-1:123456789012:log-group:/ecs/api:log-stream:api/*"
)


def synthesize(outdir: str) -> dict[str, Any]:
    """The template of the app's one stack."""
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Smoke", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/api")
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/api")
    execution = MinimalExecutionRole(stack, "ExecutionRole")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=execution.role)
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=log_group),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Smoke").template
    return template


def text(value: Any) -> str:
    """A template value as text: ``Fn::Join`` joined, a ``Ref`` as ``${name}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        return str(separator).join(text(part) for part in parts)
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return "${" + str(value["Ref"]) + "}"
    return json.dumps(value, sort_keys=True)


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(template: dict[str, Any]) -> dict[str, list[str]]:
    """Each action the customer-managed policies allow, with the resources it is allowed on."""
    by_action: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            for action in listed(statement["Action"]):
                resources = [text(target) for target in listed(statement["Resource"])]
                by_action.setdefault(action, []).extend(resources)
    return by_action


def problems(template: dict[str, Any]) -> list[str]:
    """What the template lacks or allows beyond the app's repository and log group."""
    expected = {
        "ecr:GetAuthorizationToken": ["*"],
        "ecr:BatchCheckLayerAvailability": [REPOSITORY_ARN],
        "ecr:GetDownloadUrlForLayer": [REPOSITORY_ARN],
        "ecr:BatchGetImage": [REPOSITORY_ARN],
        "logs:CreateLogStream": [LOG_GROUP_ARN],
        "logs:PutLogEvents": [LOG_GROUP_ARN],
    }
    found = []
    if allowed(template) != expected:
        found.append(f"the policies allow {allowed(template)}, expected {expected}")
    resources = template["Resources"]
    (task,) = (r for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition")
    role = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    for name, resource in resources.items():
        attached = resource.get("Properties", {}).get("Roles")
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and attached != [{"Ref": role}]:
            found.append(f"{name} is not attached to the execution role {role}")
    return found


def main() -> int:
    with tempfile.TemporaryDirectory() as outdir:
        found = problems(synthesize(outdir))
    print(f"ecs-exec-roles {ecs_exec_roles.__version__} from {ecs_exec_roles.__file__}")
    print(f"aws-cdk-lib {version('aws-cdk-lib')}, constructs {version('constructs')}")
    if ecs_exec_roles.__version__ != version("ecs-exec-roles"):
        found.append(f"__version__ {ecs_exec_roles.__version__!r} is not the installed one")
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
