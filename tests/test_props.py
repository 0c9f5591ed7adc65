"""Checked, frozen props (``_props``): shapes and plain values fail before anything is built."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._props import ResourceProps, RoleOptions, ScopedProps, as_sequence

OPTIONS: dict[str, Any] = {
    "role_name": None,
    "path": None,
    "permissions_boundary": None,
    "description": None,
    "trust_conditions": True,
    "trust_all_regions": False,
    "max_managed_policies": 10,
}


def test_props_are_frozen_tuples() -> None:
    props = ResourceProps.checked(
        "S/R", repositories=["a", "b"], log_groups=["g"], log_stream_prefixes=["web"]
    )
    assert props.repositories == ("a", "b")
    assert props.log_stream_prefixes == ("web",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        props.repositories = ()  # type: ignore[misc]


def test_fails_when_a_sequence_prop_is_a_generator_and_takes_other_iterables() -> None:
    with pytest.raises(
        ExecutionRoleError, match=r"secrets is a generator, which can be read only once"
    ):
        ResourceProps.checked("S/R", secrets=(name for name in ("a", "b")))
    assert ResourceProps.checked("S/R", secrets=range(2)).secrets == (0, 1)
    assert ResourceProps.checked("S/R", secrets=["a"]).secrets == ("a",)


def test_fails_when_a_sequence_prop_gets_one_value() -> None:
    with pytest.raises(ExecutionRoleError, match=r"^S/R: keys is 'k' \(str\), not a sequence"):
        as_sequence("S/R", "keys", "k")
    assert as_sequence("S/R", "keys", None) == ()


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"family": "a b"}, "family 'a b' is not an ECS task definition family"),
        ({"pull_through_cache_tagging": True}, "pull_through_cache_tagging=True needs"),
        ({"log_stream_prefixes": ["web"]}, "but no log_groups are given"),
        ({"log_groups": ["g"], "log_stream_prefixes": ["w*"]}, "log_stream_prefixes[0] is 'w*'"),
        ({"pull_through_cache_prefixes": ["Docker"]}, "pull_through_cache_prefixes[0] is"),
    ],
)
def test_fails_when_a_plain_value_is_bad(values: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ExecutionRoleError) as raised:
        ResourceProps.checked("S/R", **values)
    assert str(raised.value).startswith("S/R: ")
    assert fragment in str(raised.value)


def test_role_options_check_their_values() -> None:
    assert RoleOptions.checked("S/R", **OPTIONS).max_managed_policies == 10
    with pytest.raises(ExecutionRoleError, match="max_managed_policies is 0"):
        RoleOptions.checked("S/R", **{**OPTIONS, "max_managed_policies": 0})
    with pytest.raises(ExecutionRoleError, match="Set only one of them"):
        RoleOptions.checked(
            "S/R", **{**OPTIONS, "trust_conditions": False, "trust_all_regions": True}
        )


def test_scoped_props_sort_tags_and_check_prefixes() -> None:
    scoped = ScopedProps.checked(
        "S/R", secret_prefixes=["team/"], resource_tags={"b": "2", "a": "1"}
    )
    assert scoped.resource_tags == (("a", "1"), ("b", "2"))
    with pytest.raises(ExecutionRoleError, match=r"repository_prefixes\[0\] is 'te\*'"):
        ScopedProps.checked("S/R", repository_prefixes=["te*"])


def test_an_unknown_prop_name_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="repositorys"):
        ResourceProps.checked("S/R", repositorys=["a"])


def _collection_props(method: Any) -> list[str]:
    """The parameters of ``method`` that take several values (a sequence or a mapping)."""
    return [
        name
        for name, parameter in inspect.signature(method).parameters.items()
        if str(parameter.annotation).startswith(("Sequence[", "Mapping["))
    ]


_PUBLIC_METHODS = [
    MinimalExecutionRole.__init__,
    StarterExecutionRole.__init__,
    SharedExecutionRole.__init__,
    SharedExecutionRole.add_resources,
    SharedExecutionRole.add_family,
]


@pytest.mark.parametrize("method", _PUBLIC_METHODS, ids=lambda m: m.__qualname__)
def test_collection_props_are_optional_in_their_type(method: Any) -> None:
    # As aws-cdk-lib's props: a typed app may pass None where it has nothing.
    names = _collection_props(method)
    assert "secrets" in names
    for name in names:
        parameter = inspect.signature(method).parameters[name]
        assert str(parameter.annotation).endswith(" | None"), (name, parameter.annotation)
        assert parameter.default is None, name


@pytest.mark.parametrize(
    "construct", [MinimalExecutionRole, StarterExecutionRole, SharedExecutionRole]
)
def test_collection_props_given_none_are_none_given(construct: Any) -> None:
    def template(**props: Any) -> dict[str, Any]:
        stack = cdk.Stack(cdk.App(), "Stack")
        role = construct(stack, "Execution", **props)
        if isinstance(role, SharedExecutionRole):
            role.add_resources(**dict.fromkeys(_collection_props(role.add_resources)))
            role.add_family("api", **dict.fromkeys(_collection_props(role.add_family)))
        return Template.from_stack(stack).to_json()

    assert template(**dict.fromkeys(_collection_props(construct.__init__))) == template()
