"""Resolved CloudFormation values (``_cfn``): display forms, comparison forms, size bounds."""

from __future__ import annotations

from ecs_exec_roles._cfn import canonical, display, flatten, max_chars, sort_key

JOIN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:r:1:repository/a"]]}


def test_flatten_names_intrinsics_as_cdk_nag_does() -> None:
    assert flatten(JOIN) == "arn:<AWS::Partition>:ecr:r:1:repository/a"
    assert flatten({"Fn::GetAtt": ["Logs1234", "Arn"]}) == "<Logs1234.Arn>"
    assert flatten({"Ref": "Bucket"}) == "<Bucket>"
    assert flatten({"Fn::Sub": "cdk-${AWS::AccountId}"}) == "cdk-<AWS::AccountId>"
    assert flatten(None) == ""


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
