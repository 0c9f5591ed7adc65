"""HardenExecutionRoles: aws-cdk-lib's automatic execution roles rewritten in place.

A task definition given no ``execution_role`` makes its own (``<task>/ExecutionRole``, a plain
``iam.Role``) the first time a container needs one, and aws-cdk-lib's grants for the task go
into that role's ``DefaultPolicy``. The aspect keeps the role (its construct path, so its
logical ID: CloudFormation updates it in place), puts the trust conditions on its trust policy,
and gives it exactly what derivation computes for its task definition, through the same
lifecycle as the constructs (``_lifecycle``): the grants are read from the ``DefaultPolicy``,
whose resource is then removed, and checked at synth like any construct's.

Nothing in aws-cdk-lib depends on an execution role's ``DefaultPolicy`` by itself; a service
that depends on its task definition (the ``CODE_DEPLOY`` controller) depends on everything
under it, the new policies included, since they are created under the role. What depends on
the ``DefaultPolicy`` construct (a grant's ``policy_dependable``) depends on the new policies.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Dependable, IConstruct

from ._after_aspects import after_aspects
from ._app import stack_state
from ._aspect_reach import ASPECT_NAME, check_reach, nearest_settings, register_aspect, settings_of
from ._cdk_internals import AUTOMATIC_ROLE_ID, DEFAULT_POLICY_ID, identity
from ._declarations import DEFAULT_MAX_MANAGED_POLICIES, PROPS, props_taken
from ._lifecycle import RoleEntry, StackRoles
from ._plan import Plan
from ._prop_needs import add_props
from ._props import ResourceProps, RoleOptions
from ._recorder import RecordedGrant, RecordingRole
from ._role_interface import own_role
from ._trust import trust_document

__all__ = ["AdoptedRole", "HardenExecutionRoles", "harden"]


@jsii.implements(cdk.IAspect)
class HardenExecutionRoles:
    """An aspect that hardens the execution roles aws-cdk-lib created, where they stand.

    ``cdk.Aspects.of(app).add(HardenExecutionRoles())``: every task definition in scope whose
    execution role is the one aws-cdk-lib made for it keeps that role (same construct path and
    logical ID), with ``aws:SourceArn`` / ``aws:SourceAccount`` conditions on its trust policy
    and, instead of its ``DefaultPolicy``, customer-managed policies allowing exactly what the
    task definition needs. Whatever the ``DefaultPolicy`` held that ECS never calls fails
    synth, naming it. A role the app made itself is left as it is, with a warning naming the
    construct to use; the roles of this library, and task definitions outside the scope, are
    not touched.

    The options of the aspect added nearest to a task definition apply to it (one on a stack
    over one on the app); two with different options on the same scope fail synth, naming
    both.

    :param trust_conditions: add ``aws:SourceArn`` and ``aws:SourceAccount`` conditions to the trust
        policy. Default: - ``True``.
    :param trust_all_regions: use ``*`` as the region of ``aws:SourceArn``, for a role used by tasks
        in several regions. Default: - ``False``, the stack's region.
    :param guardduty_runtime_monitoring: allow pulling the GuardDuty Runtime Monitoring agent
        GuardDuty adds to Fargate tasks, from its AWS-owned repository of the stack's region.
        Default: - ``False`` (a role scoped to your repositories blocks the agent).
    :param pull_through_cache_prefixes: ECR pull-through cache rule prefixes: pulls,
        ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on ``repository/<prefix>/*``.
        Default: - no pull-through cache.
    :param pull_through_cache_tagging: also allow ``ecr:TagResource`` there, for a repository
        creation template that tags. Default: - ``False``.
    """

    def __init__(
        self,
        *,
        trust_conditions: bool = True,
        trust_all_regions: bool = False,
        guardduty_runtime_monitoring: bool = False,
        pull_through_cache_prefixes: Sequence[str] | None = None,
        pull_through_cache_tagging: bool = False,
    ) -> None:
        options = RoleOptions.checked(
            ASPECT_NAME,
            role_name=None,
            path=None,
            permissions_boundary=None,
            description=None,
            trust_conditions=trust_conditions,
            trust_all_regions=trust_all_regions,
            max_managed_policies=DEFAULT_MAX_MANAGED_POLICIES,
        )
        props = ResourceProps.checked(
            ASPECT_NAME,
            guardduty_runtime_monitoring=guardduty_runtime_monitoring,
            pull_through_cache_prefixes=pull_through_cache_prefixes,
            pull_through_cache_tagging=pull_through_cache_tagging,
        )
        register_aspect(self, options, props)

    def __repr__(self) -> str:
        settings = settings_of(self)
        options, props = settings.options, settings.props
        given = {
            "trust_conditions": options.trust_conditions,
            "trust_all_regions": options.trust_all_regions,
            "guardduty_runtime_monitoring": props.guardduty_runtime_monitoring,
            "pull_through_cache_prefixes": list(props.pull_through_cache_prefixes) or None,
            "pull_through_cache_tagging": props.pull_through_cache_tagging,
        }
        shown = [f"{k}={v!r}" for k, v in given.items() if v != PROPS[k].default]
        return f"{ASPECT_NAME}({', '.join(shown)})"

    def visit(self, node: IConstruct) -> None:
        """Harden ``node``'s execution role if ``node`` is a task definition (CDK calls this
        for every construct in the aspect's scope).

        :param node: the construct visited.
        """
        if isinstance(node, ecs.TaskDefinition):
            settings_of(self).visited.add(identity(node))
            # Once every aspect has visited the task definition: one may add a sidecar.
            after_aspects(stack_state(node.stack), functools.partial(harden, node))
        elif isinstance(node, (cdk.Stage, cdk.Stack)):
            check_reach(node, settings_of(self))


def harden(task: ecs.TaskDefinition) -> None:
    """Harden the execution role aws-cdk-lib made for ``task`` (once), with the options of the
    aspect nearest to it, or warn of one the app made."""
    role = own_role(task.execution_role)
    if role is None:
        # aws-cdk-lib adds its default FireLens log router, and the role it needs, when it
        # renders the containers.
        cfn_task = task.node.default_child
        if isinstance(cfn_task, ecs.CfnTaskDefinition):
            task.stack.resolve(cfn_task.container_definitions)
        role = own_role(task.execution_role)
    if role is None or isinstance(role, RecordingRole):
        return
    automatic = task.node.try_find_child(AUTOMATIC_ROLE_ID)
    if not isinstance(automatic, iam.Role) or str(automatic.role_arn) != str(role.role_arn):
        _warn_made_by_the_app(task, role)
        return
    registry = StackRoles.of(task.stack)
    path = str(automatic.node.path)
    if path in registry.adopted:
        return
    registry.adopted.add(path)
    settings = nearest_settings(task)
    if settings is None:
        return
    options, props = settings.options, settings.props
    adopted = AdoptedRole(automatic, task, path)
    cfn_role = automatic.node.default_child
    principal = registry.principal(options.trust_conditions, options.trust_all_regions)
    cfn_role.assume_role_policy_document = trust_document(principal)  # type: ignore[union-attr]
    plan = Plan(path, options)
    plan.derive = True
    plan.owner, plan.takes = ASPECT_NAME, props_taken(HardenExecutionRoles)
    add_props(plan, automatic, props)
    entry = RoleEntry(plan, adopted, automatic, automatic, f"{path}/Resource")
    registry.register(entry, finalizer=False)
    registry.adopting.append((adopted, entry))
    if len(registry.adopting) == 1:
        # Built after the app's aspects visited the task definitions (``visit``), once the
        # stage's other hardening work has registered its roles: the stack's roles are then
        # built together (one resolve for all their values).
        after_aspects(stack_state(task.stack), functools.partial(_adopt, registry), last=True)


def _adopt(registry: StackRoles) -> None:
    """Build the policies of the roles registered for hardening, and let each replace its
    role's ``DefaultPolicy``."""
    registry.finalize()
    for adopted, entry in registry.adopting:
        adopted.replace_default_policy(entry.policies)
    registry.adopting.clear()


def _warn_made_by_the_app(task: ecs.TaskDefinition, role: iam.IRole) -> None:
    if not isinstance(role, iam.Role):
        # Imported by ARN or name: its policies are where it is made, in another app or by
        # hand; nothing here can narrow them.
        cdk.Annotations.of(task).add_warning_v2(
            "ecs-exec-roles:execution-role-outside-the-app",
            f"{task.node.path}: its execution role {role.node.path} is imported, not made in "
            "this app, so HardenExecutionRoles leaves it as it is. Narrow it where it is made, "
            "or pass an ecs_exec_roles.MinimalExecutionRole (or its `role`) as execution_role.",
        )
        return
    cdk.Annotations.of(task).add_warning_v2(
        "ecs-exec-roles:execution-role-made-by-the-app",
        f"{task.node.path}: its execution role was made by the app, so HardenExecutionRoles "
        "leaves it as it is. Use ecs_exec_roles.MinimalExecutionRole (one task family) or "
        "SharedExecutionRole (several) and pass it (or its `role`) as execution_role.",
    )


class AdoptedRole:
    """A role aws-cdk-lib made for a task definition, read as the lifecycle reads a recording
    role: its grants are the statements of its ``DefaultPolicy``."""

    def __init__(self, role: iam.Role, task: ecs.TaskDefinition, path: str) -> None:
        self.role = role
        self.task = task
        #: The role's construct path: a task definition names this role object itself (not
        #: a wrapper with the same ARN) when its execution role has this path.
        self.path = path
        self._policy: iam.Policy | None = None
        self._grants: list[RecordedGrant] = []
        self._statement_count = 0
        self._role_arn: str | None = None
        self._role_name: str | None = None

    @property
    def role_arn(self) -> str:
        if self._role_arn is None:
            self._role_arn = str(self.role.role_arn)
        return self._role_arn

    @property
    def role_name(self) -> str:
        if self._role_name is None:
            self._role_name = str(self.role.role_name)
        return self._role_name

    @property
    def recorded_grants(self) -> Sequence[RecordedGrant]:
        """The statements aws-cdk-lib (or the app) granted the role, read again when more
        were added."""
        policy = self._default_policy()
        if policy is None:
            return self._grants
        count = policy.document.statement_count
        if count != self._statement_count:
            statements = policy.document.to_json().get("Statement", [])
            self._grants = [
                RecordedGrant(iam.PolicyStatement.from_json(statement), self.task, self.task)
                for statement in statements
            ]
            self._statement_count = int(count)
        return self._grants

    @property
    def attached_inline_policies(self) -> Sequence[Any]:
        # Attached from the policy's side, as far as the lifecycle is concerned: the app scan
        # finds the policy resources that name the role (``_attachments``).
        return ()

    @property
    def attached_managed_policies(self) -> Sequence[Any]:
        # The role's own resource may name managed policies (add_managed_policy, an escape
        # hatch): the verification of the templates finds them there.
        return ()

    @contextmanager
    def rendering(self, task: ecs.TaskDefinition) -> Iterator[None]:
        # Grants land in the role's DefaultPolicy, attributed to its task definition.
        yield

    def replace_default_policy(self, policies: Sequence[iam.ManagedPolicy]) -> None:
        """Remove the ``DefaultPolicy``'s ``AWS::IAM::Policy`` resource, and let the construct
        stand for ``policies``: what depends on it (a grant's ``policy_dependable``, a
        dependency added by the app) depends on them instead."""
        policy = self._default_policy()
        if policy is None:
            return
        policy.node.try_remove_child("Resource")
        if policies:
            Dependable.implement(policy, _DependencyRoots(policies))

    def _default_policy(self) -> iam.Policy | None:
        if self._policy is None:
            found = self.role.node.try_find_child(DEFAULT_POLICY_ID)
            self._policy = found if isinstance(found, iam.Policy) else None
        return self._policy


class _DependencyRoots(Dependable):
    """A dependable that stands for other constructs (its dependency roots)."""

    def __init__(self, roots: Sequence[IConstruct]) -> None:
        super().__init__()
        self._roots = list(roots)

    @property
    def dependency_roots(self) -> list[IConstruct]:
        return self._roots
