"""Templates written by hand as plain dicts, for the tests of the verification
(``test_role_view``, ``test_verify_roles``, ``test_verify_tasks``, ``test_verify_checks``): the
constants of one role, its policy and its task definition in one stack, builders of their
resources, templates and assembly, the library's record of the role, and helpers that run a
check over the role and read its findings."""

from __future__ import annotations

import copy
from typing import Any

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._role_view import (
    AwsManagedDocument,
    Check,
    Finding,
    PolicyRecord,
    RoleRecord,
    RoleView,
    task_definitions,
)
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PATH = "/a/S.template.json"
WHERE = "S/Role"
ROLE_ID = "Role1234"
ROLE_PATH = "S/Role/Resource/Resource"
POLICY_ID = "RolePolicy"
POLICY_PATH = "S/Role/Policy/Resource"
TASK_ID = "TaskDef"
TASK_PATH = "S/TaskDef/Resource"

REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:v1"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api"
STREAMS = f"{LOG_GROUP}:log-stream:api/app/*"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/flag"
PULL = "ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
STARTER_NAME = "service-role/AmazonECSTaskExecutionRolePolicy"
STARTER = AwsManagedDocument(
    STARTER_NAME,
    (
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
)

TRUST_STATEMENT: dict[str, Any] = {
    "Action": "sts:AssumeRole",
    "Effect": "Allow",
    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Condition": {
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    },
}
TRUST: dict[str, Any] = {"Statement": [TRUST_STATEMENT], "Version": "2012-10-17"}

TOKEN_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "ecr:GetAuthorizationToken",
    "Resource": "*",
}
PULL_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    ],
    "Resource": REPOSITORY,
}
LOGS_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": f"{LOG_GROUP}:log-stream:api/*",
}
SECRET_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": SECRET,
}
PARAMETER_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "ssm:GetParameters",
    "Resource": PARAMETER,
}
STATEMENTS = (TOKEN_STATEMENT, PULL_STATEMENT, LOGS_STATEMENT)
EVERY_STATEMENT = (*STATEMENTS, SECRET_STATEMENT, PARAMETER_STATEMENT)


# -- building templates -------------------------------------------------------------------------


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [copy.deepcopy(s) for s in statements]}


def role(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": copy.deepcopy(TRUST), **properties},
    }


def policy(
    *statements: dict[str, Any],
    roles: list[Any] | None = None,
    kind: str = "AWS::IAM::ManagedPolicy",
) -> dict[str, Any]:
    properties: dict[str, Any] = {"PolicyDocument": document(*statements)}
    if kind == "AWS::IAM::RolePolicy":
        properties["PolicyName"] = "extra"
        properties["RoleName"] = (roles or [{"Ref": ROLE_ID}])[0]
    else:
        properties["Roles"] = [{"Ref": ROLE_ID}] if roles is None else roles
        if kind == "AWS::IAM::Policy":
            properties["PolicyName"] = "extra"
    return {"Type": kind, "Properties": properties}


def container(name: str = "app", image: Any = IMAGE, **properties: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Image": image,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {"awslogs-group": "/ecs/api", "awslogs-stream-prefix": "api"},
        },
        **properties,
    }


def task_definition(
    *containers: dict[str, Any], role_arn: Any = None, family: str = "api"
) -> dict[str, Any]:
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "ExecutionRoleArn": role_arn or {"Fn::GetAtt": [ROLE_ID, "Arn"]},
            "Family": family,
            "ContainerDefinitions": list(containers) or [container()],
        },
    }


def resources(
    *,
    role_resource: dict[str, Any] | None = None,
    statements: tuple[dict[str, Any], ...] = STATEMENTS,
    task: dict[str, Any] | None = None,
    **extra: dict[str, Any],
) -> dict[str, Any]:
    """The role, its policy with ``statements``, a task definition, and ``extra``."""
    return {
        ROLE_ID: role_resource or role(),
        POLICY_ID: policy(*statements),
        TASK_ID: task or task_definition(),
        **extra,
    }


def template(
    body_resources: dict[str, Any],
    *,
    path: str = PATH,
    stack: str = "S",
    region: str | None = REGION,
    parameters: dict[str, Any] | None = None,
) -> Template:
    body: dict[str, Any] = {"Resources": body_resources}
    if parameters:
        body["Parameters"] = parameters
    return Template(path, body, stack, ACCOUNT, region)


def assembly_of(*templates: Template) -> Assembly:
    """The templates, with the role, its policy and the task definition of the first named."""
    assembly = Assembly(list(templates))
    first = templates[0]
    for logical_id, construct_path in (
        (ROLE_ID, ROLE_PATH),
        (POLICY_ID, POLICY_PATH),
        (TASK_ID, TASK_PATH),
    ):
        if logical_id in first.resources:
            assembly.name(first, logical_id, construct_path)
    return assembly


def record(
    statements: tuple[dict[str, Any], ...] = STATEMENTS,
    *,
    trust: Any = None,
    derive: bool = False,
    aws_managed: tuple[AwsManagedDocument, ...] = (),
    path: str = ROLE_PATH,
) -> RoleRecord:
    return RoleRecord(
        where=WHERE,
        path=path,
        trust=copy.deepcopy(TRUST) if trust is None else trust,
        derive=derive,
        policies=(PolicyRecord(POLICY_PATH, tuple(copy.deepcopy(s) for s in statements)),),
        aws_managed_policies=aws_managed,
    )


def run(check: Check, assembly: Assembly, role_record: RoleRecord) -> list[Finding]:
    """One check over the role of ``role_record`` (the first template's ``Role1234``)."""
    view = RoleView(assembly, role_record, assembly.templates[0], ROLE_ID)
    return check(view, task_definitions(assembly))


def check_of(
    check: Check,
    body_resources: dict[str, Any],
    role_record: RoleRecord | None = None,
    **options: Any,
) -> list[Finding]:
    return run(check, assembly_of(template(body_resources, **options)), role_record or record())


def rules(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, rules(findings)
    return findings[0]


def assert_points_at(finding: Finding, logical_id: str, path: str = PATH) -> None:
    assert finding.description.startswith(f"{WHERE}: ")
    assert (finding.template, finding.logical_id) == (path, logical_id)


# -- roles and policies of several modules --------------------------------------------------------

NAMED_ROLE = role(RoleName="api-execution")


def starter_arn(partition: Any = "aws") -> Any:
    return {"Fn::Join": ["", ["arn:", partition, f":iam::aws:policy/{STARTER_NAME}"]]}


def boundary_policy(doc: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": doc}}
