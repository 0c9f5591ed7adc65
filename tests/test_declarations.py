"""Every prop is declared once: signatures and docstrings agree with the table, each method
hands every prop it takes on, and each prop feeds only the kinds it declares."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    S3File,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._declarations import PROPS, Prop, sequence_props, switches
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._prop_needs import needs_of_props
from ecs_exec_roles._props import ResourceProps, RoleOptions, ScopedProps
from ecs_exec_roles._scoped import scoped_needs

ENV = cdk.Environment(account="123456789012", region="eu-west-1")

# Every public callable that takes props, and whether its docstring documents each of them.
CALLABLES: list[tuple[str, Callable[..., Any], bool]] = [
    ("StarterExecutionRole", StarterExecutionRole.__init__, True),
    ("MinimalExecutionRole", MinimalExecutionRole.__init__, True),
    ("SharedExecutionRole", SharedExecutionRole.__init__, True),
    ("SharedExecutionRole.add_resources", SharedExecutionRole.add_resources, False),
    ("SharedExecutionRole.add_family", SharedExecutionRole.add_family, False),
    ("HardenExecutionRoles", HardenExecutionRoles.__init__, True),
]
_NOT_PROPS = {"self", "scope", "id"}


def _params(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if name not in _NOT_PROPS
    }


def _documented(function: Callable[..., Any]) -> dict[str, str]:
    """The ``:param name: text`` entries of a docstring, whitespace made single spaces.

    The docstring of ``__init__`` is its class's (as Sphinx and IDEs read it)."""
    owner = function.__qualname__.split(".")[0]
    doc = inspect.getdoc(function)
    if function.__name__ == "__init__":
        doc = inspect.getdoc(function.__globals__[owner])
    entries = re.findall(r"^:param (\w+):(.*?)(?=^:param |^\S|\Z)", doc or "", re.M | re.S)
    return {name: " ".join(text.split()) for name, text in entries}


@pytest.mark.parametrize(("name", "function"), [(n, f) for n, f, _ in CALLABLES])
def test_each_signature_writes_each_prop_as_declared(name: str, function: Any) -> None:
    for prop, parameter in _params(function).items():
        assert prop in PROPS, f"{name}: {prop} is not declared in _declarations.PROPS"
        declared = PROPS[prop]
        assert parameter.annotation == declared.annotation, f"{name}: {prop}"
        default = None if parameter.default is inspect.Parameter.empty else parameter.default
        assert default == declared.default, f"{name}: {prop}"
        assert type(default) is type(declared.default), f"{name}: {prop}"


@pytest.mark.parametrize(("name", "function"), [(n, f) for n, f, d in CALLABLES if d])
def test_each_docstring_documents_each_prop_as_declared(name: str, function: Any) -> None:
    documented = _documented(function)
    params = _params(function)
    assert set(documented) - _NOT_PROPS == set(params), name
    for prop in params:
        assert documented[prop] == " ".join(PROPS[prop].doc.split()), f"{name}: {prop}"


def test_add_family_documents_its_family_as_declared() -> None:
    documented = _documented(SharedExecutionRole.add_family)
    assert documented == {"family": " ".join(PROPS["family"].doc.split())}


def test_the_docstring_reader_reads_every_entry_and_only_it() -> None:
    def sample(a: int, b: int) -> None:
        """Do it.

        :param a: first,
            continued.
        :param b: second.

        After.
        """

    assert _documented(sample) == {"a": "first, continued.", "b": "second."}


def test_every_declared_prop_is_taken_somewhere() -> None:
    taken = {prop for _, function, _ in CALLABLES for prop in _params(function)}
    assert taken == set(PROPS)


def test_resource_props_hold_exactly_the_declared_resource_props() -> None:
    fields = set(ResourceProps.__dataclass_fields__) - {"log_writes"}
    scoped = set(ScopedProps.__dataclass_fields__)
    options = set(RoleOptions.__dataclass_fields__)
    assert fields | scoped | options == set(PROPS)
    assert not fields & scoped and not fields & options and not scoped & options


def test_sequences_and_switches_are_read_from_the_annotations() -> None:
    assert "repositories" in sequence_props() and "resource_tags" not in sequence_props()
    assert "firelens_default_router" in switches() and "max_managed_policies" not in switches()


# -- every prop a method takes is handed on -----------------------------------------------------


class _Sentinel:
    """A value that stands for one prop, so that where it arrives tells whether it was handed
    on under its own name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# Role options must pass their checks before the props are read: a valid value unlike the
# default of each, so that a swapped or defaulted option shows.
# Where the objects given to every constructor are made.
_GIVEN = cdk.Stack(cdk.App(), "Given")
_ROLE_VALUES = {
    "derive": False,
    "role_name": "Given",
    "path": "/given/",
    "permissions_boundary": None,
    "description": "given",
    "trust_conditions": True,
    "trust_all_regions": True,
    "max_managed_policies": 7,
    "app_roles": False,
    "bucket_owner_accounts": {"given-bucket": "111122223333"},
    "bucket_owner_condition": True,
    "ecr_pull_endpoints": [
        ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
            _GIVEN, "Endpoint", vpc_endpoint_id="vpce-0a", port=443
        )
    ],
    "ecr_pull_vpcs": [
        ec2.Vpc.from_vpc_attributes(_GIVEN, "Vpc", vpc_id="vpc-0a", availability_zones=["a"])
    ],
}


@pytest.mark.parametrize(("name", "function"), [(n, f) for n, f, _ in CALLABLES])
def test_each_method_hands_every_prop_on_under_its_name(
    name: str, function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: dict[str, Any] = {}
    real_options = RoleOptions.checked.__func__  # type: ignore[attr-defined]

    def options(cls: type[RoleOptions], where: str, **values: Any) -> RoleOptions:
        received.update(values)
        return real_options(cls, where, **values)  # type: ignore[no-any-return]

    def resources(cls: type[ResourceProps], where: str, **values: Any) -> ResourceProps:
        received.update(values)
        return ResourceProps()

    def scoped(cls: type[ScopedProps], where: str, **values: Any) -> ScopedProps:
        received.update(values)
        return ScopedProps()

    monkeypatch.setattr(RoleOptions, "checked", classmethod(options))
    monkeypatch.setattr(ResourceProps, "checked", classmethod(resources))
    monkeypatch.setattr(ScopedProps, "checked", classmethod(scoped))
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    given = {
        prop: _ROLE_VALUES[prop] if prop in _ROLE_VALUES else _Sentinel(prop)
        for prop in _params(function)
    }
    if name == "HardenExecutionRoles":
        HardenExecutionRoles(**given)
    elif "." in name:
        role = SharedExecutionRole(stack, "Role")
        received.clear()
        getattr(role, function.__name__)(**given)
    else:
        function.__globals__[name](stack, "Role", **given)
    assert {prop: received.get(prop) for prop in given} == given


# -- each prop feeds the kinds it declares ------------------------------------------------------


def _sample(stack: cdk.Stack, prop: str) -> Any:
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "files")
    key = kms.Key.from_key_arn(stack, "Key", f"arn:aws:kms:eu-west-1:123456789012:key/{'1' * 36}")
    secret = secretsmanager.Secret.from_secret_complete_arn(
        stack, "Secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    )
    samples: dict[str, Any] = {
        "repositories": [ecr.Repository.from_repository_name(stack, "Repo", "app")],
        "log_groups": [logs.LogGroup.from_log_group_name(stack, "Logs", "app")],
        "secrets": [secret],
        "parameters": [ssm.StringParameter.from_string_parameter_name(stack, "P", "/app/p")],
        "keys": [key],
        "registry_credentials": [secret],
        "environment_files": [ecs.EnvironmentFile.from_bucket(bucket, "app.env")],
        "firelens_config_files": [S3File(bucket, "fluent.conf")],
        "credential_specs": [ecs.DomainlessCredentialSpec.from_s3_bucket(bucket, "spec.json")],
        "log_groups_to_create": [logs.LogGroup.from_log_group_name(stack, "New", "new")],
        "pull_through_cache_prefixes": ["docker-hub"],
        "image_assets": [],
        "container_assets": True,
        "guardduty_runtime_monitoring": True,
        "firelens_default_router": True,
        "repository_prefixes": ["team/"],
        "log_group_prefixes": ["team/"],
        "secret_prefixes": ["team/"],
        "parameter_prefixes": ["/team/"],
        "resource_tags": {"team": "payments"},
    }
    return samples[prop]


def _kinds_fed(prop: Prop) -> set[Kind]:
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    role = SharedExecutionRole(stack, "Role")
    if prop.name == "log_stream_prefixes":
        values = {"log_groups": _sample(stack, "log_groups"), prop.name: ["app"]}
    elif prop.name == "pull_through_cache_tagging":
        values = {"pull_through_cache_prefixes": ["docker-hub"], prop.name: True}
    else:
        values = {prop.name: _sample(stack, prop.name)}
    if prop.name in ScopedProps.__dataclass_fields__:
        needs = scoped_needs(role, ScopedProps.checked("Role", **values))
        return {need.kind for need in needs}
    needs = needs_of_props(role, "Role", ResourceProps.checked("Role", **values))
    fed = {need.kind for need in needs}
    if prop.name == "log_stream_prefixes":
        fed -= {Kind.LOG_GROUP}
    if prop.name == "pull_through_cache_tagging":
        fed -= {Kind.REPOSITORY, Kind.PULL_THROUGH}
    return fed


@pytest.mark.parametrize(
    "prop",
    [p for p in PROPS.values() if p.feeds and p.name != "image_assets"],
    ids=lambda p: p.name,
)
def test_each_prop_feeds_only_kinds_it_declares(prop: Prop) -> None:
    fed = _kinds_fed(prop)
    assert fed, prop.name
    assert fed <= set(prop.feeds), prop.name


def test_every_kind_names_in_its_fix_only_props_that_feed_it() -> None:
    for kind in Kind:
        named = re.findall(r"\w+", kind.prop.split(" (with ")[0])
        named = [word for word in named if word != "or"]
        assert named, kind
        for prop in named:
            assert kind in PROPS[prop].feeds, (kind, prop)


# Props whose objects are the kind's resources themselves (a repository, a file), as opposed
# to props that bring a kind's resources with them (a secret's key, an asset's repository).
_OWN = {
    "repositories",
    "log_groups",
    "keys",
    "environment_files",
    "firelens_config_files",
    "credential_specs",
    "log_groups_to_create",
}


def test_every_prop_of_resources_is_named_in_the_fix_of_its_first_kind() -> None:
    for prop in _OWN:
        assert prop in PROPS[prop].feeds[0].prop, prop
