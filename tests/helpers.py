"""Small helpers to read our roles out of synthesized templates."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from ecs_exec_roles._props import RoleOptions


def template_json(stack: cdk.Stack) -> dict[str, Any]:
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def policy_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """All statements of the customer-managed policies attached to a role, in order."""
    statements: list[dict[str, Any]] = []
    for logical_id in sorted(resources_of_type(template, "AWS::IAM::ManagedPolicy")):
        properties = template["Resources"][logical_id]["Properties"]
        if {"Ref": role_logical_id} in properties.get("Roles", []):
            statements.extend(properties["PolicyDocument"]["Statement"])
    return statements


def role_logical_id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.role.node.default_child)


def role_options(max_managed_policies: int = 10) -> RoleOptions:
    """The default options of a role at ``Stack/Role``, checked."""
    return RoleOptions.checked(
        "Stack/Role",
        role_name=None,
        path=None,
        permissions_boundary=None,
        description=None,
        trust_conditions=True,
        trust_all_regions=False,
        max_managed_policies=max_managed_policies,
    )
