"""What the app shows about a role when its policies are built: the task definitions that use
it, their containers, and the grants made to it.

The stack's finalizer gathers this for the roles that need it (derivation, the default FireLens
router) in batches: one resolve renders every container of their task definitions (which adds
aws-cdk-lib's default FireLens routers and their grants), one document per role gives the grants
as CDK strings, and one more resolve gives them in template form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from ._assembly import Assembly
from ._cdk_internals import read_attribute
from ._cfn import canonical, resolve_each, with_their_stacks_tasks
from ._needs import secret_arn_for_policy
from ._reader import TaskRead, read_containers
from ._service_connect import Proxy, proxies_of
from ._symbols import Symbols
from ._template import Template

if TYPE_CHECKING:
    import aws_cdk as cdk
    from constructs import Construct

    from ._recorder import GrantedRole, RecordedGrant
    from ._task_definitions import IndexedTask

__all__ = ["GrantView", "RoleUsage", "SecretKeys", "StackValues", "TaskView", "gather_usages"]


@dataclass(frozen=True)
class StackValues:
    """What a stack's roles share: its resolver (values resolved together, each once), its
    URL suffix, and the stream pattern of a log group of the stack by its name form."""

    resolve: Callable[[Any], Any]
    url_suffix: str
    stream_pattern: Callable[[str], str]


class SecretKeys:
    """The keys the app's secret objects hold, by the ARN each secret names in policies
    (canonical template form): read once per stack, and only when asked.

    :param stack: the stack that reads them: a secret of a stack in another environment
        cannot be named in it (aws-cdk-lib refuses to resolve it), so only the secrets of
        stacks in its environment are read.
    """

    def __init__(
        self, secrets: Sequence[Any], resolve: Callable[[Any], Any], stack: cdk.Stack
    ) -> None:
        self._secrets = secrets
        self._resolve = resolve
        self._stack = stack
        self._by_arn: dict[str, tuple[Any, Any]] | None = None

    def by_arn(self) -> dict[str, tuple[Any, Any]]:
        if self._by_arn is None:
            environment = self._stack.environment if self._secrets else None
            holders = [
                (secret, key)
                for secret in self._secrets
                if (key := read_attribute(secret, "encryption_key")) is not None
                and cdk.Stack.of(secret).environment == environment
            ]
            arns = self._resolve([secret_arn_for_policy(secret) for secret, _ in holders])
            self._by_arn = {
                canonical(arn): holder for holder, arn in zip(holders, arns, strict=True)
            }
        return self._by_arn


@dataclass(frozen=True)
class TaskView:
    """A task definition that uses the role, its containers in template form, and what the
    reader finds they need.

    :param home: the task definition's stack when it is not the role's, else ``None``.
    """

    entry: IndexedTask
    containers: Sequence[dict[str, Any]]
    read: TaskRead
    home: Any = None
    #: The log options (CDK strings) of the containers ECS adds that the task definition does
    #: not show (the Service Connect proxies of its services), by container name.
    added_log_options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantView:
    """A grant made to the role: as CDK strings (``tokens``, which keep references to other
    stacks intact), in template form (``resolved``), and what made it."""

    tokens: dict[str, Any]
    resolved: dict[str, Any]
    record: RecordedGrant


@dataclass
class RoleUsage:
    """What the app shows about one role at synth.

    :param stack: the role's stack.
    :param owner: the construct that owns the role (where what is built for it goes).
    :param stack_values: the stack's cached resolver, URL suffix and log-stream pattern.
    """

    stack: cdk.Stack
    role: GrantedRole
    owner: Construct
    stack_values: StackValues
    #: The unknown parts of the values the reader resolved (shared by the stack's roles).
    symbols: Symbols = field(default_factory=Symbols)
    tasks: list[TaskView] = field(default_factory=list)
    grants: list[GrantView] = field(default_factory=list)
    #: The grants as one policy document of CDK strings (``None`` without grants).
    grant_document: dict[str, Any] | None = None
    #: The keys the app's secret objects hold.
    secret_keys: SecretKeys | None = None
    #: The app's ECR pull-through cache rules (``_pull_through``).
    cache_rules: Sequence[Any] = ()


def gather_usages(
    stack: cdk.Stack,
    services: Sequence[tuple[Any, Any]],
    roles: Sequence[tuple[GrantedRole, Construct]],
    tasks_of: Callable[[GrantedRole], Sequence[IndexedTask]],
    stack_values: StackValues,
) -> list[RoleUsage]:
    """The usage of each role (with the construct that owns it), gathered together.

    :param services: the app's services (``CfnService``) with their stacks (``None``: not
        known): their Service Connect proxies are containers of the task definitions they run
        (``_service_connect``).
    :param tasks_of: the task definitions using a role.
    """
    # The containers, resolved in the role's stack before aws-cdk-lib prepares the app, name
    # the resources of every stack as that stack would: the reader sees them as unknowns.
    assembly = Assembly([Template("", {})])
    template = assembly.templates[0]

    def view(entry: IndexedTask, containers: Any, home: Any = None) -> TaskView:
        containers = entry.containers_of(containers)
        if not entry.is_l1 and not entry.job and entry.rendered is None:
            # aws-cdk-lib renders a task definition's containers once: what is added later
            # never reaches the template (the checks tell).
            entry.rendered = len(containers)
        added = proxies.get(id(entry), [])
        if added:
            containers = [*containers, *(proxy.container for proxy in added)]
        read = read_containers(assembly, template, containers)
        options = {proxy.container["name"]: proxy.options for proxy in added}
        return TaskView(entry, containers, read, home, options)

    usages = [
        RoleUsage(stack, role, owner, stack_values, assembly.symbols) for role, owner in roles
    ]
    entries = [(usage, entry) for usage in usages for entry in tasks_of(usage.role)]
    proxies = _proxies(services, [entry for _, entry in entries])
    # Rendering first: it adds the default routers' grants, which the grants below include.
    # Task definitions of the stack render together; one of another stack renders on its
    # own, so that the grants rendering makes are known to be that task's.
    local = [(usage, entry) for usage, entry in entries if entry.stack is stack]
    if local:
        rendered = resolve_each(stack, [entry.container_definitions for _, entry in local])
        for (usage, entry), containers in zip(local, rendered, strict=True):
            usage.tasks.append(view(entry, containers))
    for usage, entry in entries:
        if entry.stack is not stack:
            with usage.role.rendering(entry.task):
                containers = stack.resolve(entry.container_definitions)
            usage.tasks.append(view(entry, containers, entry.stack))
    granted = [usage for usage in usages if usage.role.recorded_grants]
    _gather_grants(stack, granted)
    return usages


def _proxies(
    services: Sequence[tuple[Any, Any]], entries: Sequence[IndexedTask]
) -> dict[int, list[Proxy]]:
    """The Service Connect proxies of the services that run each task definition, by the
    entry's ``id`` (services of the task definition's stack).

    :param services: each service with its stack (``None``: read from the service).
    """
    if not services or not entries:
        return {}
    proxies: dict[int, list[Proxy]] = {}
    for stack, stack_services, stack_entries in with_their_stacks_tasks(services, entries):
        refs = stack.resolve([entry.cfn.ref for entry in stack_entries])
        for entry, found in zip(
            stack_entries, proxies_of(stack, stack_services, refs), strict=True
        ):
            if found:
                proxies[id(entry)] = found
    return proxies


def _gather_grants(stack: cdk.Stack, granted: Sequence[RoleUsage]) -> None:
    """Each usage's grants, as CDK strings and in template form."""
    if granted:
        # One document for every role's grants (it keeps each statement, in order): the
        # statements as CDK strings, then in template form, each in one call.
        statements = [g.statement for usage in granted for g in usage.role.recorded_grants]
        tokens = iam.PolicyDocument(minimize=False, statements=statements).to_json()["Statement"]
        resolved = stack.resolve(tokens)
        start = 0
        for usage in granted:
            records = usage.role.recorded_grants
            end = start + len(records)
            usage.grant_document = {"Version": "2012-10-17", "Statement": tokens[start:end]}
            usage.grants = [
                GrantView(token, template, record)
                for token, template, record in zip(
                    tokens[start:end], resolved[start:end], records, strict=True
                )
            ]
            start = end
