"""The synth lifecycle of a stack's execution roles: finalized, then checked, together.

A construct registers its role's :class:`RoleEntry` (its plan, its recording role and the
scope its policies go under). Once the app's aspects have visited its task definitions
(``_after_aspects``), the stack's finalizer seals each plan and builds its policies
(``_synthesis``); at validation, the checks (``_checks``) run over each role's facts
(``_check_facts``). Every call from Python into aws-cdk-lib is a message to its JavaScript
process, which costs more than most of the work it asks for, so a stack's roles share one
finalizer aspect, one validation, one resolve of all their ARNs and one resolve of all the
grants made to them, instead of one of each per role.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation

from ._after_aspects import after_aspects
from ._app import AppState, stack_state
from ._buckets import imported_owners
from ._cfn import Resolver, flatten
from ._check_facts import facts_of
from ._checks import errors_of
from ._derive import observe_task_definitions
from ._errors import ExecutionRoleError
from ._firelens import observe_default_routers
from ._guardduty import observe_agent_pulls
from ._kinds import Kind
from ._needs import describe_task
from ._plan import Observation, Plan
from ._plugin import register_verification
from ._pull_through import rules_of_app
from ._recorder import GrantedRole
from ._statements import Statement
from ._synthesis import Synthesis, create_policies, known_pseudo_lengths, synthesize
from ._task_definitions import scan_task_definitions, tasks_using
from ._trust import ecs_tasks_principal, stack_environment, trust_document
from ._usage import RoleUsage, SecretKeys, StackValues, gather_usages

__all__ = [
    "MUTATING_ASPECT_PRIORITY",
    "OBSERVERS",
    "Observer",
    "RoleEntry",
    "StackRoles",
]

# What the app shows at synth that a role must allow beyond its props, observed before its
# plan is sealed: each observer sees the plan and the role's usage (``_usage``).
Observer = Callable[[Plan, RoleUsage], "Observation | None"]
OBSERVERS: tuple[Observer, ...] = (
    observe_default_routers,
    observe_agent_pulls,
    observe_task_definitions,
)

# cdk.AspectPriority.MUTATING, a documented constant; reading it from Python is a call into
# aws-cdk-lib that costs more than the rest of the module's import.
MUTATING_ASPECT_PRIORITY = 200


@dataclass(eq=False)
class RoleEntry:
    """One execution role of a stack: its plan, its role, and where its policies go.

    :param role: what the lifecycle reads of the role (its grants, its attachments).
    :param scope: the construct the policies are created under (at ``plan.where``).
    :param iam_role: the IAM role the policies attach to.
    :param role_path: the construct path of the role's ``CfnRole``.
    """

    plan: Plan
    role: GrantedRole
    scope: Construct
    iam_role: iam.IRole
    role_path: str
    synthesis: Synthesis | None = None
    policies: list[iam.ManagedPolicy] = field(default_factory=list)
    #: The statements of each policy, as the library wrote them, the policy's stack (``None``
    #: for the role's) and the construct path of its ``CfnManagedPolicy``.
    policy_statements: list[tuple[tuple[Statement, ...], Any, str]] = field(default_factory=list)
    #: The grants as a policy document of CDK strings when they were gathered at finalize,
    #: and how many there were then.
    grant_document: tuple[int, dict[str, Any]] | None = None


def _imported_buckets(app: AppState) -> dict[str, str]:
    """The owners of the buckets imported into the app, by name, read once per look (the
    walk that finds the task definitions finds the imports too)."""
    if app.imported_buckets is None:
        if app.task_index is None:
            scan_task_definitions(app)
        app.imported_buckets = imported_owners(app.imported_bucket_constructs)
    return app.imported_buckets


class StackRoles:
    """The execution roles of one stack, in the order they were created."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self.app: AppState = stack_state(stack).app
        self.entries: list[RoleEntry] = []
        self.principals: dict[tuple[bool, bool], iam.IPrincipal] = {}
        #: The construct paths of the roles aws-cdk-lib made that were hardened (``_harden``).
        self.adopted: set[str] = set()
        #: The hardened roles whose policies are not built yet, and their entries.
        self.adopting: list[tuple[Any, RoleEntry]] = []
        self._resolver: Resolver | None = None
        self._finalized_count = 0
        self._finalizer = False
        self._region_account: tuple[str, str] | None = None
        self._url_suffix: str | None = None
        # Construct paths of the scopes roles were created in, by id() (the scope is kept
        # alive with it).
        self._scope_paths: dict[int, tuple[IConstruct, str]] = {}

    @classmethod
    def of(cls, stack: cdk.Stack) -> StackRoles:
        registry: StackRoles = stack_state(stack).roles_or(cls)
        return registry

    def child_path(self, scope: IConstruct, child_id: str) -> str:
        """The construct path of ``scope``'s child ``child_id``, as ``node.path`` gives it.

        A scope's path is read once (two calls into aws-cdk-lib); a child's is the scope's
        plus its id, in which the constructs library replaces each ``/`` with ``--``.
        """
        entry = self._scope_paths.get(id(scope))
        if entry is None:
            entry = self._scope_paths[id(scope)] = (scope, str(scope.node.path))
        own = child_id.replace("/", "--")
        return f"{entry[1]}/{own}" if entry[1] else own

    def register(self, entry: RoleEntry, *, finalizer: bool = True) -> None:
        """Add a role; the first one of the stack installs the check, and the first with
        ``finalizer`` the finalizer.

        The finalizer is an aspect on that role's construct: reached, it waits for the aspects
        to visit the rest of the app (``_after_aspects``), then builds each role's policies
        once. A role registered while aspects run (``_harden``) is finalized by its caller.
        """
        if not self.entries:
            self.stack.node.add_validation(_Validate(self))
            register_verification(self.app)
        if finalizer and not self._finalizer:
            self._finalizer = True
            cdk.Aspects.of(entry.scope).add(_Finalize(self), priority=MUTATING_ASPECT_PRIORITY)
        self.entries.append(entry)

    def principal(self, trust_conditions: bool, trust_all_regions: bool) -> iam.IPrincipal:
        """The trust principal of the stack's roles with these settings (one per setting)."""
        trust = (trust_conditions, trust_all_regions)
        principal = self.principals.get(trust)
        if principal is None:
            principal = self.principals[trust] = ecs_tasks_principal(
                self.stack, trust_conditions=trust_conditions, trust_all_regions=trust_all_regions
            )
        return principal

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.stack)
        return self._resolver

    @property
    def url_suffix(self) -> str:
        if self._url_suffix is None:
            self._url_suffix = self.stack.url_suffix
        return self._url_suffix

    def region_account(self) -> tuple[str, str]:
        """The stack's region and account, flattened (``<AWS::Region>`` when unknown)."""
        if self._region_account is None:
            _, region, account = stack_environment(self.stack)
            flat_region, flat_account = (flatten(v) for v in self.resolver([region, account]))
            self._region_account = (flat_region, flat_account)
        return self._region_account

    def stream_pattern(self, name: str) -> str:
        """The streams of the stack's log group ``name``, as task definitions' needs spell it."""
        region, account = self.region_account()
        return Kind.LOG_GROUP.arn("<AWS::Partition>", region, account, f"{name}:*")

    def finalize(self) -> None:
        """Build the policies of every role not built yet (the aspect visits several nodes)."""
        new, resolver = self.entries[self._finalized_count :], self.resolver
        if not new:
            return
        self._finalized_count = len(self.entries)
        # The props' values first, for every role at once: derivation compares with them.
        resolver.prefetch(_need_values(new))
        self._observe(new)
        resolver.prefetch(_need_values(new))
        for entry in new:
            self._finalize(entry, resolver)
        # Task definitions may still be added (by a later aspect): the checks look again.
        self.app.forget_scan()

    def _observe(self, entries: Sequence[RoleEntry]) -> None:
        """Let the observers add what the app shows to the plans that ask for it, and warn of
        a role no task definition uses."""
        observed = [e for e in entries if e.plan.observes]
        idle = [e for e in entries if not e.plan.has_props]
        if not observed and not idle:
            return
        # Scanned afresh: task definitions may be added until synthesis.
        index = scan_task_definitions(self.app)
        for entry in idle:
            if not index.using(entry.role):
                _warn_unused(entry)
        if not observed:
            return
        usages = gather_usages(
            self.stack,
            self.app.services,
            [(entry.role, entry.scope) for entry in observed],
            index.using,
            StackValues(self.resolver, self.url_suffix, self.stream_pattern),
        )
        observations = []
        secret_keys = SecretKeys(self.app.secrets, self.resolver, self.stack)
        cache_rules = rules_of_app(
            self.app.cache_constructs, lambda value: flatten(self.resolver(value))
        )
        for entry, usage in zip(observed, usages, strict=True):
            usage.secret_keys = secret_keys
            usage.cache_rules = cache_rules
            if usage.grant_document is not None:
                entry.grant_document = (len(usage.grants), usage.grant_document)
            for observe in OBSERVERS:
                observation = observe(entry.plan, usage)
                if observation is not None:
                    entry.plan.observe(observation)
                    observations.append(observation)
        # What the observations resolve, for every role at once, before they compute needs.
        self.resolver.prefetch(value for o in observations for value in o.values)

    def _finalize(self, entry: RoleEntry, resolver: Resolver) -> None:
        plan = entry.plan
        plan.seal()
        entry.synthesis = synthesize(
            plan,
            resolver,
            url_suffix=self.url_suffix,
            pseudo_max_chars=known_pseudo_lengths(self.stack),
            imported_buckets=functools.partial(_imported_buckets, self.app),
        )
        if entry.synthesis.fits(plan):
            created = create_policies(
                entry.scope,
                entry.iam_role,
                plan,
                entry.synthesis,
                functools.partial(_scope_in, plan),
            )
            entry.policies = [policy for policy, _, _, _ in created]
            entry.policy_statements = [
                (statements, home, f"{self._policy_scope_path(plan, home)}/{child_id}/Resource")
                for _, statements, home, child_id in created
            ]

    def _policy_scope_path(self, plan: Plan, home: Any) -> str:
        """The construct path of the scope a role's policies go under in ``home``."""
        if home is None:
            return plan.where
        return f"{stack_state(home).path()}/{plan.where.replace('/', '--')}"

    def _batch_trust(self) -> None:
        """Each role an AWS Batch job definition uses: no trust conditions unless asked for
        (AWS does not document that the tasks Batch starts send their keys), else a warning.
        Decided with the checks (which read the app's task definitions anyway), before the
        templates are written."""
        for entry in self.entries:
            if entry.plan.options.trust_conditions is False or entry.synthesis is None:
                continue
            jobs = [t for t in tasks_using(self.app, entry.role) if t.job]
            if jobs:
                self._untrusted_by_batch(entry, describe_task(jobs[0].task))

    def _untrusted_by_batch(self, entry: RoleEntry, job: str) -> None:
        options = entry.plan.options
        if options.trust_conditions is None:
            principal = self.principal(False, options.trust_all_regions)
            cfn_role = entry.iam_role.node.default_child
            cfn_role.assume_role_policy_document = trust_document(principal)  # type: ignore[union-attr]
            entry.plan.options = dataclasses.replace(options, trust_conditions=False)
            return
        _warn_batch_trust(entry, job)

    def errors(self) -> list[str]:
        self._batch_trust()
        facts = facts_of(self.stack, self.app, self.entries, self.stream_pattern)
        return [error for role_facts in facts for error in errors_of(role_facts)]


def _scope_in(plan: Plan, stack: cdk.Stack) -> Construct:
    """Where a role's policies for the task definitions of another stack go in that stack:
    one construct per role, named after the role's path (made once per role and stack)."""
    name = plan.where.replace("/", "--")
    existing = stack.node.try_find_child(name)
    if existing is not None:
        # Two paths the constructs library spells alike ("A/B" and "A--B"), or a construct
        # of the app with that id: the policies of two roles cannot share one scope.
        raise ExecutionRoleError(
            f"{plan.where}: the role's policies for the task definitions of "
            f"{stack.node.path} go under {stack.node.path}/{name}, which "
            f"{existing.node.path!r} already is (another execution role whose path differs "
            "only by '/' and '--', or a construct of the app). Give one of them another "
            "construct id."
        )
    return Construct(stack, name)


def _warn_unused(entry: RoleEntry) -> None:
    cdk.Annotations.of(entry.scope).add_warning_v2(
        "ecs-exec-roles:unused-role",
        f"{entry.plan.where}: the execution role is used by no task definition in the app and "
        "names no resources, so it allows nothing. Pass it (or its `role`) as the task "
        "definition's execution_role (ecs_patterns take it in their task image options; a "
        "ScheduledFargateTask makes a role of its own unless it is given a task definition), "
        "or remove it.",
    )


def _warn_batch_trust(entry: RoleEntry, job: str) -> None:
    cdk.Annotations.of(entry.scope).add_warning_v2(
        "ecs-exec-roles:batch-trust-conditions",
        f"{entry.plan.where}: {job} uses the role, and AWS does not document that the tasks "
        "AWS Batch starts send aws:SourceArn and aws:SourceAccount when ECS assumes it: the "
        "trust conditions trust_conditions=True asks for may stop its jobs from starting. "
        "Leave trust_conditions unset (no conditions for a role Batch uses) unless a test "
        "job in your account starts with them.",
    )


def _need_values(entries: Sequence[RoleEntry]) -> list[str]:
    """Every CDK string the needs of ``entries`` name."""
    return [
        value
        for entry in entries
        for need in entry.plan.needs
        for value in (need.arn, *need.grant_aliases)
    ]


@jsii.implements(cdk.IAspect)
class _Finalize:
    """Builds every role's policies once every prop and ``add_*`` call is known."""

    def __init__(self, registry: StackRoles) -> None:
        self._registry = registry
        self._waiting = False

    def visit(self, node: IConstruct) -> None:
        # Once the app's aspects have visited its task definitions (``_after_aspects``).
        if not self._waiting:
            self._waiting = True
            after_aspects(stack_state(self._registry.stack), self._finalize)

    def _finalize(self) -> None:
        self._waiting = False
        self._registry.finalize()


@jsii.implements(IValidation)
class _Validate:
    """Runs at synth: every grant made to a role, and every need of the task definitions
    that use it, must be covered by what the role allows."""

    def __init__(self, registry: StackRoles) -> None:
        self._registry = registry

    def validate(self) -> list[str]:
        return self._registry.errors()
