"""Concrete values for the intrinsics of synthesized templates, for tests, benchmarks and scripts.

A template names resources and the deploy environment by CloudFormation intrinsics; what
IAM evaluates and counts are the values CloudFormation substitutes. :func:`resolve` performs
that substitution for an :class:`Environment`: pseudo parameters, and the ``Ref`` and
``Fn::GetAtt`` values a caller supplies; anything else raises :class:`UnresolvableError`,
unless ``placeholders`` asks for ``<Name>`` in its place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Environment", "UnresolvableError", "resolve"]


class UnresolvableError(ValueError):
    """A value holds an intrinsic the environment gives no value for."""


@dataclass(frozen=True)
class Environment:
    """Concrete values for CloudFormation's pseudo parameters and for resource intrinsics.

    :param attributes: ``{logical_id: {attribute: value}}`` for ``Fn::GetAtt``.
    :param refs: ``{logical_id: value}`` for ``Ref`` of a resource or parameter.
    :param imports: ``{export name: value}`` for ``Fn::ImportValue``.
    :param placeholders: give a ``Ref`` or ``Fn::GetAtt`` without a value as ``<Name>`` or
        ``<Name.Attribute>`` instead of raising (for display).
    """

    partition: str = "aws"
    region: str = "eu-west-1"
    account: str = "123456789012"
    url_suffix: str = "amazonaws.com"
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    refs: Mapping[str, str] = field(default_factory=dict)
    imports: Mapping[str, str] = field(default_factory=dict)
    placeholders: bool = False

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": self.url_suffix,
        }.get(name)


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _ref(name: str, env: Environment) -> str:
    pseudo = env.pseudo(name)
    if pseudo is not None:
        return pseudo
    if name in env.refs:
        return env.refs[name]
    if env.placeholders:
        return f"<{name}>"
    raise UnresolvableError(f"no value for Ref {name!r}; supply it in Environment.refs")


def _get_att(logical_id: str, attribute: str, env: Environment) -> str:
    try:
        return env.attributes[logical_id][attribute]
    except KeyError:
        if env.placeholders:
            return f"<{logical_id}.{attribute}>"
        raise UnresolvableError(
            f"no value for Fn::GetAtt {logical_id}.{attribute}; supply it in Environment.attributes"
        ) from None


def resolve(value: Any, env: Environment) -> Any:
    """Substitute every intrinsic in ``value`` with a concrete value from ``env``."""
    if isinstance(value, list):
        return [resolve(item, env) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return _ref(argument, env)
        if function == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else argument
            )
            return _get_att(logical_id, attribute, env)
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(str(resolve(part, env)) for part in resolve(parts, env))
        if function == "Fn::Select":
            index, items = argument
            return resolve(items, env)[int(resolve(index, env))]
        if function == "Fn::Split":
            delimiter, text = argument
            return str(resolve(text, env)).split(delimiter)
        if function == "Fn::Sub":
            return _sub(argument, env)
        if function == "Fn::ImportValue":
            name = resolve(argument, env)
            if name in env.imports:
                return env.imports[name]
            if env.placeholders:
                return f"<{name}>"
            raise UnresolvableError(f"no value for Fn::ImportValue {name!r}")
        if function.startswith("Fn::") or function == "Condition":
            raise UnresolvableError(f"intrinsic {function} is not supported")
    return {key: resolve(item, env) for key, item in value.items()}


def _sub(argument: Any, env: Environment) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {name: resolve(item, env) for name, item in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return _get_att(logical_id, attribute, env)
        return _ref(name, env)

    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")
