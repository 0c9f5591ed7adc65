#!/usr/bin/env bash
# The test suite on the oldest supported releases (constraints/floor.txt), in .venv-floor/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh  # the CDK CLI in .cdk-cli/
PYTHON="${PYTHON:-python3}"

if [ ! -x .venv-floor/bin/python ]; then
  "$PYTHON" -m venv .venv-floor
fi
stamp=".venv-floor/.installed-$(cat pyproject.toml constraints/floor.txt | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  .venv-floor/bin/python -m pip install --quiet --upgrade pip
  .venv-floor/bin/python -m pip install --quiet -c constraints/floor.txt -e ".[dev]"
  touch "$stamp"
fi
export PATH="$PWD/.venv-floor/bin:$PWD/.cdk-cli/node_modules/.bin:$PATH"
export CDK_DISABLE_CLI_TELEMETRY=true
python -m scripts.dist_checks floor
mypy src
exec pytest -n 2 "$@"
