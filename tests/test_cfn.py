"""Resolved CloudFormation values (``_cfn``): display forms, comparison forms, size bounds."""

from __future__ import annotations

import json

from ecs_exec_roles._cfn import canonical, display, flatten, json_max_chars, max_chars, sort_key

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
