"""Helpers for resolved CloudFormation values: stable keys, display forms, size bounds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._cdk_internals import identity

if TYPE_CHECKING:
    import aws_cdk as cdk

__all__ = [
    "LocalTwin",
    "Resolver",
    "canonical",
    "display",
    "flatten",
    "is_unresolved",
    "json_max_chars",
    "max_chars",
    "resolve_each",
    "sort_key",
    "with_their_stacks_tasks",
]

# Longest value each pseudo parameter can take. IAM counts policy size after CloudFormation
# substitutes them, so an unresolved pseudo parameter is counted at its longest value.
_PSEUDO_MAX_CHARS = {
    "AWS::Partition": len("aws-iso-b"),  # aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc
    "AWS::Region": 16,  # "ap-southeast-7", "us-gov-west-1"; 16 leaves room for longer names
    "AWS::AccountId": 12,
    "AWS::URLSuffix": len("amazonaws.com.cn"),
}


def resolve_each(stack: cdk.Stack, values: list[Any]) -> list[Any]:
    """Each of ``values`` resolved in ``stack``, in one call; ``None`` for a value that
    resolves to nothing (aws-cdk-lib drops such a value from a list, as the containers of a
    task definition without any)."""
    resolved = stack.resolve([{"value": value} for value in values])
    return [item.get("value") for item in resolved]


def with_their_stacks_tasks(
    held: Sequence[tuple[Any, Any]], tasks: Sequence[Any]
) -> list[tuple[cdk.Stack, list[Any], list[Any]]]:
    """Constructs the app holds (services, rules: each with its stack, ``None`` to read it from
    the construct) grouped with the task definitions (``IndexedTask``) of the same stack, for
    each stack that has both: a reference between them resolves there as the template has it
    (a task definition's ``Ref``)."""
    groups: dict[object, tuple[cdk.Stack, list[Any], list[Any]]] = {}
    for task in tasks:
        groups.setdefault(identity(task.stack), (task.stack, [], []))[2].append(task)
    for construct, stack in held:
        group = groups.get(identity(stack if stack is not None else construct.stack))
        if group is not None:
            group[1].append(construct)
    return [group for group in groups.values() if group[1]]


def sort_key(resolved: Any) -> str:
    """A stable text key for a resolved value, independent of token numbering."""
    return json.dumps(resolved, sort_keys=True, separators=(",", ":"))


def display(resolved: Any) -> str:
    """The value as a reader finds it in the template: literal text, or compact JSON."""
    if isinstance(resolved, str):
        return resolved
    return json.dumps(resolved, sort_keys=True, separators=(",", ":"))


def flatten(resolved: Any, *, imports: bool = False) -> str:
    """Flatten a resolved value the way cdk-nag names a resource in a finding.

    ``{"Ref": "AWS::Partition"}`` becomes ``<AWS::Partition>``, ``Fn::GetAtt`` becomes
    ``<Logical.Attr>``, ``Fn::Join`` is joined, ``Fn::Sub`` keeps its text with ``${x}`` as ``<x>``.

    :param imports: show an ``Fn::ImportValue`` as ``<export name>``, a part the template
        cannot know (cdk-nag shows the export's name alone, as literal text). An
        ``Fn::GetStackOutput`` is always ``<stack.output>``.
    """
    if resolved is None:
        return ""
    if isinstance(resolved, str):
        return resolved.replace("${", "<").replace("}", ">")
    if isinstance(resolved, dict):
        if "Fn::Join" in resolved:
            delimiter, parts = resolved["Fn::Join"]
            return str(delimiter).join(flatten(part, imports=imports) for part in parts)
        if "Fn::Sub" in resolved:
            return flatten(resolved["Fn::Sub"], imports=imports)
        if "Fn::GetAtt" in resolved:
            logical_id, attribute = resolved["Fn::GetAtt"]
            return f"<{flatten(logical_id)}.{flatten(attribute)}>"
        if "Fn::ImportValue" in resolved:
            name = flatten(resolved["Fn::ImportValue"], imports=imports)
            return f"<{name}>" if imports else name
        if "Fn::GetStackOutput" in resolved and isinstance(resolved["Fn::GetStackOutput"], dict):
            # A weak cross-stack reference: shown as the stack and output it reads.
            reference = resolved["Fn::GetStackOutput"]
            stack, output = (flatten(reference.get(k)) for k in ("StackName", "OutputName"))
            return f"<{stack}.{output}>"
        if "Ref" in resolved:
            return f"<{flatten(resolved['Ref'])}>"
    return json.dumps(resolved, separators=(",", ":"))


# How aws-cdk-lib encodes an unresolved value inside a string, or as a list's one element.
_TOKEN_MARKERS = re.compile(r"[$#]\{Token\[")


def is_unresolved(value: Any) -> bool:
    """``Token.is_unresolved`` for strings, without a call into aws-cdk-lib.

    A string holds a token exactly when aws-cdk-lib's encoding marker is in it; other values
    are asked of aws-cdk-lib.
    """
    if isinstance(value, str):
        return _TOKEN_MARKERS.search(value) is not None
    import aws_cdk as cdk

    return bool(cdk.Token.is_unresolved(value))


_LITERAL_PARTITION = re.compile(r"^arn:aws(?:-[a-z]+(?:-[a-z]+)?)?:")


def canonical(resolved: Any) -> str:
    """A comparable text form of a resolved ARN: flattened, partition as ``<AWS::Partition>``.

    One deployment has one partition, so ``arn:aws:...`` and ``arn:<AWS::Partition>:...`` name
    the same resource there; comparing on this form lets an ARN a user wrote out match the
    same ARN that CDK built from the partition token.
    """
    return _LITERAL_PARTITION.sub("arn:<AWS::Partition>:", flatten(resolved), count=1)


def max_chars(
    resolved: Any, longest: int, pseudo_max_chars: Mapping[str, int] | None = None
) -> int:
    """Upper bound of the characters IAM counts for a resolved ARN once deployed.

    Literal strings count exactly (as JSON, quotes included). A ``Fn::Join`` counts its literal
    parts exactly and each pseudo parameter at its longest value. Any other intrinsic (a
    ``Ref`` or ``Fn::GetAtt`` of a resource, an import, a ``Fn::Select``, a ``CfnParameter``)
    stands for a value the template cannot know. The whole value is an ARN of a kind whose
    ARNs have at most ``longest`` characters, so however many such parts it has, it counts at
    most ``longest`` (and never less than its known parts).
    """
    bounds = {**_PSEUDO_MAX_CHARS, **(pseudo_max_chars or {})}
    known, unknown = _parts_chars(resolved, bounds)
    if not unknown:
        return 2 + known
    return 2 + min(known + unknown * longest, max(known, longest))


def _parts_chars(resolved: Any, bounds: Mapping[str, int]) -> tuple[int, int]:
    """Characters of the known parts of a value (pseudo parameters at their bound), and the
    number of parts whose value the template cannot know."""
    if isinstance(resolved, str):
        # json.dumps escapes nothing in ARNs except quotes and backslashes, which ARNs lack.
        return len(json.dumps(resolved)) - 2, 0
    if isinstance(resolved, dict) and len(resolved) == 1:
        ((function, argument),) = resolved.items()
        if function == "Ref" and argument in bounds:
            return bounds[argument], 0
        if function == "Fn::Join":
            delimiter, parts = argument
            known = len(delimiter) * max(len(parts) - 1, 0)
            unknown = 0
            for part in parts:
                part_known, part_unknown = _parts_chars(part, bounds)
                known += part_known
                unknown += part_unknown
            return known, unknown
    return 0, 1


def json_max_chars(
    resolved: Any, intrinsic_max_chars: int, pseudo_max_chars: Mapping[str, int] | None = None
) -> int:
    """Upper bound of the characters of a resolved JSON value (a statement's ``Condition``),
    compact, once deployed: every string, key and separator counts, each pseudo parameter at
    its longest value and any other intrinsic at ``intrinsic_max_chars``."""
    bounds = {**_PSEUDO_MAX_CHARS, **(pseudo_max_chars or {})}
    return _json_chars(resolved, intrinsic_max_chars, bounds)


def _json_chars(resolved: Any, intrinsic: int, bounds: Mapping[str, int]) -> int:
    if isinstance(resolved, list):
        return (
            2 + sum(_json_chars(v, intrinsic, bounds) for v in resolved) + max(len(resolved) - 1, 0)
        )
    if isinstance(resolved, dict):
        if len(resolved) == 1:
            ((function, argument),) = resolved.items()
            if function == "Ref" or function.startswith("Fn::"):
                if function == "Ref" and argument in bounds:
                    return 2 + bounds[argument]
                if function == "Fn::Join":
                    delimiter, parts = argument
                    inner = sum(_json_chars(p, intrinsic, bounds) - 2 for p in parts)
                    return 2 + inner + len(delimiter) * max(len(parts) - 1, 0)
                return 2 + intrinsic
        return (
            2
            + sum(
                len(json.dumps(str(key))) + 1 + _json_chars(value, intrinsic, bounds)
                for key, value in resolved.items()
            )
            + max(len(resolved) - 1, 0)
        )
    return len(json.dumps(resolved))


class Resolver:
    """``Stack.resolve`` with a cache: values resolved together in one call, each once.

    Only used once synthesis has begun, when the values a role names can no longer change.
    """

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack
        self._cache: dict[str, Any] = {}

    def prefetch(self, values: Iterable[str]) -> None:
        missing = []
        for value in dict.fromkeys(values):
            if value in self._cache:
                continue
            if is_unresolved(value):
                missing.append(value)
            else:
                # A string without a token resolves to itself.
                self._cache[value] = value
        if missing:
            self._cache.update(zip(missing, self._stack.resolve(missing), strict=True))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            self.prefetch((value,))
            return self._cache[value]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            self.prefetch(value)
            return [self._cache[item] for item in value]
        return self._stack.resolve(value)


class LocalTwin:
    """Whether a stack has its own resource at a construct's path within its stack (so with
    the construct's logical ID): before aws-cdk-lib prepares the app, a reference from another
    stack resolves as a reference within it, and the two read the same.

    :param construct: a construct of a stack (an ``iam.Role``).
    """

    def __init__(self, construct: Any) -> None:
        import aws_cdk as cdk

        stack_path = str(cdk.Stack.of(construct).node.path)
        own = str(construct.node.path)
        self._parts = (own[len(stack_path) + 1 :] if stack_path else own).split("/")
        self._known: dict[object, bool] = {}

    def in_stack(self, stack: cdk.Stack) -> bool:
        key = identity(stack)
        if key not in self._known:
            node: Any = stack
            for part in self._parts:
                node = node.node.try_find_child(part)
                if node is None:
                    break
            self._known[key] = node is not None
        return self._known[key]
