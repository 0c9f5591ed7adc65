"""The templates of a cloud assembly: read from its files, and each value resolved to text.

Every stack's template is listed by the synthesis (``IPolicyValidationContext``); its cloud
assembly manifest gives its construct path and environment. A nested stack's template is a
file asset of its top-level stack, found through that stack's assets manifest and linked to
the resource that makes it, whose parameters it receives. The construct tree the synthesis
writes beside them (``tree.json``) names each resource's construct path, so the library finds
its own resources, and messages name resources, as the app's code does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ._symbols import PLACEHOLDER, Symbols, Unknown
from ._template import Resolution, Template

__all__ = ["Assembly", "load_assembly"]


class Assembly(Resolution):
    """Templates that deploy together, and their values resolved to text."""

    def __init__(self, templates: Sequence[Template], symbols: Symbols | None = None) -> None:
        self.templates = list(templates)
        self.symbols = symbols or Symbols()
        self._exports: dict[str, tuple[Template, Any]] | None = None
        self._cache: dict[tuple[int, str, str, str], Any] = {}
        self._by_ref: dict[str, dict[str, tuple[Template, str]]] = {}
        #: Each resource by its construct's path, and the path of each resource.
        self.by_path: dict[str, tuple[Template, str]] = {}
        self._paths: dict[tuple[int, str], str] = {}
        self._written: dict[str, tuple[Template, Any]] | None = None

    # -- reading --------------------------------------------------------------------------------

    def name(self, template: Template, logical_id: str, construct_path: str) -> None:
        """Record the construct path of a resource of ``template``."""
        self.by_path[construct_path] = (template, logical_id)
        self._paths[(id(template), logical_id)] = construct_path

    def _label(self, template: Template, logical_id: str) -> str:
        return self.label(template, logical_id)

    def label(self, template: Template, logical_id: str) -> str:
        """A resource as messages name it: its construct's path (an L2's, for its
        ``Resource``), or its logical ID where the app does not tell."""
        path = self._paths.get((id(template), logical_id))
        return path.removesuffix("/Resource") if path else logical_id

    def path_of(self, template: Template, logical_id: str) -> str:
        """The construct path of a resource, or ``""`` where the app does not tell."""
        return self._paths.get((id(template), logical_id), "")

    def resource_of(self, text: str, resource_type: str) -> tuple[Template, str] | None:
        """The resource of ``resource_type`` whose ``Ref`` is ``text``, in any template."""
        by_ref = self._by_ref.get(resource_type)
        if by_ref is None:
            by_ref = self._by_ref[resource_type] = {}
            for template in self.templates:
                for logical_id, resource in template.resources.items():
                    if isinstance(resource, dict) and resource.get("Type") == resource_type:
                        ref = self._ref(template, logical_id, 0)
                        if isinstance(ref, str):
                            by_ref.setdefault(ref, (template, logical_id))
        return by_ref.get(text)

    def _stacks_named(self, name: str) -> Sequence[Template]:
        """The top-level templates of the stacks named ``name`` in CloudFormation."""
        return [t for t in self.templates if t.parent is None and t.stack_name == name]

    def template(self, path: str) -> Template | None:
        wanted = os.path.realpath(path)
        for template in self.templates:
            if os.path.realpath(template.path) == wanted:
                return template
        return None

    @property
    def exports(self) -> Mapping[str, tuple[Template, Any]]:
        """Each export of the assembly by its name: the template and the value it exports."""
        if self._exports is None:
            self._exports = {}
            for template in self.templates:
                for output in template.outputs.values():
                    if not isinstance(output, dict) or "Export" not in output:
                        continue
                    name = self.resolve(template, (output.get("Export") or {}).get("Name"))
                    if isinstance(name, str) and not PLACEHOLDER.search(name):
                        self._exports[name] = (template, output.get("Value"))
        return self._exports

    @property
    def _cross_region_exports(self) -> Mapping[str, tuple[Template, Any]]:
        """What the app's cross-region export writers write, by name: template and value."""
        if self._written is None:
            self._written = {}
            for template in self.templates:
                for logical_id, resource in template.resources.items():
                    if not isinstance(resource, dict):
                        continue
                    if resource.get("Type") != "Custom::CrossRegionExportWriter":
                        continue
                    props = template.properties(logical_id).get("WriterProps") or {}
                    exports = props.get("exports") if isinstance(props, dict) else None
                    for name, value in (exports or {}).items():
                        self._written[name] = (template, value)
        return self._written

    # -- resolving ------------------------------------------------------------------------------

    def resolve(self, template: Template, value: Any) -> Any:
        """``value`` of ``template`` as deployed: text, with a placeholder for each part only
        deployment tells; lists and objects keep their shape."""
        return self._resolve(template, value, 0)

    def text(self, template: Template, value: Any) -> str | None:
        """``value`` resolved to text, or ``None`` when it is not text (a list, an object)."""
        resolved = self.resolve(template, value)
        if isinstance(resolved, bool) or resolved is None:
            return None
        if isinstance(resolved, (int, float)):
            return str(resolved)
        return resolved if isinstance(resolved, str) else None

    def pseudo(self, template: Template, name: str) -> str:
        """A pseudo parameter in ``template``: literal when its environment tells it."""
        result = self._pseudo(template, name)
        return result if isinstance(result, str) else ""

    def _unknown(
        self,
        key: tuple[Any, ...],
        label: str,
        *,
        expression: Any = None,
        resource_type: str = "",
        attribute: str = "",
        ssm_parameter: str = "",
        never_holds: str = "",
    ) -> str:
        return self.symbols.placeholder(
            Unknown(
                f"<{label}>", key, resource_type, attribute, ssm_parameter, expression, never_holds
            )
        )

    def _opaque(self, template: Template, value: Any) -> str:
        """An intrinsic this module does not evaluate: one unknown per expression."""
        dumped = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return self._unknown(("value", template.key, dumped), dumped, expression=value)

    def _ref(self, template: Template, name: str, depth: int) -> Any:
        key = (id(template), "Ref", name, "")
        if key in self._cache:
            return self._cache[key]
        result = self._ref_uncached(template, name, depth)
        self._cache[key] = result
        return result

    def _get_att(self, template: Template, logical_id: str, attribute: str, depth: int) -> Any:
        key = (id(template), "Fn::GetAtt", logical_id, attribute)
        if key in self._cache:
            return self._cache[key]
        result = self._get_att_uncached(template, logical_id, attribute, depth)
        self._cache[key] = result
        return result

    def region_mapping(self, template: Template, entries: Mapping[str, str]) -> str:
        """The value a mapping with ``entries`` (region: value) gives in ``template``'s
        region: the entry of a region the template names, else the same unknown as a lookup
        of the template's own mapping with those entries."""
        region = self._pseudo(template, "AWS::Region")
        if isinstance(region, str) and region in entries:
            return entries[region]
        return self.symbols.placeholder(
            Unknown("<the region's entry>", ("region-map", tuple(sorted(entries.items()))))
        )


def load_assembly(
    template_paths: Sequence[str], read_template: Callable[[str], Any] | None = None
) -> Assembly:
    """The templates at ``template_paths``, those of their nested stacks, and the construct
    path of each resource the app's construct tree names.

    :param read_template: reads a top-level template's body (one that raises for a file that
        is no template); by default, a file that is not JSON reads as an empty template.
    """
    read = read_template or (lambda path: _read(path) or {})
    templates: list[Template] = []
    manifests: dict[str, Mapping[str, Any]] = {}
    for path in template_paths:
        directory = os.path.dirname(path)
        if directory not in manifests:
            manifests[directory] = _read(os.path.join(directory, "manifest.json")) or {}
        stack_path, account, region, stack_name = _stack_of(
            manifests[directory], os.path.basename(path)
        )
        top = Template(path, read(path), stack_path, account, region, stack_name=stack_name)
        templates.append(top)
        templates.extend(_nested_templates(top, _nested_template_files(path)))
    tree = _tree_file(template_paths)
    entries = list(_resources(tree)) if tree is not None else []
    _name_nested_stacks(templates, entries)
    assembly = Assembly(templates)
    for construct_path, logical_id in entries:
        template = _template_of(templates, construct_path, logical_id)
        if template is not None:
            assembly.name(template, logical_id, construct_path)
    if tree is None:
        # Without the tree (an app made with tree_metadata=False), the path metadata the CDK
        # CLI asks for names the resources.
        for template in templates:
            for logical_id, resource in template.resources.items():
                metadata = ((resource or {}).get("Metadata") or {}).get("aws:cdk:path")
                if isinstance(metadata, str):
                    assembly.name(template, logical_id, metadata)
    return assembly


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _stack_of(
    manifest: Mapping[str, Any], file_name: str
) -> tuple[str, str | None, str | None, str]:
    """A template's stack in its assembly's manifest: construct path, account, region and
    the stack's name."""
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if properties.get("templateFile") != file_name:
            continue
        environment = str(artifact.get("environment") or "")
        account, _, region = environment.removeprefix("aws://").partition("/")
        return (
            str(artifact.get("displayName") or ""),
            None if account.startswith("unknown-") or not account else account,
            None if region.startswith("unknown-") or not region else region,
            str(properties.get("stackName") or artifact_id),
        )
    return "", None, None, ""


def _tree_file(template_paths: Sequence[str]) -> Any:
    """The construct tree of the app: in the root assembly, above the stages' assemblies."""
    for path in template_paths:
        directory = os.path.dirname(path)
        for _ in range(8):
            tree = _read(os.path.join(directory, "tree.json"))
            if isinstance(tree, dict) and isinstance(tree.get("tree"), dict):
                return tree["tree"]
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None


def _resources(node: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every resource of the tree: its construct path and logical ID."""
    stack = [node]
    while stack:
        current = stack.pop()
        attributes = current.get("attributes") or {}
        logical_id = attributes.get("aws:cdk:cloudformation:logicalId")
        if isinstance(logical_id, str):
            yield str(current.get("path", "")), logical_id
        children = current.get("children")
        if isinstance(children, dict):
            stack.extend(child for child in children.values() if isinstance(child, dict))


def _template_of(
    templates: Sequence[Template], construct_path: str, logical_id: str
) -> Template | None:
    """The template of the stack a construct is in: the one whose stack's path is the
    longest prefix of the construct's, if it has that resource."""
    best: Template | None = None
    for template in templates:
        prefix = template.stack_path
        if (
            prefix
            and construct_path.startswith(f"{prefix}/")
            and (best is None or len(prefix) > len(best.stack_path))
        ):
            best = template
    return best if best is not None and logical_id in best.resources else None


def _name_nested_stacks(templates: Sequence[Template], entries: Sequence[tuple[str, str]]) -> None:
    """Give each nested stack's template its stack's construct path: the path of the
    resource that makes it (``<stack>.NestedStack/<id>.NestedStackResource``) tells it."""
    changed = True
    while changed:
        changed = False
        for template in templates:
            for logical_id, child in template.children.items():
                if child.stack_path or not template.stack_path:
                    continue
                for construct_path, found in entries:
                    if (
                        found != logical_id
                        or _template_of(templates, construct_path, logical_id) is not template
                    ):
                        continue
                    head, marker, _ = construct_path.rpartition(".NestedStack/")
                    if marker:
                        child.stack_path = head
                        changed = True


def _nested_template_files(template_path: str) -> dict[str, str]:
    """The nested stack templates a stack's assets manifest lists: file name by asset hash."""
    manifest = _read(template_path.removesuffix(".template.json") + ".assets.json") or {}
    found = {}
    for asset_hash, asset in (manifest.get("files") or {}).items():
        path = ((asset or {}).get("source") or {}).get("path")
        if isinstance(path, str) and path.endswith(".nested.template.json"):
            found[asset_hash] = path
    return found


def _nested_templates(parent: Template, files: Mapping[str, str]) -> list[Template]:
    """The templates of ``parent``'s nested stacks (and theirs), each linked to the resource
    that makes it: its ``TemplateURL`` names the asset's hash, or its asset metadata the
    file."""
    found: list[Template] = []
    directory = os.path.dirname(parent.path)
    for logical_id, resource in parent.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::CloudFormation::Stack":
            continue
        metadata = resource.get("Metadata") or {}
        name = metadata.get("aws:asset:path") if isinstance(metadata, dict) else None
        if not isinstance(name, str):
            url = json.dumps((resource.get("Properties") or {}).get("TemplateURL"))
            name = next((path for key, path in files.items() if key in url), None)
        if name is None:
            continue
        path = os.path.join(directory, name)
        body = _read(path)
        if not isinstance(body, dict):
            continue
        child = Template(
            path, body, "", parent.account, parent.region, parent=parent, parent_resource=logical_id
        )
        parent.children[logical_id] = child
        found.append(child)
        found.extend(_nested_templates(child, files))
    return found
