"""Matching what the role allows against grants and task needs (``_coverage``), directly."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ecs_exec_roles._coverage import (
    Cover,
    CoverIndex,
    covers_of,
    find_gaps,
)
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._needs import Need
from ecs_exec_roles._statements import Resource, Statement

SECRET = "arn:<AWS::Partition>:secretsmanager:r:1:secret:db-??????"


def _pattern(name: str) -> str:
    return f"arn:<AWS::Partition>:logs:r:1:log-group:{name}:*"


# Resources and patterns over a small alphabet, so that matches are frequent.
_TEXT = st.text(alphabet="ab:/-", min_size=0, max_size=8)
_PATTERN = st.text(alphabet="ab:/-*?", min_size=1, max_size=8)


def _glob_matches(pattern: str, resource: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, resource, re.DOTALL) is not None


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(_PATTERN, max_size=5), resource=_TEXT)
def test_cover_index_matches_like_iam_wildcards(patterns: list[str], resource: str) -> None:
    index = CoverIndex(Cover("ecr:batchgetimage", pattern) for pattern in patterns)
    expected = any(_glob_matches(pattern, resource) for pattern in patterns)
    assert index.allows("ecr:batchgetimage", resource) == expected
    assert not index.allows("ecr:getdownloadurlforlayer", resource)


def test_cover_index_secret_suffix_needs_exactly_six_characters() -> None:
    index = CoverIndex([Cover("secretsmanager:getsecretvalue", "arn:x:secret:db-??????")])
    assert index.allows("secretsmanager:getsecretvalue", "arn:x:secret:db-AbC123")
    assert not index.allows("secretsmanager:getsecretvalue", "arn:x:secret:db-AbC12")
    assert not index.allows("secretsmanager:getsecretvalue", "arn:x:secret:db-AbC1234")
    assert not index.allows("secretsmanager:getsecretvalue", "arn:x:secret:dc-AbC123")


def test_find_gaps_covers_a_grant_by_its_ecs_subset() -> None:
    covers = [
        Cover(
            "secretsmanager:getsecretvalue",
            "arn:<AWS::Partition>:secretsmanager:r:1:secret:db-??????",
        ),
        Cover("ecr:getauthorizationtoken", "*"),
    ]
    grants = [
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": "arn:aws:secretsmanager:r:1:secret:db-AbCdEf",
        },
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*"},
    ]
    assert find_gaps(grants, covers) == []
    broader = [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:*",
            "Resource": "arn:aws:secretsmanager:r:1:secret:db-*",
        }
    ]
    (gap,) = find_gaps(broader, covers)
    assert gap.action == "secretsmanager:GetSecretValue"
    assert gap.resource == "arn:aws:secretsmanager:r:1:secret:db-*"
    other = [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "arn:aws:secretsmanager:r:1:secret:dbx-AbCdEf",
        }
    ]
    assert len(find_gaps(other, covers)) == 1


def test_fails_when_a_grant_has_no_action_ecs_calls() -> None:
    grant = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:t"}
    (gap,) = find_gaps([grant], [], [("task family 'api' (S/Api)", "api")])
    assert gap.action == "dynamodb:GetItem"
    assert "task_role" in gap.fix
    assert gap.describe().endswith("(needed by task family 'api' (S/Api))")


def test_fails_when_a_grant_uses_not_action() -> None:
    grant = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    (gap,) = find_gaps([grant], [Cover("ecr:batchgetimage", "*")])
    assert gap.action == "NotAction/NotResource"


def test_a_fix_hint_replaces_the_kinds_prop_where_it_applies() -> None:
    grant = {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}
    assert find_gaps([grant], [])[0].fix == "add the resource to `repositories`"
    (gap,) = find_gaps([grant], [], hints=[lambda action, resource: f"hint {action} {resource}"])
    assert gap.fix == "hint ecr:batchgetimage *"


def test_covers_of_spells_a_log_group_of_the_stack_by_its_name_too() -> None:
    statement = Statement(
        "LogsWrite",
        Kind.LOG_GROUP.actions,
        (Resource("${Token[1]}", {"Fn::GetAtt": ["Logs1234", "Arn"]}, 10),),
    )
    resolved = {"${Token[1]}": {"Fn::GetAtt": ["Logs1234", "Arn"]}}
    covers = covers_of([statement], [], [], resolved.__getitem__, _pattern)
    patterns = {cover.pattern for cover in covers if cover.action == "logs:putlogevents"}
    assert patterns == {"<Logs1234.Arn>", _pattern("<Logs1234>")}


def test_covers_of_takes_grant_aliases_for_grants_only() -> None:
    need = Need(Kind.LOG_STREAM, "stream", "p", grant_aliases=("group",))
    covers = covers_of([], [need], [Cover("x:y", "*")], lambda value: f"arn:aws:{value}", _pattern)
    assert Cover("x:y", "*") in covers
    assert Cover("logs:createlogstream", "arn:<AWS::Partition>:group", grants_only=True) in covers
