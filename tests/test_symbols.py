"""Placeholders for values only deployment tells (``_symbols``): one per key, read back as the
unknown they stand for, and shown by their labels."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_exec_roles._symbols import PLACEHOLDER, PSEUDO_PARAMETERS, Symbols, Unknown

REGION = Unknown("<AWS::Region>", ("pseudo", "AWS::Region"))
ACCOUNT = Unknown("<AWS::AccountId>", ("pseudo", "AWS::AccountId"))
QUEUE = Unknown(
    "<S/Queue>",
    ("ref", "S.template.json", "Queue"),
    resource_type="AWS::SQS::Queue",
    attribute="Ref",
    expression={"Ref": "Queue"},
)


def test_placeholders_are_numbered_in_the_order_of_their_keys() -> None:
    symbols = Symbols()
    assert symbols.placeholder(REGION) == "\x010\x02"
    assert symbols.placeholder(ACCOUNT) == "\x011\x02"
    assert symbols.placeholder(QUEUE) == "\x012\x02"
    assert all(PLACEHOLDER.fullmatch(symbols.placeholder(u)) for u in (REGION, ACCOUNT, QUEUE))


def test_the_same_key_gives_the_same_placeholder_and_keeps_the_first_unknown() -> None:
    symbols = Symbols()
    first = symbols.placeholder(QUEUE)
    # Another label, type and expression, but the same key: the same value.
    again = Unknown("<Queue>", QUEUE.key, expression={"Fn::GetAtt": ["Queue", "Ref"]})
    assert symbols.placeholder(again) == first
    assert symbols.unknown(first) is QUEUE
    other = Unknown("<S/Queue>", ("ref", "T.template.json", "Queue"))
    assert symbols.placeholder(other) != first


def test_unknowns_compare_by_key_and_fields_but_not_by_expression() -> None:
    assert Unknown("<A>", ("k",), expression={"Ref": "A"}) == Unknown("<A>", ("k",))
    assert Unknown("<A>", ("k",)) != Unknown("<A>", ("j",))
    assert Unknown("<A>", ("k",)) != Unknown("<B>", ("k",))


def test_separate_symbols_number_their_placeholders_independently() -> None:
    first, second = Symbols(), Symbols()
    first.placeholder(REGION)
    assert second.placeholder(ACCOUNT) == "\x010\x02"
    assert second.unknown("\x010\x02") is ACCOUNT
    assert first.unknown("\x010\x02") is REGION


@pytest.mark.parametrize(
    ("make", "whole"),
    [
        (lambda p: p, True),
        (lambda p: p + "x", False),
        (lambda p: "x" + p, False),
        (lambda p: p + p, False),
        (lambda p: "", False),
        (lambda p: "arn:aws:sqs", False),
        (lambda p: [p], False),
        (lambda p: {"Ref": p}, False),
        (lambda p: None, False),
        (lambda p: 0, False),
    ],
    ids=["whole", "suffix", "prefix", "two", "empty", "literal", "list", "object", "none", "int"],
)
def test_unknown_reads_only_a_whole_placeholder(make: Any, whole: bool) -> None:
    symbols = Symbols()
    found = symbols.unknown(make(symbols.placeholder(QUEUE)))
    assert found is (QUEUE if whole else None)


def test_unknowns_lists_every_placeholder_of_a_text_in_order() -> None:
    symbols = Symbols()
    region, account, queue = (symbols.placeholder(u) for u in (REGION, ACCOUNT, QUEUE))
    text = f"arn:aws:sqs:{account}:{region}:{queue}/{account}"
    assert list(symbols.unknowns(text)) == [ACCOUNT, REGION, QUEUE, ACCOUNT]
    assert list(symbols.unknowns("arn:aws:sqs:eu-west-1:123456789012:q")) == []
    assert list(symbols.unknowns("")) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket"),
        ("", ""),
        ({"b": 1, "a": [2, "x"]}, '{"a":[2,"x"],"b":1}'),
        ([{"Ref": "A"}, None], '[{"Ref":"A"},null]'),
        (None, "null"),
        (3, "3"),
        (True, "true"),
    ],
    ids=["text", "empty", "object", "list", "none", "number", "bool"],
)
def test_display_shows_text_as_is_and_anything_else_as_compact_sorted_json(
    value: Any, expected: str
) -> None:
    assert Symbols().display(value) == expected


def test_display_shows_each_placeholder_as_its_label() -> None:
    symbols = Symbols()
    region, account, queue = (symbols.placeholder(u) for u in (REGION, ACCOUNT, QUEUE))
    shown = symbols.display(f"arn:aws:sqs:{region}:{account}:{queue}")
    assert shown == "arn:aws:sqs:<AWS::Region>:<AWS::AccountId>:<S/Queue>"
    assert symbols.display(queue) == "<S/Queue>"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (("pseudo", "AWS::Region"), "AWS::Region"),
        (("pseudo", "AWS::Partition"), "AWS::Partition"),
        (("ref", "t.json", "AWS::StackName"), ""),
        (("ref", "pseudo", "Queue"), ""),
        (("parameter", "t.json", "Env"), ""),
        (("ssm", "/cdk-bootstrap/hnb659fds/version"), ""),
    ],
    ids=lambda v: str(v),
)
def test_pseudo_names_the_pseudo_parameter_an_unknown_is(
    key: tuple[Any, ...], expected: str
) -> None:
    assert Unknown("<x>", key).pseudo == expected


def test_pseudo_parameters_are_those_an_arn_is_built_from() -> None:
    assert set(PSEUDO_PARAMETERS) == {
        "AWS::Partition",
        "AWS::Region",
        "AWS::AccountId",
        "AWS::URLSuffix",
    }


def test_display_shows_the_labels_of_placeholders_inside_objects_and_lists() -> None:
    symbols = Symbols()
    account = symbols.placeholder(ACCOUNT)
    assert symbols.display({"a": account}) == '{"a":"<AWS::AccountId>"}'
    assert symbols.display([account, "x"]) == '["<AWS::AccountId>","x"]'
