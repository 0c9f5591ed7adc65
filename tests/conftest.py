"""Shared fixtures: a fresh App and Stack per test; the JavaScript test app and its Python twin,
synthesized once per session."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest

# Helper modules whose asserts show their values when they fail, as a test's do.
pytest.register_assert_rewrite("verify_templates")

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@pytest.fixture
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture
def stack(app: cdk.App) -> cdk.Stack:
    """An environment-agnostic stack: account, region and partition stay tokens."""
    return cdk.Stack(app, "Stack")


@pytest.fixture
def env_stack(app: cdk.App) -> cdk.Stack:
    """A stack with a concrete account and region."""
    return cdk.Stack(app, "EnvStack", env=cdk.Environment(account=ACCOUNT, region=REGION))


@pytest.fixture(scope="session")
def js_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of tests/js_app/app.js, synthesized with Node and npm aws-cdk-lib."""
    from testkit.js_app import synth_js_app

    return synth_js_app(tmp_path_factory.mktemp("js-cdk-out"))


@pytest.fixture(scope="session")
def twin_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of tests/js_app/app.py, the app's Python twin (read, never written)."""
    from testkit.js_app import synth_python_twin

    return synth_python_twin(tmp_path_factory.mktemp("py-cdk-out") / "jsapp")
