"""Resolved CloudFormation values (``_cfn``): display forms, comparison forms, size bounds."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk

from ecs_exec_roles._cfn import (
    Resolver,
    canonical,
    display,
    flatten,
    json_max_chars,
    max_chars,
    sort_key,
)

JOIN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:r:1:repository/a"]]}


def test_flatten_names_intrinsics_as_cdk_nag_does() -> None:
    assert flatten(JOIN) == "arn:<AWS::Partition>:ecr:r:1:repository/a"
    assert flatten({"Fn::GetAtt": ["Logs1234", "Arn"]}) == "<Logs1234.Arn>"
    assert flatten({"Ref": "Bucket"}) == "<Bucket>"
    assert flatten({"Fn::Sub": "cdk-${AWS::AccountId}"}) == "cdk-<AWS::AccountId>"
    assert flatten(None) == ""


def test_flatten_shows_imports_and_stack_outputs_as_parts_the_template_cannot_tell() -> None:
    imported = {"Fn::ImportValue": "Data:ExportsOutputRefDb"}
    assert flatten(imported) == "Data:ExportsOutputRefDb"
    assert flatten(imported, imports=True) == "<Data:ExportsOutputRefDb>"
    output = {"Fn::GetStackOutput": {"StackName": "Data", "OutputName": "Db", "Region": "x"}}
    arn = {"Fn::Join": ["", ["arn:aws:ssm:x:1:parameter/", output]]}
    assert flatten(arn) == flatten(arn, imports=True) == "arn:aws:ssm:x:1:parameter/<Data.Db>"


def test_canonical_compares_a_literal_partition_with_the_partition_token() -> None:
    assert canonical("arn:aws:ecr:r:1:repository/a") == canonical(JOIN)
    assert canonical("arn:aws-cn:ecr:r:1:repository/a") == canonical(JOIN)
    assert canonical("*") == "*"


def test_sort_key_and_display_do_not_depend_on_key_order() -> None:
    assert sort_key({"b": 1, "a": 2}) == sort_key({"a": 2, "b": 1})
    assert display("arn:x") == "arn:x"
    assert display({"Ref": "X"}) == '{"Ref":"X"}'


def test_max_chars_counts_literals_exactly_and_intrinsics_at_their_bound() -> None:
    assert max_chars("abc", 99) == len('"abc"')
    # The partition counts at its longest (aws-iso-b) unless the stack's is known.
    assert max_chars(JOIN, 99) == 2 + len("arn:aws-iso-b:ecr:r:1:repository/a")
    assert max_chars(JOIN, 99, {"AWS::Partition": 3}) == 2 + len("arn:aws:ecr:r:1:repository/a")
    assert max_chars({"Fn::GetAtt": ["Repo", "Arn"]}, 99) == 2 + 99


def test_max_chars_counts_a_value_at_most_at_the_longest_arn_of_its_kind() -> None:
    # Unknown parts (a CfnParameter, an import) are each as long as the whole ARN may be, but
    # together no longer than it: a name of several such parts counts once.
    parts = ["arn:aws:ssm:r:1:parameter/", {"Ref": "A"}, "/", {"Ref": "B"}, "/p1"]
    joined = {"Fn::Join": ["", parts]}
    assert max_chars(joined, 1011) == 2 + 1011
    assert max_chars({"Fn::Join": ["", ["x" * 1200, {"Ref": "A"}]]}, 1011) == 2 + 1200
    # Literal text is never capped: it counts as written.
    assert max_chars("x" * 1200, 1011) == 2 + 1200


def test_json_max_chars_counts_objects_lists_and_intrinsics() -> None:
    value = {"StringEquals": {"k": ["a", {"Ref": "AWS::Region"}, {"Fn::GetAtt": ["K", "Arn"]}]}}
    longest = {"StringEquals": {"k": ["a", "r" * 16, "x" * 20]}}
    assert json_max_chars(value, 20) == len(json.dumps(longest, separators=(",", ":")))


class _CountingStack:
    """A stack whose ``resolve`` calls are recorded (each call is one call into aws-cdk-lib)."""

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack
        self.calls: list[Any] = []

    def resolve(self, value: Any) -> Any:
        self.calls.append(value)
        return self._stack.resolve(value)


def test_resolver_resolves_every_token_in_one_call_and_plain_strings_in_none() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    counting = _CountingStack(stack)
    resolver = Resolver(counting)  # type: ignore[arg-type]
    arn = f"arn:{stack.partition}:s3:::bucket"
    resolver.prefetch([stack.region, "plain", arn, stack.region])
    assert counting.calls == [[stack.region, arn]]
    assert resolver(stack.region) == {"Ref": "AWS::Region"}
    assert resolver(arn) == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::bucket"]]}
    assert resolver("plain") == "plain"
    # Everything was resolved by the prefetch.
    assert len(counting.calls) == 1


def test_resolver_resolves_a_list_of_strings_in_one_call_each_value_once() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    counting = _CountingStack(stack)
    resolver = Resolver(counting)  # type: ignore[arg-type]
    assert resolver(stack.account) == {"Ref": "AWS::AccountId"}
    assert resolver([stack.account, stack.region, "x"]) == [
        {"Ref": "AWS::AccountId"},
        {"Ref": "AWS::Region"},
        "x",
    ]
    # The account was resolved before: only the region is asked for.
    assert counting.calls == [[stack.account], [stack.region]]
    resolver.prefetch([stack.account, stack.region])
    assert len(counting.calls) == 2


def test_resolver_passes_other_values_to_the_stack_on_every_call() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    counting = _CountingStack(stack)
    resolver = Resolver(counting)  # type: ignore[arg-type]
    value = {"Region": stack.region}
    assert resolver(value) == {"Region": {"Ref": "AWS::Region"}}
    assert resolver(value) == {"Region": {"Ref": "AWS::Region"}}
    assert resolver(["a", 1]) == ["a", 1]
    assert counting.calls == [value, value, ["a", 1]]
