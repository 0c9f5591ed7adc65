"""Policies that reach a role from their own side, around the recording role.

The recording role keeps what is added through the role itself (aws-cdk-lib's grants, an
inline policy, a managed policy attached with ``add_managed_policy``) out of the template. A
policy resource can still name the role from its own side: ``iam.ManagedPolicy(roles=[role])``,
``policy.attach_to_role(role)``, or an L1 ``CfnManagedPolicy``, ``CfnPolicy`` or
``CfnRolePolicy``. Those are found here, at synth, by resolving the roles each policy resource
of the app names in its own stack, where a reference to a role of another stack is an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk

from ._cfn import is_unresolved

if TYPE_CHECKING:
    from ._recorder import GrantedRole
    from ._task_definitions import PolicyResource

__all__ = ["AttachedRole", "policies_naming"]


@dataclass(frozen=True)
class AttachedRole:
    """A role of the stack, the policies built for it, and the name it was given (if any)."""

    role: GrantedRole
    own_policies: Sequence[Any]
    role_name: str | None


def policies_naming(
    stack: cdk.Stack, roles: Sequence[AttachedRole], policies: Sequence[PolicyResource]
) -> list[list[str]]:
    """For each role of ``stack``, the construct paths of the policies of the app, other than
    its own, that attach to it from their side (a policy construct by its own path)."""
    found: list[list[str]] = [[] for _ in roles]
    ours = {id(policy) for role in roles for policy in role.own_policies}
    foreign = [p for p in policies if p.owner is None or id(p.owner) not in ours]
    if not foreign or not roles:
        return found
    by_stack: dict[int, tuple[cdk.Stack, list[PolicyResource]]] = {}
    for policy in foreign:
        home = cdk.Stack.of(policy.resource)
        by_stack.setdefault(id(home), (home, []))[1].append(policy)
    # Each role by its name and by its ARN (a role imported by ARN is named by a part of it).
    role_names = [value for role in roles for value in (role.role.role_name, role.role.role_arn)]
    # Each as its own stack's template has it: a policy of another stack that resolves to the
    # same plain Ref names a role of its own stack with the same logical ID.
    own_forms = _pairs(stack.resolve(role_names))
    for home, members in by_stack.values():
        # A list per policy (resolving drops a missing value from a list, not an empty list).
        names_of_members = home.resolve([p.role_names() or [] for p in members])
        if not any(names_of_members):
            continue
        forms = own_forms if home is stack else _pairs(_forms_in(home, role_names))
        for policy, names in zip(members, names_of_members, strict=True):
            for index, role in enumerate(roles):
                if _names_role(names, forms[index], own_forms[index], home is stack, role):
                    path = str((policy.owner or policy.resource).node.path)
                    # An inline policy attached through the role is reported as such already
                    # (jsii hands it to the role as another Python object: compared by path).
                    inline = {str(p.node.path) for p in role.role.attached_inline_policies}
                    if path not in inline:
                        found[index].append(path)
    return found


def _pairs(values: Sequence[Any]) -> list[tuple[Any, Any]]:
    return list(zip(values[::2], values[1::2], strict=True))


def _forms_in(home: cdk.Stack, role_names: Sequence[str]) -> list[Any]:
    """Each role's name as a template of ``home`` would name it; ``None`` where it cannot
    (aws-cdk-lib refuses a reference across environments)."""
    try:
        return list(home.resolve(list(role_names)))
    except RuntimeError:
        forms: list[Any] = []
        for name in role_names:
            try:
                forms.append(home.resolve(name))
            except RuntimeError:
                forms.append(None)
        return forms


def _names_role(
    names: Any,
    forms: tuple[Any, Any],
    own_forms: tuple[Any, Any],
    same_stack: bool,
    role: AttachedRole,
) -> bool:
    """Whether a policy's resolved role names hold the role (``forms``: its name and ARN
    resolved in the policy's stack), whole or as the part of its ARN a name is cut from."""
    literal = role.role_name
    for name in names if isinstance(names, list) else [names] if names else []:
        if isinstance(literal, str) and not is_unresolved(literal) and name == literal:
            return True
        for form, own_form in zip(forms, own_forms, strict=True):
            if form is not None and _mentions(name, form) and (same_stack or form != own_form):
                return True
    return False


def _mentions(value: Any, form: Any) -> bool:
    """Whether ``form`` is ``value`` or a part of it."""
    if value == form:
        return True
    if isinstance(value, dict):
        return any(_mentions(item, form) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, form) for item in value)
    return False
