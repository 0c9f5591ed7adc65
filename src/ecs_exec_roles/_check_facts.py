"""What the synth-time checks (``_checks``) are given for each execution role of a stack.

Each role's :class:`Facts`: the grants made to it, resolved for every role of the stack in one
call; the values its statements and needs name, resolved again now that aws-cdk-lib has
prepared the app; the task definitions that use it; and what else is attached to it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import aws_iam as iam

from ._assembly import Assembly
from ._cfn import Resolver, canonical, flatten, resolve_each
from ._checks import Facts, Grant
from ._needs import ContainerOrigin, describe_task
from ._reader import read_containers
from ._symbols import Symbols
from ._task_definitions import IndexedTask, tasks_using
from ._template import Template

if TYPE_CHECKING:
    import aws_cdk as cdk

    from ._app import AppState
    from ._plan import Plan
    from ._recorder import GrantedRole
    from ._synthesis import Synthesis

__all__ = ["CheckedRole", "facts_of"]


class CheckedRole(Protocol):
    """What the checks read of a role's entry in the lifecycle (``_lifecycle.RoleEntry``)."""

    plan: Plan
    role: GrantedRole
    synthesis: Synthesis | None
    #: The grants as a policy document of CDK strings when they were gathered at finalize,
    #: and how many there were then.
    grant_document: tuple[int, dict[str, Any]] | None


def facts_of(
    stack: cdk.Stack,
    app: AppState,
    entries: Sequence[CheckedRole],
    stream_pattern: Callable[[str], str],
) -> Iterator[Facts]:
    """The facts of each role of ``stack``, in order (each made when the previous one's
    checks are done, as the checks read the app)."""
    grants = _resolved_grants(stack, entries)
    # The roles' values resolved again, now that aws-cdk-lib has prepared the app (and,
    # for example, turned a parent stack's resource into a nested stack's parameter):
    # grants are in that form too.
    check = Resolver(stack)
    check.prefetch(value for entry in entries if entry.synthesis for value in _check_values(entry))
    managed = _managed_policy_arns(entries, check)
    for index, (entry, role_grants) in enumerate(zip(entries, grants, strict=True)):
        tasks = tasks_using(app, entry.role)
        facts = Facts(
            entry.plan,
            entry.synthesis,
            distinct_grants=role_grants,
            each_grant=functools.partial(_each_grant, stack, entry.role, tasks),
            registry_credentials=functools.partial(_registry_credentials, stack, tasks),
            tasks_via_other_role=[
                describe_task(t.task) for t in tasks if not t.names_role_itself(entry.role)
            ],
            tasks_grown=[
                describe_task(t.task)
                for t in tasks
                if t.rendered is not None and t.containers > t.rendered
            ],
            inline_policies=[p.node.path for p in entry.role.attached_inline_policies],
            managed_policies=managed[index],
            resolve=check,
            stream_pattern=stream_pattern,
        )
        yield facts


def _registry_credentials(stack: cdk.Stack, tasks: Sequence[IndexedTask]) -> list[tuple[str, str]]:
    """The secrets the containers of ``tasks`` name as registry credentials (canonical ARN),
    each with the container that does."""
    assembly = Assembly([Template("", {})], Symbols())
    found = []
    rendered = resolve_each(stack, [task.container_definitions for task in tasks])
    for task, containers in zip(tasks, rendered, strict=True):
        read = read_containers(assembly, assembly.templates[0], task.containers_of(containers))
        for secret in read.secrets:
            if secret.purpose == "repositoryCredentials":
                shown = canonical(assembly.symbols.display(secret.arn))
                found.append((shown, str(ContainerOrigin(task.task, secret.container))))
    return found


def _managed_policy_arns(entries: Sequence[CheckedRole], resolve: Resolver) -> list[list[str]]:
    """The ARNs of the managed policies attached to each role with add_managed_policy."""
    return [
        [flatten(resolve(p.managed_policy_arn)) for p in entry.role.attached_managed_policies]
        for entry in entries
    ]


def _check_values(entry: CheckedRole) -> list[str]:
    """Every CDK string the checks resolve: the statements' resources, the needs' ARNs (a
    need a broader one covers is in no statement) and their aliases."""
    statements = entry.synthesis.statements if entry.synthesis else ()
    return [
        *(r.value for statement in statements for r in statement.resources),
        *(value for need in entry.plan.needs for value in (need.arn, *need.grant_aliases)),
    ]


def _resolved_grants(stack: cdk.Stack, entries: Sequence[CheckedRole]) -> list[Any]:
    """Each role's distinct granted statements in template form, all resolved in one call.

    The document gathered at finalize serves while no grant came after it. The other roles'
    grants go into one policy document of CDK strings (one call for every role, where a
    document per role is one each), and duplicates (every ECR image grants the same token
    statement) are dropped per role once resolved, as a role's own document would drop them.
    """
    granted = [entry for entry in entries if entry.role.recorded_grants]
    fresh = [_finalize_document(entry) for entry in granted]
    stale = [entry for entry, document in zip(granted, fresh, strict=True) if document is None]
    tokens: list[Any] = []
    if len(stale) > 1:
        statements = [grant.statement for entry in stale for grant in entry.role.recorded_grants]
        tokens = iam.PolicyDocument(minimize=False, statements=statements).to_json()["Statement"]
    elif stale:
        tokens = [_role_document(stale[0])]
    documents = [document for document in fresh if document is not None]
    resolved = stack.resolve([documents, tokens]) if granted else [[], []]
    own = iter(resolved[0])
    batched = resolved[1]
    by_entry: dict[int, list[Any]] = {}
    start = 0
    for entry, document in zip(granted, fresh, strict=True):
        if document is not None:
            by_entry[id(entry)] = next(own).get("Statement", [])
        elif len(stale) > 1:
            end = start + len(entry.role.recorded_grants)
            by_entry[id(entry)] = _distinct(batched[start:end])
            start = end
        else:
            by_entry[id(entry)] = batched[0].get("Statement", [])
    return [by_entry.get(id(entry), []) for entry in entries]


def _distinct(statements: Sequence[Any]) -> list[Any]:
    """``statements`` without repeats, in order (as aws-cdk-lib renders a policy document)."""
    seen: set[str] = set()
    kept = []
    for statement in statements:
        key = json.dumps(statement, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(statement)
    return kept


def _finalize_document(entry: CheckedRole) -> dict[str, Any] | None:
    """The grants' document gathered at finalize, while no grant came after it."""
    grants = entry.role.recorded_grants
    if entry.grant_document is not None and entry.grant_document[0] == len(grants):
        return entry.grant_document[1]
    return None


def _role_document(entry: CheckedRole) -> Any:
    return iam.PolicyDocument(
        minimize=False, statements=[grant.statement for grant in entry.role.recorded_grants]
    )


def _each_grant(stack: cdk.Stack, role: GrantedRole, tasks: Sequence[Any]) -> list[Grant]:
    """Every grant made to ``role`` on its own, resolved, with what made it: the task
    definition being built then, or else the one task definition that uses the role."""
    recorded = role.recorded_grants
    each = stack.resolve([grant.statement.to_statement_json() for grant in recorded])
    only = describe_task(tasks[0].task) if len(tasks) == 1 else ""
    return [
        Grant(statement, record.origin or only, record.family)
        for statement, record in zip(each, recorded, strict=True)
    ]
