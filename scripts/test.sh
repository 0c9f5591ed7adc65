#!/usr/bin/env bash
# Runs lint, strict typing and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PWD/.cdk-cli/node_modules/.bin:$PATH"
export CDK_DISABLE_CLI_TELEMETRY=true
ruff format --check src tests examples
ruff check src tests examples benchmarks scripts testkit
mypy src
exec pytest -n 2 "$@"
