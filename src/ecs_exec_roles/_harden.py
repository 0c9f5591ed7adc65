"""HardenExecutionRoles: the execution roles aws-cdk-lib made, and those the app made, rewritten
in place.

A task definition given no ``execution_role`` makes its own (``<task>/ExecutionRole``, a plain
``iam.Role``) the first time a container needs one, and aws-cdk-lib's grants for the task go
into that role's ``DefaultPolicy``. The aspect keeps the role (its construct path, so its
logical ID: CloudFormation updates it in place), puts the trust conditions on its trust policy,
and gives it exactly what derivation computes for its task definition, through the same
lifecycle as the constructs (``_lifecycle``): the grants are read from the ``DefaultPolicy``,
whose resource is then removed, and checked at synth like any construct's.

Nothing in aws-cdk-lib depends on an execution role's ``DefaultPolicy`` by itself; a service
that depends on its task definition (the ``CODE_DEPLOY`` controller) depends on everything
under it, the new policies included (created under the role); what depends on the
``DefaultPolicy`` construct (a grant's ``policy_dependable``) depends on the new policies.

An ``iam.Role`` the app made and passes as ``execution_role`` is hardened the same way when its
templates use it only as an execution role (``_app_roles`` reads them), its policies of every
kind replaced; a role with another use is left as it is, with a warning naming that use.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from ._adopted import AdoptedRole
from ._after_aspects import after_aspects
from ._app import stack_state
from ._app_roles import (
    AppRoleUses,
    app_role_of,
    uses_of,
)
from ._aspect_reach import (
    ASPECT_NAME,
    AspectSettings,
    check_reach,
    is_lone_l1,
    nearest_settings,
    register_aspect,
    settings_of,
)
from ._cdk_internals import AUTOMATIC_ROLE_ID, identity
from ._declarations import DEFAULT_MAX_MANAGED_POLICIES, PROPS, props_taken
from ._lifecycle import RoleEntry, StackRoles
from ._overrides import overriding_roles
from ._plan import Plan
from ._prop_needs import add_props
from ._props import ResourceProps, RoleOptions
from ._recorder import RecordingRole
from ._role_interface import own_role
from ._task_definitions import l1_role_arn
from ._trust import stack_environment, trust_document

__all__ = ["HardenExecutionRoles", "harden"]

#: What uses an execution role: a task definition (L2 or L1), an AWS Batch job definition
#: (L2 or L1), or an ECS Express Mode service.
_Consumer = (
    ecs.TaskDefinition
    | ecs.CfnTaskDefinition
    | batch.EcsJobDefinition
    | batch.CfnJobDefinition
    | ecs.CfnExpressGatewayService
)


@jsii.implements(cdk.IAspect)
class HardenExecutionRoles:
    """An aspect that hardens the execution roles aws-cdk-lib created, where they stand.

    ``cdk.Aspects.of(app).add(HardenExecutionRoles())``: every task definition in scope whose
    execution role is the one aws-cdk-lib made for it keeps that role (same construct path and
    logical ID), with ``aws:SourceArn`` / ``aws:SourceAccount`` conditions on its trust policy
    and, instead of its ``DefaultPolicy``, customer-managed policies allowing exactly what the
    task definition needs. Whatever the ``DefaultPolicy`` held that ECS never calls fails
    synth, naming it. An ``iam.Role`` the app made and uses only as an execution role is
    hardened the same way, its own policies and managed policies replaced (``app_roles``); one
    with another use is left as it is, with a warning naming that use. The roles of this
    library, and task definitions outside the scope, are not touched.

    The options of the aspect added nearest to a task definition apply to it (one on a stack
    over one on the app); two with different options on the same scope fail synth, naming both.

    :param trust_conditions: add ``aws:SourceArn`` and ``aws:SourceAccount`` conditions to the trust
        policy. Default: - ``True``, but for a role an AWS Batch job definition uses, whose tasks
        AWS does not document sending them: none there unless ``True`` is passed.
    :param trust_all_regions: use ``*`` as the region of ``aws:SourceArn``, for a role used by tasks
        in several regions. Default: - ``False``, the stack's region.
    :param bucket_owner_accounts: the account that owns a bucket the tasks read files from, by
        bucket name, for a bucket of another account whose object does not say so
        (``EnvironmentFile`` and ``CredentialSpec`` keep only the bucket's name). Default: - each
        bucket's own account (a bucket of the app: its stack's; ``Bucket.from_bucket_attributes(...,
        account=...)``), else the role's stack's.
    :param bucket_owner_condition: pin every S3 read to the bucket owner's account
        (``aws:ResourceAccount``), so a bucket deleted and created again under its name by another
        account is never read. Default: - ``True``; ``False`` drops the condition, and then a task
        reads whatever account holds the bucket name.
    :param ecr_pull_endpoints: the ECR interface VPC endpoints (``ecr.dkr``) the tasks pull images
        through: the pulls are allowed only through them (``aws:SourceVpce``;
        ``ecr:GetAuthorizationToken`` cannot carry it). Default: - pulls over any network.
    :param ecr_pull_vpcs: the VPCs whose ECR interface endpoints the tasks pull images through: the
        pulls are allowed only from them (``aws:SourceVpc``). Default: - pulls from any network.
    :param guardduty_runtime_monitoring: allow pulling the GuardDuty Runtime Monitoring agent
        GuardDuty adds to Fargate tasks, from its AWS-owned repository of the stack's region.
        Default: - ``False`` (a role scoped to your repositories blocks the agent).
    :param pull_through_cache_prefixes: the prefixes of ECR pull-through cache rules made outside
        the app (a rule of the app, ``ecr.CfnPullThroughCacheRule``, is read at synth): pulls,
        ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on ``repository/<prefix>/*``;
        for ``ROOT``, on each of ``repositories``. Default: - the rules of the app only.
    :param pull_through_cache_tagging: also allow ``ecr:TagResource`` there, for a repository
        creation template that tags. Default: - ``False``.
    :param app_roles: also harden each ``iam.Role`` the app made and passes as
        ``execution_role`` (the object, or its ARN or name), when its templates use it only as an
        execution role: its policies and managed policies (``AmazonECSTaskExecutionRolePolicy``)
        replaced by derived ones, trust conditions added. A role with another use (a task
        role, another service, another principal in its trust) is left as it is, with a
        warning naming the use. Default: - ``True``; ``False`` leaves every role the app made
        as it is.
    """

    def __init__(
        self,
        *,
        trust_conditions: bool | None = None,
        trust_all_regions: bool = False,
        bucket_owner_accounts: Mapping[str, str] | None = None,
        bucket_owner_condition: bool = True,
        ecr_pull_endpoints: Sequence[ec2.IInterfaceVpcEndpoint] | None = None,
        ecr_pull_vpcs: Sequence[ec2.IVpc] | None = None,
        guardduty_runtime_monitoring: bool = False,
        pull_through_cache_prefixes: Sequence[str] | None = None,
        pull_through_cache_tagging: bool = False,
        app_roles: bool = True,
    ) -> None:
        options = RoleOptions.checked(
            ASPECT_NAME,
            role_name=None,
            path=None,
            permissions_boundary=None,
            description=None,
            trust_conditions=trust_conditions,
            trust_all_regions=trust_all_regions,
            bucket_owner_accounts=bucket_owner_accounts,
            bucket_owner_condition=bucket_owner_condition,
            ecr_pull_endpoints=ecr_pull_endpoints,
            ecr_pull_vpcs=ecr_pull_vpcs,
            max_managed_policies=DEFAULT_MAX_MANAGED_POLICIES,
            app_roles=app_roles,
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
            "bucket_owner_accounts": dict(options.bucket_owner_accounts) or None,
            "bucket_owner_condition": options.bucket_owner_condition,
            "ecr_pull_endpoints": list(options.ecr_pull_endpoints) or None,
            "ecr_pull_vpcs": list(options.ecr_pull_vpcs) or None,
            "guardduty_runtime_monitoring": props.guardduty_runtime_monitoring,
            "pull_through_cache_prefixes": list(props.pull_through_cache_prefixes) or None,
            "pull_through_cache_tagging": props.pull_through_cache_tagging,
            "app_roles": options.app_roles,
        }
        shown = [f"{k}={v!r}" for k, v in given.items() if v != PROPS[k].default]
        return f"{ASPECT_NAME}({', '.join(shown)})"

    def visit(self, node: IConstruct) -> None:
        """Harden ``node``'s execution role if ``node`` is a task definition (CDK calls this
        for every construct in the aspect's scope).

        :param node: the construct visited.
        """
        settings = settings_of(self)
        if is_lone_l1(node, settings) or isinstance(
            node, (ecs.TaskDefinition, batch.EcsJobDefinition, ecs.CfnExpressGatewayService)
        ):
            settings.visited.add(identity(node))
            # Once every aspect has visited the task definition: one may add a sidecar.
            after_aspects(stack_state(node.stack), functools.partial(harden, node))
        elif isinstance(node, (events.CfnRule, sfn.CfnStateMachine)):
            after_aspects(stack_state(node.stack), functools.partial(_harden_overriding, node))
        elif isinstance(node, (cdk.Stage, cdk.Stack)):
            check_reach(node, settings)


def harden(task: _Consumer) -> None:
    """Harden ``task``'s execution role (once) with the options of the aspect nearest to it:
    the role aws-cdk-lib made for it, or one the app made (``_app_roles``); warn of one that
    stays as it is. ``task`` is a task definition or an AWS Batch job definition, whose
    container holds its role (aws-cdk-lib makes one for each container given none)."""
    if isinstance(
        task, (batch.CfnJobDefinition, ecs.CfnExpressGatewayService, ecs.CfnTaskDefinition)
    ):
        # An L1 names its role by ARN only: a role the app made.
        arn = l1_role_arn(task)
        if arn is not None:
            _harden_made_by_app(task, str(arn))
        return
    if isinstance(task, batch.EcsJobDefinition):
        holder: IConstruct = task.container
        role = own_role(task.container.execution_role)
    else:
        holder = task
        role = own_role(task.execution_role)
    if role is None and isinstance(task, ecs.TaskDefinition):
        # aws-cdk-lib adds its default FireLens router, and its role, rendering the containers.
        cfn_task = task.node.default_child
        if isinstance(cfn_task, ecs.CfnTaskDefinition):
            task.stack.resolve(cfn_task.container_definitions)
        role = own_role(task.execution_role)
    if role is None or isinstance(role, RecordingRole):
        return
    automatic = holder.node.try_find_child(AUTOMATIC_ROLE_ID)
    if isinstance(automatic, iam.Role) and str(automatic.role_arn) == str(role.role_arn):
        claimed = _claim(automatic)
        settings = nearest_settings(task) if claimed else None
        if claimed and settings is not None:
            _harden_role(task, automatic, *claimed, settings, None)
        return
    _harden_made_by_app(task, role)


def _harden_overriding(runner: events.CfnRule | sfn.CfnStateMachine) -> None:
    """Harden each role the app made that ``runner`` (a rule, a state machine) runs a task
    definition of its stack with, as one that task definition uses: the role may be no task
    definition's own."""
    for task, role in overriding_roles(runner):
        _harden_made_by_app(task, role)


def _claim(role: iam.Role) -> tuple[str, StackRoles] | None:
    """The role's path and its stack's registry the first time it is met, else ``None``: a
    role is hardened once, however many task definitions use it."""
    registry = StackRoles.of(role.stack)
    path = str(role.node.path)
    if path in registry.adopted:
        return None
    registry.adopted.add(path)
    return path, registry


def _harden_made_by_app(task: _Consumer, role: Any) -> None:
    """Harden the role the app made that ``task`` uses (once), or warn why it stays."""
    app = stack_state(task.stack).app
    made = app_role_of(app, role)
    shown_role = role if isinstance(role, str) else role.node.path
    if isinstance(made, RecordingRole):
        return  # a role of this library's constructs, named by its ARN
    if made is None:
        _warn(
            task,
            "execution-role-outside-the-app",
            f"its execution role {shown_role} is imported, not made in this app, so "
            f"{ASPECT_NAME} leaves it as it is. Narrow it where it is made, or pass an "
            "ecs_exec_roles.MinimalExecutionRole (or its `role`) as execution_role.",
        )
        return
    claimed = _claim(made)
    if claimed is None:
        return
    path = claimed[0]
    settings = nearest_settings(made)
    if settings is None:
        _warn(
            task,
            "execution-role-made-by-the-app",
            f"its execution role {path}, made by the app, is outside every scope "
            f"{ASPECT_NAME} was added to, so it is left as it is. Add the aspect to a scope "
            "that holds the role (the app, or the role's stack).",
        )
        return
    if not settings.options.app_roles:
        _warn(
            task,
            "execution-role-made-by-the-app",
            f"its execution role {path} was made by the app, and {ASPECT_NAME}(app_roles=False) "
            "leaves it as it is. Use ecs_exec_roles.MinimalExecutionRole (one task family) or "
            "SharedExecutionRole (several) and pass it (or its `role`) as execution_role.",
        )
        return
    uses = uses_of(app, made)
    if uses.others:
        _warn(
            task,
            "execution-role-used-otherwise",
            f"its execution role {path}, made by the app, is also {'; '.join(uses.others)}, so "
            f"{ASPECT_NAME} leaves it as it is (narrowing it would take from that use what it "
            "needs). Give the task definition an execution role of its own.",
        )
        return
    _harden_role(task, made, *claimed, settings, uses)


def _harden_role(
    task: _Consumer,
    role: iam.Role,
    path: str,
    registry: StackRoles,
    settings: AspectSettings,
    uses: AppRoleUses | None,
) -> None:
    """Put the trust conditions on ``role``'s trust policy and register it to get the derived
    policies (built with the stack's other hardened roles, ``_adopt``)."""
    options, props = settings.options, settings.props
    if options.trust_conditions is None:
        # AWS does not document the confused-deputy keys for the tasks Batch starts
        # (``_batch``): conditions could stop a role Batch uses from being assumed.
        used_by_batch = isinstance(task, (batch.EcsJobDefinition, batch.CfnJobDefinition)) or (
            uses is not None and bool(uses.jobs)
        )
        options = dataclasses.replace(options, trust_conditions=not used_by_batch)
    adopted = AdoptedRole(role, task, path, uses)
    cfn_role = adopted.cfn_role
    principal = registry.principal(bool(options.trust_conditions), options.trust_all_regions)
    cfn_role.assume_role_policy_document = trust_document(principal)
    plan = Plan(path, options)
    plan.account = stack_environment(role.stack)[2]
    plan.derive = True
    plan.owner, plan.takes = ASPECT_NAME, props_taken(HardenExecutionRoles)
    add_props(plan, role, props)
    entry = RoleEntry(plan, adopted, role, role, f"{path}/Resource")
    registry.register(entry, finalizer=False)
    registry.adopting.append((adopted, entry))
    if len(registry.adopting) == 1:
        # Built after the app's aspects visited the task definitions (``visit``), once the
        # stage's other hardening work has registered its roles: the stack's roles are then
        # built together (one resolve for all their values).
        after_aspects(stack_state(role.stack), functools.partial(_adopt, registry), last=True)


def _adopt(registry: StackRoles) -> None:
    """Build the policies of the roles registered for hardening, and let them replace what
    reached each role before."""
    _read_managed_policies(registry)
    registry.finalize()
    for adopted, entry in registry.adopting:
        adopted.replace_policies(entry.policies)
    registry.adopting.clear()


def _read_managed_policies(registry: StackRoles) -> None:
    """A role aws-cdk-lib made to which the app attached managed policies
    (``task.obtain_execution_role().add_managed_policy(...)``, as many apps do with
    ``AmazonECSTaskExecutionRolePolicy``) has every policy that reached it replaced, as a role
    the app made (``_app_roles``); read for all the stack's roles in one call."""
    automatic = [adopted for adopted, _ in registry.adopting if adopted.uses is None]
    if not automatic:
        return
    arns = registry.stack.resolve(
        [{"arns": adopted.cfn_role.managed_policy_arns} for adopted in automatic]
    )
    for adopted, attached in zip(automatic, arns, strict=True):
        if attached.get("arns"):
            uses = uses_of(registry.app, adopted.role)
            if not uses.others:
                adopted.adopt_uses(uses)


def _warn(task: _Consumer, code: str, text: str) -> None:
    cdk.Annotations.of(task).add_warning_v2(f"ecs-exec-roles:{code}", f"{task.node.path}: {text}")
