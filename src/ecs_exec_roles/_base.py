"""What the three constructs share: the role, its trust, policies, nag notes and checks."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._batch import Resolver, StackRoles
from ._cfn import canonical, flatten, is_unresolved
from ._coverage import Cover, Gap, RecordingRole, find_gaps, find_task_gaps
from ._errors import ExecutionRoleError
from ._features import (
    container_assets_needs,
    environment_file_needs,
    firelens_config_needs,
    fluent_bit_needs,
    guardduty_needs,
    image_asset_repositories,
    log_group_create_needs,
    log_stream_needs,
    prefix_needs,
    pull_through_needs,
    tag_needs,
)
from ._nag import acknowledge_wildcards
from ._needs import LazyOrigin, Need, _as_sequence, needs_from_props
from ._packing import MANAGED_POLICY_MAX_CHARS, PackingResult, pack
from ._statements import (
    ECR_PULL_ACTIONS,
    KIND_ACTIONS,
    LOGS_WRITE_ACTIONS,
    Statement,
    build_statements,
)
from ._task_definitions import TaskNeed, default_firelens_routers
from ._trust import ecs_tasks_principal, partition_of_region, stack_environment

__all__ = ["DEFAULT_MAX_MANAGED_POLICIES", "ExecutionRoleBase"]

# IAM's default quota of managed policies attached to one role.
DEFAULT_MAX_MANAGED_POLICIES = 10
# The highest value the quota can be raised to.
_QUOTA_MAX_MANAGED_POLICIES = 25

# A log group's ARN as the template has it, flattened: Fn::GetAtt of a log group of the stack
# (<LogicalId.Arn>), or the parameter a nested stack receives it by (<referenceto...Arn>, whose
# name twin <referenceto...Ref> carries the log group's name).
_GET_ATT_ARN = re.compile(r"^<([A-Za-z0-9]+)\.Arn>$")
_NESTED_ARN_PARAMETER = re.compile(r"^<(referenceto[A-Za-z0-9]+)Arn>$")


def _flat_log_group_name_form(flat_arn: str) -> str | None:
    """How awslogs options name the log group whose flattened ARN is ``flat_arn``."""
    match = _GET_ATT_ARN.match(flat_arn)
    if match:
        return f"<{match[1]}>"
    match = _NESTED_ARN_PARAMETER.match(flat_arn)
    if match:
        return f"<{match[1]}Ref>"
    return None


def _log_group_name_form(resolved: Any) -> str | None:
    if isinstance(resolved, dict) and ("Fn::GetAtt" in resolved or "Ref" in resolved):
        return _flat_log_group_name_form(flatten(resolved))
    return None


_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")


class ExecutionRoleBase(Construct):
    """Common base of the execution-role constructs. Not part of the public API."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_name: str | None,
        path: str | None,
        permissions_boundary: iam.IManagedPolicy | None,
        description: str | None,
        trust_conditions: bool,
        trust_all_regions: bool,
        max_managed_policies: int,
    ) -> None:
        super().__init__(scope, id)
        self._stack = scope if isinstance(scope, cdk.Stack) else cdk.Stack.of(scope)
        self._registry = StackRoles.of(self._stack)
        where = self._path = self._registry.child_path(scope, id)
        _check_role_name(where, role_name)
        _check_role_path(where, path)
        if trust_all_regions and not trust_conditions:
            raise ExecutionRoleError(
                f"{where}: trust_all_regions=True widens the aws:SourceArn condition, but "
                "trust_conditions=False removes it. Set only one of them."
            )
        if (
            isinstance(max_managed_policies, bool)
            or not isinstance(max_managed_policies, int)
            or not 1 <= max_managed_policies <= _QUOTA_MAX_MANAGED_POLICIES
        ):
            raise ExecutionRoleError(
                f"{where}: max_managed_policies is {max_managed_policies!r}; IAM allows 1 to "
                f"{_QUOTA_MAX_MANAGED_POLICIES} managed policies per role (10 unless the quota "
                "was raised). Pass an int in that range."
            )
        self._max_managed_policies = max_managed_policies
        self._needs: list[Need] = []
        self._families: dict[str, list[Need]] = {}
        self._built_statements: list[Statement] | None = None
        self._finalized = False
        self._policies: list[iam.ManagedPolicy] = []
        self._packing_error: str | None = None
        # aws-cdk-lib's default FireLens log router: asked for, and the task definitions
        # found with one at finalize.
        self._default_router = False
        self._default_router_tasks: list[str] = []
        self._default_router_errors: list[str] = []
        # One principal per stack and trust setting: the roles of a stack trust the same.
        trust = (trust_conditions, trust_all_regions)
        principal = self._registry.principals.get(trust)
        if principal is None:
            principal = self._registry.principals[trust] = ecs_tasks_principal(
                self._stack, trust_conditions=trust_conditions, trust_all_regions=trust_all_regions
            )
        self._role = RecordingRole(
            # "Resource" keeps the role's logical ID close to the construct's own name.
            self,
            "Resource",
            grant_dependable=self,
            assumed_by=principal,
            role_name=role_name,
            path=path,
            permissions_boundary=permissions_boundary,
            description=description,
        )
        self._registry.register(self, self._role)

    # -- public surface shared by every construct ------------------------------------------

    @property
    def role(self) -> iam.IRole:
        """The role to pass as ``execution_role`` to a task definition."""
        return self._role

    @property
    def role_arn(self) -> str:
        """The ARN of the role."""
        return self._role.role_arn

    @property
    def role_name(self) -> str:
        """The name of the role."""
        return self._role.role_name

    @property
    def managed_policies(self) -> Sequence[iam.IManagedPolicy]:
        """The customer-managed policies built for the role (available after synth starts)."""
        return tuple(self._policies)

    def grant_pass_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        """Grant ``iam:PassRole`` on this role to ``grantee`` (for example a deploy pipeline).

        :param grantee: the principal that registers task definitions using this role.
        """
        return self._role.grant_pass_role(grantee)

    # -- extension points -------------------------------------------------------------------

    def _extra_covers(self) -> list[Cover]:
        """What the role allows besides its own statements (the starter's managed policy)."""
        return []

    def _add_needs(self, needs: Sequence[Need]) -> None:
        if self._finalized:
            raise ExecutionRoleError(
                f"{self._path}: resources were added after synthesis began; add them "
                "while building the app, before app.synth() or Template.from_stack()."
            )
        self._needs.extend(needs)

    def _add_props(
        self,
        *,
        repositories: Any = (),
        log_groups: Any = (),
        secrets: Any = (),
        parameters: Any = (),
        keys: Any = (),
        registry_credentials: Any = (),
        environment_files: Any = (),
        firelens_config_files: Any = (),
        log_groups_to_create: Any = (),
        log_stream_prefixes: Any = (),
        pull_through_cache_prefixes: Any = (),
        pull_through_cache_tagging: bool = False,
        guardduty_runtime_monitoring: bool = False,
        firelens_default_router: bool = False,
        image_assets: Any = (),
        container_assets: bool = False,
        log_writes: bool = True,
        family: str | None = None,
    ) -> None:
        """Check every prop, then add the needs they imply.

        :param log_writes: whether log groups get write permissions here (the starter's
            managed policy already writes to every log group).
        """
        where = self._path
        if family is not None:
            _check_family(where, family)
        if pull_through_cache_tagging and not pull_through_cache_prefixes:
            raise ExecutionRoleError(
                f"{where}: pull_through_cache_tagging=True needs pull_through_cache_prefixes; "
                "name the cache rule prefixes whose repositories are tagged."
            )
        if log_stream_prefixes and not (log_groups or log_groups_to_create):
            raise ExecutionRoleError(
                f"{where}: log_stream_prefixes={log_stream_prefixes!r} scope writes to log "
                "groups, but no log_groups are given; pass the log groups the prefixes apply to."
            )
        # Checked under their own prop name before they join the log groups written to.
        created = log_group_create_needs(where, log_groups_to_create)
        written = [
            *_sequence(where, "log_groups", log_groups),
            *_sequence(where, "log_groups_to_create", log_groups_to_create),
        ]
        needs = needs_from_props(
            where,
            repositories=[
                *_sequence(where, "repositories", repositories),
                *image_asset_repositories(where, image_assets),
            ],
            log_groups=written if log_writes else (),
            secrets=[
                *_sequence(where, "secrets", secrets),
                *_sequence(where, "registry_credentials", registry_credentials),
            ],
            parameters=parameters,
            keys=keys,
        )
        if log_stream_prefixes and log_writes:
            group_needs = [need for need in needs if need.kind == "log_group"]
            needs = [need for need in needs if need.kind != "log_group"]
            needs += log_stream_needs(where, group_needs, written, log_stream_prefixes)
        needs += created
        needs += environment_file_needs(self, where, environment_files)
        needs += firelens_config_needs(self, where, firelens_config_files)
        needs += pull_through_needs(
            self, where, pull_through_cache_prefixes, pull_through_cache_tagging
        )
        needs += guardduty_needs(self, where, guardduty_runtime_monitoring)
        needs += fluent_bit_needs(self, where, firelens_default_router)
        self._default_router = self._default_router or bool(firelens_default_router)
        needs += container_assets_needs(self, where, container_assets)
        if family is not None:
            self._families.setdefault(family, []).extend(needs)
        self._add_needs(needs)

    def _add_scoped(
        self,
        *,
        repository_prefixes: Any,
        log_group_prefixes: Any,
        secret_prefixes: Any,
        parameter_prefixes: Any,
        resource_tags: Any,
    ) -> None:
        where = self._path
        self._add_needs(
            prefix_needs(
                self,
                where,
                repository_prefixes=repository_prefixes,
                log_group_prefixes=log_group_prefixes,
                secret_prefixes=secret_prefixes,
                parameter_prefixes=parameter_prefixes,
            )
            + tag_needs(self, where, resource_tags)
        )

    def _family_report(self) -> Mapping[str, Sequence[str]]:
        stack = self._stack
        return {
            family: tuple(
                sorted({f"{need.kind}: {flatten(stack.resolve(need.arn))}" for need in needs})
            )
            for family, needs in sorted(self._families.items())
        }

    # -- synthesis --------------------------------------------------------------------------

    def _statements(self, resolver: Resolver | None = None) -> list[Statement]:
        # Needs are fixed once synthesis begins, so the statements are built once then.
        if self._built_statements is None or not self._finalized:
            stack = self._stack
            self._built_statements = build_statements(
                self._needs,
                resolver or stack.resolve,
                url_suffix=self._registry.url_suffix,
                pseudo_max_chars=_known_pseudo_lengths(stack),
            )
        return self._built_statements

    def _pack(self) -> PackingResult:
        return pack(self._statements(), MANAGED_POLICY_MAX_CHARS)

    def _values_to_resolve(self) -> list[str]:
        """Every CDK string the role's statements and coverage check resolve."""
        return [value for need in self._needs for value in (need.arn, *need.grant_aliases)]

    def _finalize(self, resolver: Resolver) -> None:
        if self._finalized:
            return
        if self._default_router:
            self._add_default_router_needs()
        self._statements(resolver)
        self._finalized = True
        packing = self._pack()
        limit = self._max_managed_policies - self._fixed_managed_policy_count()
        if len(packing.policies) > limit:
            self._packing_error = (
                f"{self._path}: the role's statements need {packing.total_chars} characters "
                f"(counted as IAM does, unresolved ARNs at their longest), which is "
                f"{len(packing.policies)} managed policies of {MANAGED_POLICY_MAX_CHARS} "
                f"characters; max_managed_policies is {self._max_managed_policies}. Ways out: "
                "raise the IAM quota of managed policies per role and max_managed_policies with "
                "it, or split the task families over several roles."
            )
            return
        for index, statements in enumerate(packing.policies):
            policy = iam.ManagedPolicy(
                self,
                "Policy" if index == 0 else f"Policy{index + 1}",
                description=f"Permissions ECS needs to start tasks with {self._path}"[:1000],
                document=iam.PolicyDocument.from_json(
                    {"Version": "2012-10-17", "Statement": [s.to_json() for s in statements]}
                ),
                # Attached from the policy's side: a key policy that names the role (CDK adds
                # one for a secret encrypted with a key of the same stack) would otherwise
                # close a dependency cycle role -> policy -> secret -> key -> role.
                roles=[self._role],
            )
            self._policies.append(policy)
            acknowledge_wildcards(policy, statements)

    def _add_default_router_needs(self) -> None:
        """Cover the log group of each default FireLens log router of the role's tasks.

        aws-cdk-lib adds the router, and the log group it writes to, when it renders the
        containers of a task definition that logs through FireLens without a router of its
        own; rendering them here adds both before the role's statements are built.
        """
        for task, log_group in default_firelens_routers(self._stack.node.root, self._role):
            task_path = task.node.path
            if task.stack is not self._stack:
                self._default_router_errors.append(
                    f"{self._path}: firelens_default_router=True, but {task_path} is in "
                    "another stack, whose router log group this role cannot name without a "
                    "dependency cycle between the stacks. Add the router yourself with "
                    "task.add_firelens_log_router(...) and a log group from this role's stack "
                    "in `log_groups`."
                )
                continue
            self._default_router_tasks.append(task_path)
            self._needs.append(
                Need(
                    "log_group",
                    log_group.log_group_arn,
                    LazyOrigin(task, "the default FireLens log router of "),
                )
            )

    def _fixed_managed_policy_count(self) -> int:
        return 0

    def _check_values(self) -> list[str]:
        """Every CDK string the coverage check resolves: the statements' resources, aliases."""
        return [
            *(r.value for statement in self._statements() for r in statement.resources),
            *(alias for need in self._needs for alias in need.grant_aliases),
        ]

    def _covers(self, resolve: Resolver) -> list[Cover]:
        """What the role allows, in the form grants and task definitions have at synth.

        :param resolve: resolves at check time, after aws-cdk-lib has prepared the app: a
            resource of a parent stack is then a parameter of a nested stack, for example.
        """
        covers = list(self._extra_covers())
        for statement in self._statements():
            actions = [action.lower() for action in statement.actions]
            writes_logs = statement.actions == LOGS_WRITE_ACTIONS
            for resource in statement.resources:
                resolved = resolve(resource.value)
                patterns = [canonical(resolved)]
                name = _log_group_name_form(resolved) if writes_logs else None
                if name is not None:
                    # awslogs options name the log group by name: cover that spelling too.
                    patterns.append(self._log_group_pattern(name))
                covers.extend(Cover(action, pattern) for action in actions for pattern in patterns)
        for need in self._needs:
            for alias in need.grant_aliases:
                pattern = canonical(resolve(alias))
                covers.extend(
                    Cover(action.lower(), pattern, grants_only=True)
                    for action in KIND_ACTIONS[need.kind]
                )
        return covers

    def _log_group_aliases(self, gaps: Sequence[Gap]) -> list[Gap]:
        """Gaps on a log group of the stack, under the name its streams appear by in awslogs
        options, so that a missing log group is reported once."""
        aliases = []
        for gap in gaps:
            name = _flat_log_group_name_form(gap.pattern)
            if name is not None and gap.action in LOGS_WRITE_ACTIONS:
                aliases.append(replace(gap, pattern=self._log_group_pattern(name)))
        return aliases

    def _log_group_pattern(self, name: str) -> str:
        """The streams of the stack's log group ``name``, as task definitions' needs spell it."""
        region, account = self._registry.region_account()
        return f"arn:<AWS::Partition>:logs:{region}:{account}:log-group:{name}:*"

    def _synth_errors(
        self, grants: Sequence[Any], task_needs: Sequence[TaskNeed], resolve: Resolver
    ) -> list[str]:
        """What is wrong with the role once the app is built.

        :param grants: the distinct statements granted to the role, resolved.
        :param task_needs: the needs read from the task definitions that use the role.
        :param resolve: resolves the role's own values at check time.
        """
        if not self._finalized:
            return [
                f"{self._path}: the role was created after its policies were built (by an "
                "aspect?); create it while building the app, before synthesis."
            ]
        errors = list(self._default_router_errors)
        if self._packing_error:
            errors.append(self._packing_error)
        recorded = self._role.recorded_grants
        covers = self._covers(resolve)
        # aws-cdk-lib grants ECR pulls on '*' once for each default FireLens log router; a
        # role that covers the routers (their image repository) excuses that many of them.
        excused = len(self._default_router_tasks)
        grant_gaps = [] if excused else find_gaps(grants, covers)
        if grant_gaps or excused:
            # Naming what needs each gap takes each grant on its own and reads the task
            # definitions: only when there are gaps (or routers to excuse).
            each = self._stack.resolve([grant.statement.to_statement_json() for grant in recorded])
            kept = []
            for grant, record in zip(each, recorded, strict=True):
                if excused and _is_router_image_grant(grant):
                    excused -= 1
                    continue
                kept.append((grant, (record.origin, record.family)))
            grant_gaps = find_gaps([g for g, _ in kept], covers, [o for _, o in kept])
        gaps = grant_gaps + find_task_gaps(
            task_needs, covers, grant_gaps + self._log_group_aliases(grant_gaps)
        )
        if gaps:
            lines = [
                f"{self._path}: the execution role does not cover {len(gaps)} permission(s) "
                "that the app grants to it (it grants nothing by itself, so ECS would be denied):"
            ]
            for gap in gaps:
                line = f"  - {gap.describe()}"
                if gap.family in self._families:
                    line += (
                        f"; the family is registered: add it with add_family({gap.family!r}, ...)"
                    )
                lines.append(line)
            errors.append("\n".join(lines))
        for policy in self._role.attached_inline_policies:
            errors.append(
                f"{self._path}: the inline policy {policy.node.path} is attached to the "
                "execution role, which takes its permissions only from its props. Pass the "
                "resources through the props, or attach the policy to the task role."
            )
        return errors


# What aws-cdk-lib grants the execution role for its default FireLens log router's image.
_ROUTER_IMAGE_ACTIONS = frozenset(("ecr:GetAuthorizationToken", *ECR_PULL_ACTIONS))


def _is_router_image_grant(grant: Any) -> bool:
    actions = grant.get("Action")
    actions = [actions] if isinstance(actions, str) else actions or []
    return (
        grant.get("Effect", "Allow") == "Allow"
        and grant.get("Resource") in ("*", ["*"])
        and "Condition" not in grant
        and set(actions) == _ROUTER_IMAGE_ACTIONS
    )


def _check_role_name(where: str, role_name: str | None) -> None:
    if role_name is None or is_unresolved(role_name):
        return
    if not isinstance(role_name, str) or not _ROLE_NAME.match(role_name):
        raise ExecutionRoleError(
            f"{where}: role_name {role_name!r} is not a valid IAM role name. Use 1 to 64 "
            "letters, digits or the characters +=,.@_-, or leave role_name unset to let "
            "CloudFormation generate one."
        )


def _check_role_path(where: str, path: str | None) -> None:
    if path is None or is_unresolved(path):
        return
    if not isinstance(path, str) or len(path) > 512 or not _ROLE_PATH.match(path):
        raise ExecutionRoleError(
            f"{where}: path {path!r} is not a valid IAM path. It must start and end with '/', "
            "for example '/ecs/', and be at most 512 printable ASCII characters."
        )


def _sequence(where: str, prop: str, values: Any) -> list[Any]:
    return list(_as_sequence(where, prop, values))


# ECS task definition families: up to 255 letters, digits, hyphens and underscores.
_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _check_family(where: str, family: Any) -> None:
    if not isinstance(family, str) or not _FAMILY.match(family):
        raise ExecutionRoleError(
            f"{where}: family {family!r} is not an ECS task definition family; use 1 to 255 "
            "letters, digits, hyphens and underscores, the same as the task definition's "
            "family."
        )


def _known_pseudo_lengths(stack: cdk.Stack) -> dict[str, int]:
    """Lengths of pseudo parameters fixed by the stack's environment.

    A stack in a concrete region deploys to that region's partition, so ``AWS::Partition``
    counts at its real length rather than the longest one (``aws`` is 3 characters,
    ``aws-iso-b`` 9): about 6 characters per ARN, which a shared role spends on more families.
    """
    known: dict[str, int] | None = getattr(stack, _PSEUDO_LENGTHS_ATTRIBUTE, None)
    if known is None:
        _, region, _ = stack_environment(stack)
        partition = None if is_unresolved(region) else partition_of_region(region)
        known = {"AWS::Partition": len(partition)} if partition else {}
        setattr(stack, _PSEUDO_LENGTHS_ATTRIBUTE, known)
    return known


_PSEUDO_LENGTHS_ATTRIBUTE = "_ecs_exec_roles_pseudo_lengths"
