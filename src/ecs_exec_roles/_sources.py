"""The templates an audit reads: a synthesized cloud assembly, or CloudFormation templates
written in JSON or YAML.

``ecs-exec-roles audit PATH...`` checks execution roles in templates, not in an app it runs. A
directory is a cloud assembly (``cdk.out``): its manifest lists its stacks' templates and the
assemblies of its stages, which list theirs, and :func:`~._assembly.load_assembly` reads them
with their environments, nested stacks and construct paths. A file is one template, as
CloudFormation reads it: YAML's short forms of the functions (``!Ref``, ``!Sub``, ``!If``...)
are the long forms a JSON template spells out, and dates stay text
(``AWSTemplateFormatVersion: 2010-09-09``), so both resolve alike.

Every input the audit cannot read raises :class:`AuditInputError`, one line that names the
path as it was given and what is wrong with it: the audit stops rather than check less than
it was asked to. Nothing here loads aws-cdk-lib or jsii, so an audit starts no Node process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml  # type: ignore[import-untyped]

from ._assembly import Assembly, load_assembly
from ._errors import ExecutionRoleError
from ._template import Template

__all__ = ["AuditInputError", "load_paths"]


class AuditInputError(ExecutionRoleError):
    """A path given to the audit that is not a cloud assembly or a template it can read."""


def load_paths(
    paths: Sequence[str],
    *,
    parameters: Mapping[str, str] | None = None,
    account: str | None = None,
    region: str | None = None,
) -> Assembly:
    """The templates at ``paths`` (cloud assembly directories and template files) as one
    assembly, with the construct path of each resource the assemblies' apps name.

    A path given twice, or a template file of an assembly also given, is read once.

    :param parameters: the values templates are deployed with, by parameter name: each
        template that declares one takes it (a name no template declares is bad input).
    :param account: the account template files without an environment deploy to.
    :param region: the region they deploy to.
    """
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise AuditInputError("no path given: name a cloud assembly directory or template files")
    given = _unique(paths)
    loaded: dict[str, Assembly] = {}
    claimed: set[str] = set()
    for path in given:
        if not os.path.isdir(path):
            continue
        stacks = [p for p in _stack_templates(path) if os.path.realpath(p) not in claimed]
        if stacks:
            loaded[path] = _load_cloud_assembly(stacks)
            claimed.update(os.path.realpath(t.path) for t in loaded[path].templates)
    templates: list[Template] = []
    for path in given:
        if path in loaded:
            templates.extend(loaded[path].templates)
        elif not os.path.isdir(path) and os.path.realpath(path) not in claimed:
            templates.append(_load_template(path))
    _deploy_with(templates, parameters or {}, account, region)
    merged = Assembly(templates)
    # The new assembly starts without construct paths: each assembly's names, again.
    for assembly in loaded.values():
        for construct_path, (template, logical_id) in assembly.by_path.items():
            merged.name(template, logical_id, construct_path)
    return merged


def _deploy_with(
    templates: Sequence[Template],
    parameters: Mapping[str, str],
    account: str | None,
    region: str | None,
) -> None:
    """Give the templates what their deployment is known to use: parameter values, and the
    environment of template files (a cloud assembly's stacks keep their manifest's)."""
    declared: set[str] = set()
    for template in templates:
        given = {name: value for name, value in parameters.items() if name in template.parameters}
        declared.update(given)
        template.parameter_values = given
        if not template.stack_path and template.parent is None:
            template.account = template.account or account
            template.region = template.region or region
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise AuditInputError(
            f"--parameter {unknown[0]}: no template given declares a parameter of that name"
        )


def _unique(paths: Sequence[str]) -> list[str]:
    """The paths that exist, each file or directory once (as first given)."""
    found: dict[str, str] = {}
    for path in paths:
        if not os.path.exists(path):
            raise AuditInputError(f"{path}: no such file or directory")
        found.setdefault(os.path.realpath(path), path)
    return list(found.values())


# -- cloud assemblies ---------------------------------------------------------------------------


def _stack_templates(directory: str) -> list[str]:
    """The template of every stack of the assembly in ``directory`` and of its stages', in
    the order of their manifests."""
    if not os.path.isfile(os.path.join(directory, "manifest.json")):
        raise AuditInputError(
            f"{directory}: not a cloud assembly (no manifest.json) and not a template file"
        )
    found: list[str] = []
    _walk(directory, found, set())
    if not found:
        raise AuditInputError(f"{directory}: cloud assembly has no stacks")
    return found


def _walk(directory: str, found: list[str], seen: set[str]) -> None:
    """Add the stacks' templates of the assembly in ``directory``, and of the assemblies it
    holds (a stage's), to ``found``."""
    real = os.path.realpath(directory)
    if real in seen:
        return
    seen.add(real)
    manifest_path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(manifest_path):
        raise AuditInputError(f"{directory}: not a cloud assembly (no manifest.json)")
    manifest = _parse_json(manifest_path, _read_text(manifest_path))
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise AuditInputError(f"{manifest_path}: not a cloud assembly manifest (no artifacts)")
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type") if isinstance(artifact, dict) else None
        if kind not in ("aws:cloudformation:stack", "cdk:cloud-assembly"):
            continue
        properties = artifact.get("properties")
        key = "templateFile" if kind == "aws:cloudformation:stack" else "directoryName"
        name = properties.get(key) if isinstance(properties, dict) else None
        if not isinstance(name, str) or not name:
            raise AuditInputError(f"{manifest_path}: artifact {artifact_id} names no {key}")
        path = os.path.join(directory, name)
        if kind == "cdk:cloud-assembly":
            _walk(path, found, seen)
        elif not os.path.isfile(path):
            raise AuditInputError(f"{path}: no such file or directory (listed in {manifest_path})")
        else:
            found.append(path)


def _load_cloud_assembly(template_paths: Sequence[str]) -> Assembly:
    """The stacks at ``template_paths``, each read once and known to be a template."""
    return load_assembly(template_paths, _stack_body)


def _stack_body(path: str) -> dict[str, Any]:
    """A stack template of a cloud assembly: JSON, a mapping."""
    body = _parse_json(path, _read_text(path))
    if not isinstance(body, dict):
        raise AuditInputError(f"{path}: not a CloudFormation template (no Resources)")
    return body


# -- template files -----------------------------------------------------------------------------


def _load_template(path: str) -> Template:
    """One template file, a stack of its own named after the file."""
    text = _read_text(path)
    if text.lstrip().startswith("{"):
        try:
            body = _parse_json(path, text)
        except AuditInputError as error:
            # YAML's flow style starts with "{" too; a file neither reads is reported as JSON.
            try:
                body = _parse_yaml(path, text)
            except AuditInputError:
                raise error from None
    else:
        body = _parse_yaml(path, text)
    if not isinstance(body, dict) or "Resources" not in body:
        raise AuditInputError(f"{path}: not a CloudFormation template (no Resources)")
    if not isinstance(body["Resources"], dict):
        raise AuditInputError(f"{path}: not a CloudFormation template (Resources is not a mapping)")
    return Template(path, body, stack_path="", account=None, region=None, stack_name=_stem(path))


def _stem(path: str) -> str:
    """The name of a template file's stack: the file's, less ``.json`` or ``.template.json``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem.removesuffix(".template") or stem


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise AuditInputError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise AuditInputError(f"{path}: cannot be read ({reason})") from None


def _parse_json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AuditInputError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise AuditInputError(f"{path}: invalid JSON: {_one_line(error)}") from None


def _parse_yaml(path: str, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except _UnknownTag as error:
        raise AuditInputError(f"{path}: unknown tag {error.tag} at line {error.line}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "unreadable"
        raise AuditInputError(f"{path}: invalid YAML{where}: {_one_line(problem)}") from None
    except (yaml.YAMLError, RecursionError) as error:
        raise AuditInputError(f"{path}: invalid YAML: {_one_line(error)}") from None


def _one_line(problem: object) -> str:
    return " ".join(str(problem).split())


# -- CloudFormation's YAML ----------------------------------------------------------------------

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _UnknownTag(Exception):
    """A tag that is no CloudFormation function, and the line it is on."""

    def __init__(self, tag: str, line: int) -> None:
        super().__init__(tag, line)
        self.tag = tag
        self.line = line


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML as CloudFormation reads it: YAML 1.1's plain scalars, but a date stays text, and
    each short form of a function is its long form."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _long_form(key: str) -> Callable[[Any, Any], dict[str, Any]]:
    """The constructor of a short form: ``!Name value`` is ``{key: value}``, whatever the
    value (text, a list or a mapping)."""

    def construct(loader: Any, node: Any) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {key: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {key: loader.construct_sequence(node, deep=True)}
        return {key: loader.construct_mapping(node, deep=True)}

    return construct


def _unknown(loader: Any, node: Any) -> Any:
    raise _UnknownTag(str(node.tag), node.start_mark.line + 1)


# The functions whose short form is "!Name" for "Fn::Name".
_FUNCTIONS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "GetAtt",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
    "Length",
    "ToJsonString",
)

_SHORT_FORMS = {"!Ref": "Ref", "!Condition": "Condition"}
_SHORT_FORMS.update((f"!{name}", f"Fn::{name}") for name in _FUNCTIONS)
for _tag, _key in _SHORT_FORMS.items():
    _Loader.add_constructor(_tag, _long_form(_key))
# An explicit "!!timestamp" is text too; any other tag is no function CloudFormation knows.
_Loader.add_constructor(_TIMESTAMP, yaml.SafeLoader.construct_yaml_str)
_Loader.add_constructor(None, _unknown)
