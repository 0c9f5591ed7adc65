"""Execution roles the app made itself: whether the app uses one only as an execution role, and
the policies that reach it.

An ``iam.Role`` the app makes and passes as a task definition's ``execution_role`` (the object,
or ``iam.Role.from_role_arn`` / ``from_role_name`` of its ARN or name in another stack) is
hardened in place like the role aws-cdk-lib makes (``_harden``) when what the app deploys
shows no other use of it. The resources of the role's stage are read as CloudFormation will
receive them (each L1's properties, resolved in its stack, once per stage) and every reference
to the role is placed:

- a task definition's ``ExecutionRoleArn`` (its ARN, or one joined from its name), an AWS
  Batch job definition's (``_batch``) or an ECS Express Mode service's (``_express``): the use
  the role is hardened for;
- a policy that names it in ``Roles`` (inline ``Policies`` and ``ManagedPolicyArns`` on the role
  itself, ``iam.Policy``, ``iam.ManagedPolicy``): replaced by the derived policies;
- a policy statement naming it (``iam:PassRole`` for a scheduler, a resource policy): no use;
- an EventBridge rule's ECS target or a state machine's RunTask state that runs a task
  definition with it (a RunTask override, ``_overrides``): a use as execution role;
- anything else (a task role, a Lambda function's role, a trust policy of the role that admits
  another principal, a Batch job's job role, a rule's input, a nested stack's parameter): the
  role is left as it is, and the warning names that use.

Escape hatches are not visible here (aws-cdk-lib keeps overrides to itself); the verification
of the synthesized templates (``_verify``) reads them, and fails synth for a policy or trust
an override added to a hardened role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from ._app import AppState, stack_state
from ._aws_managed import aws_managed_name
from ._cdk_internals import cfn_properties, identity, named_construct
from ._cfn import LocalTwin, flatten
from ._kinds import ECR_TOKEN_ACTION, Kind, ecs_subset
from ._run_task import runs_tasks_with
from ._starter import STARTER_MANAGED_POLICY
from ._trust import ECS_TASKS_SERVICE

__all__ = [
    "AppRoleUses",
    "PolicyOnRole",
    "app_role_of",
    "kept_as_grants",
    "replace_app_role_policies",
    "uses_of",
]

# The services whose actions ECS calls with an execution role.
_ECS_SERVICES = frozenset({ECR_TOKEN_ACTION.split(":", 1)[0], *(kind.service for kind in Kind)})


@dataclass(eq=False)
class PolicyOnRole:
    """A policy resource of the app that names the role in its ``Roles``."""

    resource: cdk.CfnResource
    #: ``AWS::IAM::Policy`` or ``AWS::IAM::ManagedPolicy``.
    type_name: str
    #: Its ``Roles`` without the role (resolved), and whether it names users or groups.
    other_roles: list[Any]
    other_principals: bool
    statements: list[Any]


@dataclass(eq=False)
class AppRoleUses:
    """What the app's templates do with one role it made."""

    role: iam.Role
    #: The other uses, described for a warning (empty: used only as an execution role).
    others: list[str] = field(default_factory=list)
    #: The policy resources naming it in ``Roles``.
    policies: list[PolicyOnRole] = field(default_factory=list)
    #: The statements of its inline ``Policies``.
    inline_statements: list[Any] = field(default_factory=list)
    #: Its ``ManagedPolicyArns``, resolved, and the statements of those the app defines.
    managed_policy_arns: list[Any] = field(default_factory=list)
    managed_statements: list[Any] = field(default_factory=list)
    #: The AWS Batch job definitions that name it as their execution role (their paths).
    jobs: list[str] = field(default_factory=list)

    def grants(self, *, without: Any = None) -> list[Any]:
        """The statements of the app's policies on the role (but the policy resource
        ``without``, read as it changes) that the checks read as grants (:func:`kept_as_grants`)."""
        return kept_as_grants(
            [
                *self.inline_statements,
                *self.managed_statements,
                *(s for p in self.policies if p.resource is not without for s in p.statements),
            ]
        )

    def aws_managed_policies(self) -> list[str]:
        """The names of the AWS managed policies attached to the role (``service-role/...``)."""
        names = (aws_managed_name(flatten(arn)) for arn in self.managed_policy_arns)
        return [name for name in names if name is not None]


def kept_as_grants(statements: Sequence[Any]) -> list[Any]:
    """The statements among ``statements`` the checks read as grants to the role.

    A statement that allows only actions of the services ECS calls with an execution role
    (or ``*``) on a wildcard resource (ECR on ``*``, ``logs:*``, the AWS managed policy's
    kind) is what the derived policies replace with the task definitions' resources: it is
    dropped. Every other statement is a grant, as aws-cdk-lib's are: derivation reduces one on
    an exact resource (a secret, a repository) to what ECS calls, and the checks report the
    rest (an action ECS never calls, a Deny)."""
    return [s for s in statements if not _replaced(s)]


def _replaced(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    given: Any = statement.get("Action", statement.get("NotAction", []))
    actions: list[Any] = [given] if isinstance(given, str) else list(given or [])
    if not all(
        isinstance(a, str) and (a == "*" or a.split(":", 1)[0].lower() in _ECS_SERVICES)
        for a in actions
    ):
        return False
    if "NotAction" not in statement and not ecs_subset(actions):
        return False
    if "NotResource" in statement:
        return True
    resources = statement.get("Resource", [])
    resources = [resources] if not isinstance(resources, list) else resources
    return any("*" in (r if isinstance(r, str) else flatten(r)) for r in resources)


def app_role_of(app: AppState, role: Any) -> iam.Role | None:
    """The ``iam.Role`` of the app that ``role`` is (itself, or imported by its ARN or
    name), or that an L1 names by ``role``, its ARN as a CDK string."""
    if isinstance(role, iam.Role):
        return role
    if app.app_roles_by_arn is None:
        app.app_roles_by_arn = {}
        for construct in app.root.node.find_all():
            if isinstance(construct, iam.Role):
                app.app_roles_by_arn[str(construct.role_arn)] = construct
                app.app_roles_by_arn[str(construct.role_name)] = construct
    values = (role,) if isinstance(role, str) else (role.role_arn, role.role_name)
    for value in values:
        if isinstance(value, str) and cdk.Token.is_unresolved(value):
            found: iam.Role | None = app.app_roles_by_arn.get(value)
            if found is not None:
                return found
    return None


def uses_of(app: AppState, role: iam.Role) -> AppRoleUses:
    """What the templates of ``role``'s stage do with it."""
    state = stack_state(role.stack)
    resources = _stage_resources(app, state.stage())
    cfn_role = role.node.default_child
    logical_id = str(role.stack.get_logical_id(cfn_role))  # type: ignore[arg-type]
    uses = AppRoleUses(role)
    managed: list[tuple[Any, dict[str, Any]]] = []
    own = identity(cfn_role)
    home = identity(role.stack)
    local = LocalTwin(role)
    for resource, properties, stack in resources:
        if identity(resource) == own:
            _read_own(uses, resource, properties)
            continue
        if identity(stack) == home and isinstance(resource, iam.CfnManagedPolicy):
            managed.append((resource, properties))
        references = list(_references(properties, logical_id))
        if references and identity(stack) != home and local.in_stack(stack):
            # The stack has a resource of its own with the role's logical ID (a copy of the
            # role's stack): its references name that one.
            continue
        for where in references:
            _place(uses, resource, properties, where)
    attached = [arn for arn in uses.managed_policy_arns if isinstance(arn, dict) and "Ref" in arn]
    if attached and managed:
        # The app's own managed policies attached with managed_policies=[...]: their
        # statements, as the role's.
        refs = role.stack.resolve([resource.ref for resource, _ in managed])
        for ref, (resource, properties) in zip(refs, managed, strict=True):
            if ref in attached:
                uses.managed_statements.extend(_l2_statements(resource, properties))
    return uses


def replace_app_role_policies(
    uses: AppRoleUses,
    cfn_role: Any,
    policies: Sequence[Any],
    remove: Callable[[Any, Sequence[Any]], None],
) -> None:
    """Detach from the role every policy that reached it: its inline ``Policies`` and
    ``ManagedPolicyArns`` cleared, a policy resource naming only it removed (``remove``: its
    construct then stands for ``policies``), one naming others too kept for them. A policy the
    app defines and attaches with ``managed_policies`` stays, unattached to the role."""
    cfn_role.policies = None
    cfn_role.managed_policy_arns = None
    for policy in uses.policies:
        resource = policy.resource
        if policy.other_roles or policy.other_principals:
            # Kept for the others (their references as CloudFormation has them).
            resource.add_property_override("Roles", policy.other_roles or None)
        elif policy.type_name == "AWS::IAM::Policy":
            remove(resource.node.scope, policies)
        else:
            resource.add_property_deletion_override("Roles")
    # The AWS managed execution policy allows what the derived policies replace (ECR pulls and
    # log writes on *); another one is named in a warning.
    others = [n for n in uses.aws_managed_policies() if n != STARTER_MANAGED_POLICY.name]
    if others:
        cdk.Annotations.of(uses.role).add_warning_v2(
            "ecs-exec-roles:aws-managed-policy-replaced",
            f"{uses.role.node.path}: HardenExecutionRoles detached the AWS managed "
            f"{'policies' if len(others) > 1 else 'policy'} {', '.join(others)} from this "
            "execution role: its derived policies allow what ECS calls for its task "
            "definitions. Attach such policies to the task role if the containers need them.",
        )


def _read_own(uses: AppRoleUses, cfn_role: Any, properties: dict[str, Any]) -> None:
    trust = properties.get("assumeRolePolicyDocument") or {}
    for statement in trust.get("Statement", []):
        principal = statement.get("Principal")
        if principal not in ({"Service": ECS_TASKS_SERVICE}, {"Service": [ECS_TASKS_SERVICE]}):
            uses.others.append(f"trusted by {flatten(principal)} (its trust policy)")
    resolved = properties.get("policies") or []
    for index, policy in enumerate(cfn_role.policies or []):
        uses.inline_statements.extend(_statements(policy.policy_document, resolved[index]))
    uses.managed_policy_arns = list(properties.get("managedPolicyArns") or [])


def _statements(document: Any, resolved: Any) -> list[Any]:
    """The statements of a policy document as grants are read: of CDK strings, from the
    ``PolicyDocument`` object when there is one, else as resolved."""
    if isinstance(document, iam.PolicyDocument):
        return list(document.to_json().get("Statement", []))
    return list(((resolved or {}).get("policyDocument") or {}).get("Statement", []))


def _place(uses: AppRoleUses, resource: Any, properties: dict[str, Any], where: list[Any]) -> None:
    top = where[0]
    path = str(named_construct(resource).node.path)
    if isinstance(resource, ecs.CfnTaskDefinition):
        if top == "executionRoleArn":
            # By its ARN, or by its name (an ARN joined from its Ref).
            return
        if top == "taskRoleArn":
            uses.others.append(f"the task role of {path}")
            return
    if isinstance(resource, batch.CfnJobDefinition):
        if where[-1] == "executionRoleArn":
            uses.jobs.append(path)
            return
        if where[-1] == "jobRoleArn":
            uses.others.append(f"the job role of {path}")
            return
    if (
        isinstance(resource, ecs.CfnExpressGatewayService)
        and top == "executionRoleArn"
        and properties.get("primaryContainer")
    ):
        return  # the execution role of the task definition ECS registers for it
    if isinstance(resource, (iam.CfnPolicy, iam.CfnManagedPolicy)):
        if top == "roles":
            uses.policies.append(_policy_on_role(resource, properties, where[1]))
            return
        if top == "policyDocument":
            return
    if (
        isinstance(resource, sfn.CfnStateMachine)
        and top == "definitionString"
        and runs_tasks_with(properties, _value_at(properties, where))
    ):
        # A state machine that runs a task definition with the role (a RunTask override).
        return
    if isinstance(resource, events.CfnRule) and _runs_a_task(properties, where):
        # A rule that runs a task definition with the role as its execution role (a RunTask
        # override): a use as execution role, which derivation reads (``_overrides``).
        return
    if isinstance(resource, iam.CfnRole):
        if top == "policies":
            return
    elif "Statement" in _containers_along(properties, where):
        # A statement of a resource policy or a grant naming the role (iam:PassRole).
        return
    if isinstance(resource, ecs.CfnTaskDefinition):
        kind = "AWS::ECS::TaskDefinition"
    else:
        kind = str(resource.cfn_resource_type)
    uses.others.append(f"named in {_key(top)} of {kind} {path}")


def _value_at(value: Any, where: list[Any]) -> Any:
    for key in where:
        value = value[key]
    return value


def _runs_a_task(properties: dict[str, Any], where: list[Any]) -> bool:
    if len(where) < 3 or where[0] != "targets" or where[2] != "input":
        return False
    target = properties["targets"][where[1]]
    return isinstance(target, dict) and isinstance(target.get("ecsParameters"), dict)


def _key(name: Any) -> str:
    return str(name)[:1].upper() + str(name)[1:] if isinstance(name, str) else str(name)


def _policy_on_role(resource: Any, properties: dict[str, Any], index: Any) -> PolicyOnRole:
    roles = list(properties.get("roles") or [])
    others = [r for i, r in enumerate(roles) if i != index]
    return PolicyOnRole(
        resource,
        "AWS::IAM::Policy" if isinstance(resource, iam.CfnPolicy) else "AWS::IAM::ManagedPolicy",
        others,
        bool(properties.get("users") or properties.get("groups")),
        _l2_statements(resource, properties),
    )


def _l2_statements(resource: Any, properties: dict[str, Any]) -> list[Any]:
    """The statements of a policy resource, from its L2 (``iam.Policy``, ``iam.ManagedPolicy``)
    when it has one."""
    scope = resource.node.scope
    document = scope.document if isinstance(scope, (iam.Policy, iam.ManagedPolicy)) else None
    return _statements(document, properties)


def _containers_along(value: Any, where: Sequence[Any]) -> set[str]:
    """The keys of every mapping on the way to ``where`` in ``value``."""
    keys: set[str] = set()
    for step in where:
        if isinstance(value, dict):
            keys.update(value)
        value = value[step]
    return keys


def _references(value: Any, logical_id: str) -> Iterator[list[Any]]:
    """The paths in ``value`` (a resolved value) of each ``Ref`` or ``Fn::GetAtt`` of
    ``logical_id``."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            yield []
            return
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and get_att[0] == logical_id:
            yield []
            return
        for key, item in value.items():
            for inner in _references(item, logical_id):
                yield [key, *inner]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for inner in _references(item, logical_id):
                yield [index, *inner]


def _stage_resources(app: AppState, stage: Any) -> list[tuple[Any, dict[str, Any], cdk.Stack]]:
    """Every L1 resource of ``stage`` (not of stages within it) with its properties resolved
    in its stack, and the stack: read once per stage while the aspects' work runs."""
    key = identity(stage)
    found: list[tuple[Any, dict[str, Any], cdk.Stack]] | None = app.app_role_scans.get(key)
    if found is not None:
        return found
    by_stack: dict[object, tuple[cdk.Stack, list[Any]]] = {}
    for construct in stage.node.find_all():
        if not isinstance(construct, cdk.CfnResource):
            continue
        stack = construct.stack
        state = stack_state(stack)
        if identity(state.stage()) != key:
            continue
        by_stack.setdefault(identity(stack), (stack, []))[1].append(construct)
    found = []
    for stack, resources in by_stack.values():
        resolved = stack.resolve([cfn_properties(r) for r in resources])
        found.extend(
            (resource, properties, stack)
            for resource, properties in zip(resources, resolved, strict=True)
        )
    app.app_role_scans[key] = found
    return found
