"""Packing statements into managed policies (``_packing``), directly."""

from __future__ import annotations

import json

from ecs_exec_roles._packing import MANAGED_POLICY_MAX_CHARS, pack, policy_chars
from ecs_exec_roles._statements import Resource, Statement


def _resource(name: str) -> Resource:
    value = f"arn:aws:ecr:eu-west-1:123456789012:repository/{name}"
    return Resource(value, value, len(json.dumps(value)))


def _statement(sid: str, count: int, width: int = 40) -> Statement:
    return Statement(
        sid,
        ("ecr:BatchGetImage",),
        tuple(_resource(f"{sid.lower()}{index:04d}" + "x" * width) for index in range(count)),
    )


def _compact(statements: tuple[Statement, ...]) -> int:
    document = {"Version": "2012-10-17", "Statement": [s.to_json() for s in statements]}
    return len(json.dumps(document, separators=(",", ":")))


def test_policy_chars_bounds_literal_statements_as_iam_counts_them() -> None:
    # Several actions and resources are lists, exactly as counted; a single one is a string
    # in the template, two brackets fewer each than counted.
    for statements in ((_statement("A", 1),), (_statement("A", 3), _statement("B", 2))):
        over = policy_chars(statements) - _compact(statements)
        singles = sum(2 * (len(s.actions) == 1) + 2 * (len(s.resources) == 1) for s in statements)
        assert over == singles


def test_everything_fits_in_one_policy_when_it_can() -> None:
    packing = pack([_statement("A", 5), _statement("B", 5)])
    assert len(packing.policies) == 1
    assert 0 <= packing.total_chars - _compact(packing.policies[0]) <= 4


def test_a_statement_is_split_where_a_policy_runs_full() -> None:
    statements = [_statement("A", 100), _statement("B", 100)]
    packing = pack(statements)
    assert len(packing.policies) > 1
    for policy in packing.policies:
        assert _compact(policy) <= MANAGED_POLICY_MAX_CHARS
    # Order and content are kept: concatenating the parts gives back every resource.
    flat = [r for policy in packing.policies for s in policy for r in s.resources]
    assert flat == [r for s in statements for r in s.resources]
    sids = [s.sid for policy in packing.policies for s in policy]
    assert sids == sorted(sids) and sids[0] == "A" and sids[-1] == "B"


def test_adding_a_resource_only_changes_the_policies_from_where_it_lands() -> None:
    before = pack([_statement("A", 100), _statement("B", 100)])
    after = pack([_statement("A", 100), _statement("B", 101)])
    assert after.policies[: len(before.policies) - 1] == before.policies[:-1]


def test_a_resource_larger_than_a_policy_is_set_apart_not_packed() -> None:
    huge = Resource("x", "x", MANAGED_POLICY_MAX_CHARS)
    statement = Statement("Huge", ("ecr:BatchGetImage",), (_resource("a"), huge, _resource("b")))
    packing = pack([statement])
    assert [r.value for p in packing.policies for s in p for r in s.resources] == [
        _resource("a").value,
        _resource("b").value,
    ]
    ((where, resource, chars),) = packing.oversized
    assert where.sid == "Huge" and resource is huge and chars > MANAGED_POLICY_MAX_CHARS


def test_a_condition_counts_every_key_and_value() -> None:
    # A kms:ViaService condition with the region and URL suffix as pseudo parameters: each at
    # its longest value, every other character as written.
    via = {"Fn::Join": [".", ["secretsmanager", {"Ref": "AWS::Region"}, {"Ref": "AWS::URLSuffix"}]]}
    condition = {"StringEquals": {"kms:ViaService": [via, via]}}
    statement = Statement(
        "KmsDecryptViaSecretsManager",
        ("kms:Decrypt",),
        (_resource("k"),),
        condition={"x": {}},
        condition_resolved=condition,
    )
    longest = "secretsmanager." + "r" * 16 + "." + "amazonaws.com.cn"
    written = {
        "Sid": statement.sid,
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [_resource("k").value],
        "Condition": {"StringEquals": {"kms:ViaService": [longest, longest]}},
    }
    document = {"Version": "2012-10-17", "Statement": [written]}
    assert policy_chars([statement]) == len(json.dumps(document, separators=(",", ":")))


def test_a_smaller_limit_packs_into_more_policies() -> None:
    statements = [_statement("A", 30)]
    assert len(pack(statements, 1000).policies) > len(pack(statements).policies)
