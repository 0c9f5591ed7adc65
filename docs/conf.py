"""Sphinx configuration of the ecs-exec-roles documentation site.

Build it with ``python -m scripts.docs`` from the repository root (into ``site/``); the test
suite builds it too, with every warning an error (``tests/test_docs.py``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# A checkout without `pip install -e .` still documents its own source.
sys.path.insert(0, str(ROOT / "src"))

project = "ecs-exec-roles"
author = "ecs-exec-roles contributors"
copyright = "ecs-exec-roles contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# The README's headings become link targets, so the site's table of contents lists its
# guides; its fenced blocks are code, never MyST directives.
myst_heading_anchors = 4

# The docstrings are reStructuredText with Sphinx field lists (`:param x:`): autodoc reads
# them as they are. Types go beside each parameter, where the keyword-only props are listed.
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_member_order = "bysource"
autodoc_class_signature = "mixed"
autodoc_default_options = {
    "members": True,
    # What a construct inherits from the library's own base classes, not from Construct.
    "inherited-members": "Construct, BaseException",
}

# Every cross-reference must resolve, except those to the standard library's and
# aws-cdk-lib's types, which are documented elsewhere (the build has no network to link to
# them).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:(class|obj)", r"(collections\.abc|typing)\.\w+"),
    (
        r"py:(class|obj)",
        r"(aws_cdk|constructs|jsii|cdk|ec2|ecr|ecr_assets|ecs|iam|iam_refs|kms|logs|s3|secretsmanager|ssm)"
        r"\..*|Construct|IConstruct",
    ),
]

html_title = "ecs-exec-roles"
html_theme = "alabaster"
html_theme_options = {"description": "Least-privilege Amazon ECS task execution roles"}
html_sidebars = {"**": ["about.html", "navigation.html", "localtoc.html", "searchbox.html"]}
html_show_sourcelink = False


# The package imports the aws-cdk-lib modules of its annotations for type checking only
# (`if TYPE_CHECKING:`), under these names; the build gives its modules the same names, so
# that the reference shows the types (and autodoc can evaluate them).
TYPE_CHECKING_IMPORTS = {
    "cdk": "aws_cdk",
    "ec2": "aws_cdk.aws_ec2",
    "ecr": "aws_cdk.aws_ecr",
    "ecr_assets": "aws_cdk.aws_ecr_assets",
    "ecs": "aws_cdk.aws_ecs",
    "iam": "aws_cdk.aws_iam",
    "iam_refs": "aws_cdk.interfaces.aws_iam",
    "kms": "aws_cdk.aws_kms",
    "logs": "aws_cdk.aws_logs",
    "s3": "aws_cdk.aws_s3",
    "secretsmanager": "aws_cdk.aws_secretsmanager",
    "ssm": "aws_cdk.aws_ssm",
}


def _provide_type_checking_imports() -> None:
    aliases = {
        name: importlib.import_module(module) for name, module in TYPE_CHECKING_IMPORTS.items()
    }
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("ecs_exec_roles."):
            for name, value in aliases.items():
                vars(module).setdefault(name, value)


def _give_constructs_their_signatures() -> None:
    """Every jsii class is created through a metaclass whose ``__call__`` takes
    ``(*args, **kwargs)``, which autodoc would show as the constructs' signature: give each
    public class its ``__init__``'s signature instead, with its props."""
    import ecs_exec_roles

    for name in ecs_exec_roles.__all__:
        cls = getattr(ecs_exec_roles, name)
        if inspect.isclass(cls) and "__call__" in vars(type(cls)):
            signature = inspect.signature(cls.__init__, eval_str=True)
            parameters = list(signature.parameters.values())[1:]  # without `self`
            cls.__signature__ = signature.replace(parameters=parameters)


def setup(app: Any) -> dict[str, Any]:
    import ecs_exec_roles

    # Its modules, before the names are given to them: the package imports the modules of its
    # public names when first asked for them.
    for name in ecs_exec_roles.__all__:
        getattr(ecs_exec_roles, name)
    _provide_type_checking_imports()
    _give_constructs_their_signatures()
    return {"parallel_read_safe": True}
