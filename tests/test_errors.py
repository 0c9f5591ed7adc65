"""The library's single error root (``_errors``): ``ExecutionRoleError`` is a ``ValueError``,
exported from the package under the package's name, and raised at construction with a
message that names the construct's path, the bad value and the fix.

The messages of each bad prop are checked one by one in ``test_bad_input`` (and per feature
in ``test_props``, ``test_features``, ``test_scale``); these tests check the error type itself
and how a constructor call raises it.
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from constructs import Construct

import ecs_exec_roles
from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
    _errors,
)


def test_execution_role_error_is_a_value_error_and_nothing_else() -> None:
    assert ExecutionRoleError.__mro__ == (
        ExecutionRoleError,
        ValueError,
        Exception,
        BaseException,
        object,
    )
    assert not issubclass(ExecutionRoleError, TypeError)


def test_execution_role_error_is_exported_under_the_package_name() -> None:
    assert ecs_exec_roles.ExecutionRoleError is _errors.ExecutionRoleError
    assert "ExecutionRoleError" in ecs_exec_roles.__all__
    assert _errors.__all__ == ["ExecutionRoleError"]
    # Tracebacks and reprs name the public module, not the private one it is defined in.
    assert ExecutionRoleError.__module__ == "ecs_exec_roles"
    assert repr(ExecutionRoleError) == "<class 'ecs_exec_roles.ExecutionRoleError'>"


def test_execution_role_error_keeps_its_message_as_given() -> None:
    error = ExecutionRoleError("S/Role: keys is 'k'")
    assert str(error) == "S/Role: keys is 'k'"
    assert error.args == ("S/Role: keys is 'k'",)


def test_constructor_raises_it_as_a_value_error_when_a_prop_is_out_of_range(
    stack: cdk.Stack,
) -> None:
    with pytest.raises(ValueError) as raised:
        MinimalExecutionRole(stack, "Role", max_managed_policies=0)
    assert type(raised.value) is ExecutionRoleError
    assert str(raised.value) == (
        "Stack/Role: max_managed_policies is 0; IAM allows 1 to 25 managed policies per role "
        "(10 unless the quota was raised). Pass an int in that range."
    )


def test_message_names_the_full_construct_path_when_the_role_is_nested(
    stack: cdk.Stack,
) -> None:
    with pytest.raises(ExecutionRoleError) as raised:
        SharedExecutionRole(
            Construct(stack, "Team"),
            "Role",
            resource_tags=["team", "payments"],  # type: ignore[arg-type]
        )
    assert str(raised.value) == (
        "Stack/Team/Role: resource_tags is ['team', 'payments']; pass a mapping of tag key to "
        "value, for example {'team': 'payments'}."
    )


def test_constructor_raises_it_when_two_props_contradict_each_other(stack: cdk.Stack) -> None:
    with pytest.raises(ExecutionRoleError) as raised:
        StarterExecutionRole(stack, "Role", trust_all_regions=True, trust_conditions=False)
    assert str(raised.value) == (
        "Stack/Role: trust_all_regions=True widens the aws:SourceArn condition, but "
        "trust_conditions=False removes it. Set only one of them."
    )
