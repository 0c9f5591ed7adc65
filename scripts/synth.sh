#!/usr/bin/env bash
# Synthesizes the example app with the real AWS CDK CLI into cdk.out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PWD/.cdk-cli/node_modules/.bin:$PATH"
export CDK_DISABLE_CLI_TELEMETRY=true
exec cdk synth --ci --no-notices --output cdk.out "$@"
