"""Shared fixtures: a fresh App and Stack per test."""

from __future__ import annotations

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
