"""Amazon ECS Express Mode services, read as the task definition ECS registers for them.

An ``AWS::ECS::ExpressGatewayService`` (``ecs.CfnExpressGatewayService``) that names an
``ExecutionRoleArn`` and a ``PrimaryContainer`` has ECS register a task definition with one
container, ``Main``, whose execution role is that role (Amazon ECS Developer Guide, "Amazon ECS
Express Mode service defaults":
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/express-service-work.html). ECS pulls
its image, fetches its ``Secrets`` and ``RepositoryCredentials`` and starts its ``awslogs``
driver with the role, as for any task: the primary container is read as that container.

Logs: with ``AwsLogsConfiguration`` the driver writes to its ``LogGroup`` under its
``LogStreamPrefix``. Without it, ECS creates a log group for the service at deployment (with the
service's infrastructure role, whose AWS managed policy may create log groups; the execution
role's may not), named ``/aws/ecs/<cluster>/<service name>-<suffix>`` with a suffix chosen then,
and the driver writes under the prefix ``ecs`` (same page, "Logging defaults"; the prefix is
also the API's default, ``ExpressGatewayServiceAwsLogsConfiguration``). The group's name is
known only once it exists, and a policy naming it through the service's attributes could only
be created after the service, whose first tasks need it: the role is allowed the streams under
``ecs/`` of the groups ``/aws/ecs/<cluster>/<service name>-*`` (``<cluster>`` ``default`` when
the service names none; any service name, ``*``, when the template does not tell it). That is
every service of the cluster whose name begins with this one's and a hyphen; to name one log
group exactly, give the service an ``AwsLogsConfiguration``.

A service given a ``TaskDefinitionArn`` instead runs that task definition, which is read as
such (it names the execution role itself).
"""

from __future__ import annotations

import re
from typing import Any

from ._reader import api_names

__all__ = [
    "DEFAULT_STREAM_PREFIX",
    "EXPRESS_CONTAINER_NAME",
    "EXPRESS_LOG_GROUP_REASON",
    "EXPRESS_SERVICE_TYPE",
    "express_containers",
    "is_deployment_named",
]

EXPRESS_SERVICE_TYPE = "AWS::ECS::ExpressGatewayService"
#: The name of the container ECS makes of an Express service's primary container.
EXPRESS_CONTAINER_NAME = "Main"
#: The stream prefix of an Express service's ``awslogs`` driver when it names none.
DEFAULT_STREAM_PREFIX = "ecs"
#: Why a role may write to the log groups ``/aws/ecs/<cluster>/<service>-*``.
EXPRESS_LOG_GROUP_REASON = (
    "ECS creates the log group of an Express Mode service without an AwsLogsConfiguration at "
    "deployment, named /aws/ecs/<cluster>/<service name>-<suffix> with a suffix chosen then; "
    "the wildcard covers that suffix, and the streams under the prefix ECS gives them."
)


def express_containers(properties: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The execution role an Express service names and the container ECS runs for it (template
    form, with the property names of ECS's API), from the service's properties (a template's,
    or an L1's resolved); no container without a ``PrimaryContainer``."""
    if not isinstance(properties, dict):
        return None, []
    properties = api_names(properties)
    primary = properties.get("primaryContainer")
    if not isinstance(primary, dict):
        return properties.get("executionRoleArn"), []
    primary = api_names(primary)
    container = {key: value for key, value in primary.items() if key != "awsLogsConfiguration"}
    container["name"] = EXPRESS_CONTAINER_NAME
    container["logConfiguration"] = _log_configuration(primary, properties)
    return properties.get("executionRoleArn"), [container]


def is_deployment_named(group: str) -> bool:
    """Whether ``group`` is the name pattern of the log group ECS creates for an Express Mode
    service (``/aws/ecs/<cluster>/<service>-*``, as :func:`express_containers` writes it)."""
    return _DEFAULT_GROUP.fullmatch(group) is not None


# The log group names :func:`_log_configuration` writes for a service with no log group.
_DEFAULT_GROUP = re.compile(r"/aws/ecs/(\*|[\w-]+)/([\w-]+-)?\*")


def _log_configuration(primary: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    given = primary.get("awsLogsConfiguration")
    if isinstance(given, dict):
        given = api_names(given)
        options = {
            "awslogs-group": given.get("logGroup"),
            "awslogs-stream-prefix": given.get("logStreamPrefix", DEFAULT_STREAM_PREFIX),
        }
        return {"logDriver": "awslogs", "options": options}
    cluster = _name(properties.get("cluster", "default"), "cluster/")
    service = _name(properties.get("serviceName"), "")
    group = f"/aws/ecs/{cluster}/{service}-*" if service != "*" else f"/aws/ecs/{cluster}/*"
    return {
        "logDriver": "awslogs",
        "options": {"awslogs-group": group, "awslogs-stream-prefix": DEFAULT_STREAM_PREFIX},
    }


def _name(value: Any, after: str) -> str:
    """A name as literal text (the part after ``after`` of an ARN), or ``*`` when the template
    does not spell it out."""
    if not isinstance(value, str) or not value:
        return "*"
    if value.startswith("arn:") and after:
        value = value.split(after, 1)[-1]
    return value if all(c.isalnum() or c in "-_" for c in value) else "*"
