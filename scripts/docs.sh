#!/usr/bin/env bash
# Builds the documentation site (the README, its pages and the API reference) into site/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m scripts.docs "$@"
