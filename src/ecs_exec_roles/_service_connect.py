"""Service Connect: the proxy ECS adds to each task of a service, whose logs go through the task
definition's execution role.

A service's ``ServiceConnectConfiguration.LogConfiguration`` (the L2's
``service_connect_configuration=ServiceConnectProps(log_driver=...)``, or a ``CfnService``'s)
configures the log driver of the Service Connect proxy container ECS adds to the service's
tasks ("Service Connect configuration" in the Amazon ECS Developer Guide: the proxy's logs use
the task definition's execution role, as a container's do). The task definition's own
containers do not show it; the reader reads it as one more container of the task definition,
named after the service, so that derivation and the verification scope its ``awslogs``
writes to the streams under its ``awslogs-stream-prefix``, as for any container.

- :func:`proxies_of`: for derivation, the services of the app that run a task definition, read
  from the construct tree (L2 services make a ``CfnService``; an L1 one is read the same way).
- :func:`template_proxies`: for the verification, the services of a template that name a task
  definition of the same template by ``Ref``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._assembly import Assembly
from ._reader import api_names
from ._template import Template

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk import aws_ecs as ecs

__all__ = [
    "Proxy",
    "proxies_of",
    "proxy_name",
    "template_proxies",
]


@dataclass(frozen=True)
class Proxy:
    """The Service Connect proxy of one service, as a container of its task definition.

    :param container: the container in template form (its name and log configuration).
    :param options: the log driver's options as CDK strings of the service's stack.
    """

    container: dict[str, Any]
    options: Mapping[str, str]


def proxy_name(service: str) -> str:
    """How messages name the proxy of the service ``service`` (a path or a logical ID)."""
    return f"Service Connect proxy of {service}"


# The property of a service's Service Connect configuration, as set on its L1 (an L2 sets it
# lazily, which the L1's typed getter cannot read, and which may resolve to nothing).
_CONFIGURATION = "serviceConnectConfiguration"


def proxies_of(
    stack: cdk.Stack, services: Sequence[ecs.CfnService], task_refs: Sequence[Any]
) -> list[list[Proxy]]:
    """The proxies with a log configuration of the services of ``stack`` that run each task
    definition of ``task_refs`` (their resolved ``Ref`` in ``stack``), in order."""
    # Imported here: the verification reads templates without aws-cdk-lib (template_proxies).
    from ._cdk_internals import cfn_properties, named_construct

    found: list[list[Proxy]] = [[] for _ in task_refs]
    if not services:
        return found
    # Each as a mapping: resolving drops a value that resolves to nothing (an L2 service
    # without Service Connect sets the property lazily, to nothing).
    resolved = stack.resolve(
        [
            {
                "task": properties.get("taskDefinition"),
                "configuration": properties.get(_CONFIGURATION),
            }
            for properties in (cfn_properties(service) for service in services)
        ]
    )
    for service, item in zip(services, resolved, strict=True):
        task_ref, rendered = item.get("task"), item.get("configuration")
        if task_ref not in task_refs or not isinstance(rendered, dict):
            continue
        configuration = api_names(rendered)
        log = configuration.get("logConfiguration")
        if not isinstance(log, dict) or configuration.get("enabled") is False:
            continue
        log = api_names(log)
        owner = named_construct(service)
        container = {"name": proxy_name(str(owner.node.path)), "logConfiguration": log}
        options = log.get("options")
        strings = _cdk_strings(options) if isinstance(options, dict) else {}
        found[task_refs.index(task_ref)].append(Proxy(container, strings))
    return found


def _cdk_strings(options: Mapping[str, Any]) -> dict[str, str]:
    """Resolved log options as CDK strings of the service's stack (a ``Ref`` stays one), where
    the proxy's needs go: derivation builds the log group's ARN from them."""
    import aws_cdk as cdk

    return {
        str(key): value if isinstance(value, str) else cdk.Token.as_string(value)
        for key, value in options.items()
    }


def template_proxies(
    assembly: Assembly, template: Template, task_logical_id: str
) -> list[dict[str, Any]]:
    """The proxies (template-form containers) of the services of ``template`` that name the
    task definition ``task_logical_id`` by ``Ref``."""
    found = []
    for logical_id, resource in template.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::ECS::Service":
            continue
        properties = template.properties(logical_id)
        if properties.get("TaskDefinition") != {"Ref": task_logical_id}:
            continue
        configuration = properties.get("ServiceConnectConfiguration")
        if not isinstance(configuration, dict) or configuration.get("Enabled") is False:
            continue
        log = configuration.get("LogConfiguration")
        if isinstance(log, dict):
            # Named as the construct tree names it: an L2 service's resource is its `Service`.
            path = assembly.label(template, logical_id).removesuffix("/Service")
            found.append({"Name": proxy_name(path), "LogConfiguration": log})
    return found
