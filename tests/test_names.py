"""What a resource's ARN must look like (``_names``): exactly one resource of its kind."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from ecs_exec_roles import ExecutionRoleError
from ecs_exec_roles._kinds import Kind
from ecs_exec_roles._names import check_exact_name, name_problem, shown_arn, suffixed_secret_name


def test_shown_arn_names_pseudo_parameters_and_elides_other_tokens(stack: cdk.Stack) -> None:
    agnostic = cdk.Stack(cdk.App(), "A")
    name = cdk.CfnParameter(agnostic, "Name").value_as_string
    arn = f"arn:{agnostic.partition}:ecr:r:1:repository/{name}"
    assert shown_arn(arn) == "'arn:<AWS::Partition>:ecr:r:1:repository/<token>'"


def test_only_a_partial_secret_arn_whose_name_ends_like_a_suffix_is_a_problem() -> None:
    partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-abcdef-??????"
    assert "'prod/db-abcdef'" in (suffixed_secret_name(partial) or "")
    # A complete ARN, a name not ending so, or another kind: no problem.
    assert suffixed_secret_name(partial.removesuffix("-??????")) is None
    assert suffixed_secret_name(partial.replace("db-abcdef", "db-abcde")) is None
    assert suffixed_secret_name("arn:aws:ssm:eu-west-1:123456789012:parameter/x-abcdef") is None


@pytest.mark.parametrize(
    ("kind", "arn", "words"),
    [
        (Kind.REPOSITORY, "arn:aws:ecr:eu-west-1:123456789012:repository/App", "not a valid ECR"),
        (Kind.LOG_GROUP, "arn:aws:logs:*:123456789012:log-group:app", "in every region"),
        (Kind.SECRET, "arn:aws:secretsmanager:eu-west-1:1:secret:db*", "wildcard"),
        (Kind.S3_OBJECT, "arn:aws:s3:::bucket/", "empty name"),
    ],
)
def test_a_name_that_names_no_single_resource_is_a_problem(
    kind: Kind, arn: str, words: str
) -> None:
    assert words in (name_problem(kind, arn) or "")
    with pytest.raises(ExecutionRoleError, match=r"S/R: repositories\[2\] \(origin\)"):
        check_exact_name("S/R", "repositories", 2, kind, arn, "origin")


def test_an_exact_name_and_the_kinds_own_wildcard_are_no_problem() -> None:
    assert name_problem(Kind.REPOSITORY, "arn:aws:ecr:eu-west-1:1:repository/team/app") is None
    assert name_problem(Kind.LOG_GROUP, "arn:aws:logs:eu-west-1:1:log-group:app:*") is None
    check_exact_name("S/R", "secrets", 0, Kind.SECRET, "arn:aws:secretsmanager:r:1:secret:db", "")
