"""The audit's report: the table for people, JSON, and SARIF 2.1.0 validated against the
OASIS schema."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ecs_exec_roles._audit import RoleAudit, audit
from ecs_exec_roles._report import RULES, counts, write_report
from ecs_exec_roles._sources import load_paths
from testkit.sarif import validate_sarif

ACCOUNT, REGION = "123456789012", "eu-west-1"
TEMPLATE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: ecs-tasks.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
      Policies:
        - PolicyName: secrets
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [secretsmanager:GetSecretValue, secretsmanager:DescribeSecret]
                Resource: "*"
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ExecutionRoleArn: !GetAtt Role.Arn
      ContainerDefinitions:
        - Name: web
          Image: !Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/web:1
          Secrets:
            - Name: DB
              ValueFrom: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:\
                ${AWS::AccountId}:secret:db-AbCdEf"
          EnvironmentFiles:
            - Type: s3
              Value: arn:aws:s3:::config-bucket/web.env
"""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> list[RoleAudit]:
    path = tmp_path_factory.mktemp("yaml") / "service.yaml"
    path.write_text(TEMPLATE)
    return audit(load_paths([str(path)]))


def _write(roles: list[RoleAudit], output_format: str, stream: Any = None) -> str:
    stream = stream if stream is not None else io.StringIO()
    write_report(roles, output_format, stream)
    return str(stream.getvalue())


def test_every_category_is_counted(roles: list[RoleAudit]) -> None:
    assert counts(roles) == {"missing": 2, "excess": 7, "trust": 1, "inline": 1, "unverified": 0}


def test_sarif_is_valid_and_points_at_the_role_in_its_template(roles: list[RoleAudit]) -> None:
    document = json.loads(_write(roles, "sarif"))
    validate_sarif(document)
    results = document["runs"][0]["results"]
    assert len(results) == sum(counts(roles).values())
    first = results[0]
    assert first["ruleId"] == "MissingPermission" and first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("service.yaml")
    assert location["region"]["startLine"] == 2  # "  Role:"
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_an_invalid_sarif_document_is_refused() -> None:
    with pytest.raises(Exception, match="version"):
        validate_sarif({"version": "9.9", "runs": []})


def test_json_holds_the_findings_and_the_policies_to_paste(roles: list[RoleAudit]) -> None:
    document = json.loads(_write(roles, "json"))
    (role,) = document["roles"]
    assert role["role"] == "service.yaml::Role"
    assert role["usedBy"] == ["task definition service.yaml::Task"]
    assert [f["category"] for f in role["findings"]][:2] == ["missing", "missing"]
    sids = [s["Sid"] for s in role["recommendedPolicy"]["Statement"]]
    assert sids == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "SecretsRead",
        "S3FilesRead",
        "S3FilesBucketLocation",
    ]
    condition = role["recommendedTrustPolicy"]["Statement"][0]["Condition"]
    # The template's account and region are unknown: shown as labels, to be filled in.
    assert condition["StringEquals"]["aws:SourceAccount"] == "<AWS::AccountId>"


def test_the_table_is_coloured_only_on_a_terminal(roles: list[RoleAudit]) -> None:
    plain = _write(roles, "table")
    coloured = _write(roles, "table", _Terminal())
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert plain.splitlines()[0] == (
        "1 execution role, used by 1 task definition: 2 missing, 7 excess, 1 trust, "
        "1 inline, 0 unverified"
    )
    assert "  Recommended policy:" in plain


def test_no_colour_when_asked(roles: list[RoleAudit], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _write(roles, "table", _Terminal())


def test_a_clean_role_says_so(tmp_path: Path) -> None:
    assert _write([], "table").startswith("0 execution roles")
