"""What ``_cdk_internals`` relies on in aws-cdk-lib and jsii beyond their public API, pinned.

Each test fails if a release of aws-cdk-lib or jsii changes the behaviour a shortcut or a
read of ``_cdk_internals`` depends on (the suite runs on the oldest supported and the newest
releases), rather than the library's output changing unseen.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import MinimalExecutionRole
from ecs_exec_roles._cdk_internals import (
    AUTOMATIC_ROLE_ID,
    DEFAULT_POLICY_ID,
    FIRELENS_LOG_GROUP_ID,
    cfn_properties,
    granting_context,
    identity,
    is_proxy_of,
    read_attribute,
)

_SECRET_PROXY = jsii.proxy_for(secretsmanager.ISecret)


# -- identity: the jsii reference ----------------------------------------------------------------


def test_a_construct_made_in_javascript_keeps_its_identity_across_python_objects() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    task = ecs.FargateTaskDefinition(stack, "Task")
    # aws-cdk-lib makes the execution role in JavaScript: each read hands Python a new object.
    task.add_container("c", image=ecs.ContainerImage.from_registry("nginx"))
    first, second = task.obtain_execution_role(), task.obtain_execution_role()
    assert identity(first) == identity(second)
    assert identity(first) != identity(task)
    assert isinstance(identity(first), str)


def test_an_object_jsii_does_not_know_is_identified_by_its_python_id() -> None:
    value = object()
    assert identity(value) == id(value)


# -- the proxies of imported resources -------------------------------------------------------------


def test_an_imported_secret_is_a_proxy_with_a_delegate_per_interface() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    imported = secretsmanager.Secret.from_secret_name_v2(stack, "Imported", "db")
    created = secretsmanager.Secret(stack, "Created")
    assert is_proxy_of(imported, secretsmanager.ISecret)
    assert not is_proxy_of(created, secretsmanager.ISecret)
    assert not is_proxy_of("arn:aws:secretsmanager:eu-west-1:1:secret:db", secretsmanager.ISecret)
    # The shortcut depends on jsii keeping one delegate object per interface.
    delegates = imported.__dict__["_delegates"]
    assert isinstance(delegates, list)
    assert any(isinstance(delegate, _SECRET_PROXY) for delegate in delegates)


@pytest.mark.parametrize(
    ("make", "attribute"),
    [
        (lambda s: secretsmanager.Secret.from_secret_name_v2(s, "I", "db"), "secret_name"),
        (lambda s: secretsmanager.Secret.from_secret_name_v2(s, "I", "db"), "secret_arn"),
        (lambda s: ecr.Repository.from_repository_name(s, "I", "team/api"), "repository_arn"),
        (lambda s: ssm.StringParameter.from_string_parameter_name(s, "I", "/p"), "parameter_arn"),
        (lambda s: secretsmanager.Secret(s, "I"), "secret_arn"),
        (lambda s: secretsmanager.Secret.from_secret_name_v2(s, "I", "db"), "no_such_attribute"),
    ],
)
def test_read_attribute_reads_what_getattr_reads(make: Any, attribute: str) -> None:
    stack = cdk.Stack(cdk.App(), "S")
    value = make(stack)
    assert read_attribute(value, attribute) == getattr(value, attribute, None)


def test_read_attribute_of_text_is_nothing() -> None:
    assert read_attribute("arn:aws:s3:::bucket", "bucket_arn") is None
    assert read_attribute(b"bytes", "bucket_arn") is None


# -- the task definition that grants -------------------------------------------------------------


def test_the_grants_of_add_container_come_with_its_task_definition() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    seen: list[tuple[Any, Any]] = []

    class Watching(iam.Role):
        def add_to_principal_policy(self, statement: iam.PolicyStatement) -> Any:
            # Read one frame below the grant, as the recording role reads it.
            seen.append(granting_context(2))
            return super().add_to_principal_policy(statement)

    watched = Watching(stack, "Watched", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    task = ecs.FargateTaskDefinition(stack, "Task", family="web", execution_role=watched)
    repository = ecr.Repository.from_repository_name(stack, "Repo", "team/web")
    task.add_container("web", image=ecs.ContainerImage.from_ecr_repository(repository))
    assert seen, "aws-cdk-lib no longer grants the pull through the role"
    assert all(found is task and owner is task for found, owner in seen)


def test_a_grant_outside_a_task_definition_has_no_context() -> None:
    assert granting_context(1) == (None, None)


# -- the construct IDs aws-cdk-lib gives ---------------------------------------------------------


def test_the_ids_of_what_aws_cdk_lib_makes_for_a_task_definition() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("nginx"),
        secrets={"S": ecs.Secret.from_secrets_manager(secretsmanager.Secret(stack, "Secret"))},
        logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
    )
    # The default FireLens router is added while the app is synthesized.
    app.synth()
    role = task.node.find_child(AUTOMATIC_ROLE_ID)
    assert isinstance(role, iam.Role)
    assert isinstance(role.node.find_child(DEFAULT_POLICY_ID), iam.Policy)
    routers = [child for child in task.node.children if isinstance(child, ecs.FirelensLogRouter)]
    assert len(routers) == 1
    assert routers[0].node.try_find_child(FIRELENS_LOG_GROUP_ID) is not None


def test_our_role_is_not_where_aws_cdk_lib_puts_its_own() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    role = MinimalExecutionRole(stack, "Role")
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role)
    task.add_container("app", image=ecs.ContainerImage.from_registry("nginx"))
    assert task.node.try_find_child(AUTOMATIC_ROLE_ID) is None


# -- cfn_properties: an L1's protected cfnProperties ---------------------------------------------


def test_an_l1s_properties_hold_its_references_as_the_template_will() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role, task_role=role)
    task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))
    resolved = stack.resolve(cfn_properties(task.node.default_child))
    arn = stack.resolve(role.role_arn)
    assert resolved["executionRoleArn"] == arn
    assert resolved["taskRoleArn"] == arn
    assert resolved["containerDefinitions"][0]["image"] == "public.ecr.aws/x/y:1"
    cfn_role = role.node.default_child
    assert stack.resolve(cfn_properties(cfn_role))["assumeRolePolicyDocument"]["Statement"]


# -- named_construct: the L2 an L1 belongs to -------------------------------------------------


def test_an_l1_is_named_by_the_l2_that_made_it() -> None:
    from aws_cdk import aws_ec2 as ec2

    from ecs_exec_roles._cdk_internals import named_construct

    stack = cdk.Stack(cdk.App(), "S")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    assert named_construct(role.node.default_child).node.path == "S/Role"
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("app", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"))
    cluster = ecs.Cluster(stack, "Cluster", vpc=ec2.Vpc(stack, "Vpc", max_azs=1))
    service = ecs.FargateService(stack, "Svc", cluster=cluster, task_definition=task)
    cfn_service = service.node.default_child
    assert cfn_service is not None and cfn_service.node.id == "Service"
    assert named_construct(cfn_service).node.path == "S/Svc"
    alone = ecs.CfnService(stack, "Service", cluster="c")
    assert named_construct(alone).node.path == "S/Service"
