"""A template of the synthesized app, and how CloudFormation resolves its references and
functions when it deploys it.

:class:`Template` is one template (a stack's, or a nested stack's with the resource that
makes it). The resolution rules are mixins of :class:`~._assembly.Assembly`, which holds the
templates that deploy together: a value resolves to *text*, literal where the templates tell
it (a pseudo parameter of a stack with a concrete environment, the name a resource is given,
an export of another stack, a parameter a parent stack passes to a nested one), with an
opaque placeholder (``_symbols``) for each part only deployment tells (a generated name, the
account of an environment-agnostic stack). Two placeholders are equal exactly when they stand
for the same value, so resolved text compares and matches as IAM would compare the deployed
values (``_evaluate``).

The ARN of a resource of the app is spelled out from its type (a log group's
``arn:<partition>:logs:<region>:<account>:log-group:<name>:*``), so ``Fn::GetAtt X.Arn``, an
ARN joined from the resource's name and an ARN split into its parts all give the same text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._kinds import Kind
from ._regions import partition_of_region
from ._symbols import PSEUDO_PARAMETERS, Symbols, Unknown

__all__ = ["Resolution", "Template"]

_URL_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-us-gov": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
}

# The characters a resource's Ref never holds, by type: names of IAM roles, S3 buckets and
# KMS key IDs hold no ":" or "/"; log group, repository and parameter names no ":".
_REF_NEVER_HOLDS = {
    "AWS::IAM::Role": ":/",
    "AWS::S3::Bucket": ":/",
    "AWS::KMS::Key": ":/",
    "AWS::Logs::LogGroup": ":",
    "AWS::ECR::Repository": ":",
    "AWS::SSM::Parameter": ":",
}
# The property that names a resource (its Ref, when given), by type.
_NAME_PROPERTIES = {
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SSM::Parameter": "Name",
}
# The kind whose ARN a resource's Fn::GetAtt Arn is, made of its Ref and the kind's wildcard
# (a log group's ends in ":*").
_ARN_KINDS = {
    "AWS::ECR::Repository": Kind.REPOSITORY,
    "AWS::Logs::LogGroup": Kind.LOG_GROUP,
    "AWS::KMS::Key": Kind.KEY,
    "AWS::S3::Bucket": Kind.S3_BUCKET,
}


@dataclass(eq=False)
class Template:
    """One template: a stack's, or a nested stack's (with the parent resource that makes it)."""

    path: str
    body: Mapping[str, Any]
    stack_path: str = ""
    account: str | None = None
    region: str | None = None
    parent: Template | None = None
    parent_resource: str = ""
    #: The stack's name in CloudFormation (its manifest's ``stackName``), for a top-level
    #: template of the assembly.
    stack_name: str = ""
    #: The nested stacks' templates, by the logical ID of their resource in this template.
    children: dict[str, Template] = field(default_factory=dict)
    #: The values its parameters are deployed with, where they are known (an audit's
    #: ``--parameter``); any other parameter is unknown, its default included.
    parameter_values: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def key(self) -> str:
        """What tells the template from every other: its file, and for a nested stack the
        resources that make it (two nested stacks of the same content share a file)."""
        parts = [self.path]
        template: Template | None = self
        seen: set[int] = set()
        while template is not None and template.parent is not None and id(template) not in seen:
            seen.add(id(template))
            parts.append(f"{template.parent.path}#{template.parent_resource}")
            template = template.parent
        return "|".join(parts)

    @property
    def resources(self) -> Mapping[str, Any]:
        resources = self.body.get("Resources")
        return resources if isinstance(resources, dict) else {}

    @property
    def parameters(self) -> Mapping[str, Any]:
        parameters = self.body.get("Parameters")
        return parameters if isinstance(parameters, dict) else {}

    @property
    def outputs(self) -> Mapping[str, Any]:
        outputs = self.body.get("Outputs")
        return outputs if isinstance(outputs, dict) else {}

    @property
    def mappings(self) -> Mapping[str, Any]:
        mappings = self.body.get("Mappings")
        return mappings if isinstance(mappings, dict) else {}

    def resource_type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        return str(resource.get("Type", "")) if isinstance(resource, dict) else ""

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        resource = self.resources.get(logical_id)
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        return properties if isinstance(properties, dict) else {}


class _Functions:
    """CloudFormation's functions, as :class:`~._assembly.Assembly` resolves them."""

    symbols: Symbols

    def _resolve(self, template: Template, value: Any, depth: int) -> Any:
        raise NotImplementedError

    def _ref(self, template: Template, name: str, depth: int) -> Any:
        raise NotImplementedError

    def _get_att(self, template: Template, logical_id: str, attribute: str, depth: int) -> Any:
        raise NotImplementedError

    def _opaque(self, template: Template, value: Any) -> str:
        raise NotImplementedError

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
        raise NotImplementedError

    @property
    def exports(self) -> Mapping[str, tuple[Template, Any]]:
        raise NotImplementedError

    @property
    def _cross_region_exports(self) -> Mapping[str, tuple[Template, Any]]:
        raise NotImplementedError

    def _stacks_named(self, name: str) -> Sequence[Template]:
        raise NotImplementedError

    # -- the functions --------------------------------------------------------------------------

    def _join(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._opaque(template, value)
        delimiter = self._resolve(template, argument[0], depth)
        parts = self._resolve(template, argument[1], depth)
        if not isinstance(delimiter, str) or not isinstance(parts, list):
            return self._opaque(template, value)
        texts = []
        for part in parts:
            if part is None:
                continue
            if isinstance(part, (int, float)) and not isinstance(part, bool):
                part = str(part)
            if not isinstance(part, str):
                return self._opaque(template, value)
            texts.append(part)
        return delimiter.join(texts)

    def _sub(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        text: Any = argument if isinstance(argument, str) else None
        variables: Any = {} if isinstance(argument, str) else None
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            text, variables = argument
        if text is None or not isinstance(variables, dict):
            return self._opaque(template, value)
        failed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal failed
            name = match[1]
            if name in variables:
                resolved = self._resolve(template, variables[name], depth)
            elif "." in name:
                logical_id, attribute = name.split(".", 1)
                resolved = self._get_att(template, logical_id, attribute, depth)
            else:
                resolved = self._ref(template, name, depth)
            if isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
                resolved = str(resolved)
            if not isinstance(resolved, str):
                failed = True
                return ""
            return resolved

        pieces = []
        position = 0
        for match in _SUB_VARIABLE.finditer(text):
            # "${!Literal}" in the text is written "${Literal}"; a variable's value is as is.
            pieces.append(text[position : match.start()].replace("${!", "${"))
            pieces.append(replace(match))
            position = match.end()
        pieces.append(text[position:].replace("${!", "${"))
        return self._opaque(template, value) if failed else "".join(pieces)

    def _select(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._opaque(template, value)
        index = self._resolve(template, argument[0], depth)
        items = self._resolve(template, argument[1], depth)
        try:
            position = int(index)
        except (TypeError, ValueError):
            return self._opaque(template, value)
        if isinstance(items, list) and 0 <= position < len(items):
            return items[position]
        return self._opaque(template, value)

    def _split(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._opaque(template, value)
        delimiter = self._resolve(template, argument[0], depth)
        text = self._resolve(template, argument[1], depth)
        if isinstance(delimiter, str) and delimiter and isinstance(text, str):
            # Split where no unknown part can hold the delimiter (a name holds no ":", a
            # pseudo parameter neither ":" nor "/"); anything else could be a whole ARN.
            unknowns = list(self.symbols.unknowns(text))
            if all(_splits_around(unknown, delimiter) for unknown in unknowns):
                return text.split(delimiter)
        return self._opaque(template, value)

    def _import(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        name = self._resolve(template, argument, depth)
        if isinstance(name, str):
            found = self.exports.get(name)
            if found is not None:
                return self._resolve(found[0], found[1], depth)
            return self._unknown(("import", name), name, expression=value)
        return self._opaque(template, value)

    def _stack_output(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        # Fn::GetStackOutput (aws-cdk-lib's weak cross-stack references, and every reference
        # across accounts): an output of a stack of the app, read from its template.
        if not isinstance(argument, dict):
            return self._opaque(template, value)
        stack = self._resolve(template, argument.get("StackName"), depth)
        output = self._resolve(template, argument.get("OutputName"), depth)
        region = self._resolve(template, argument.get("Region"), depth)
        if not isinstance(stack, str) or not isinstance(output, str):
            return self._opaque(template, value)
        candidates = [t for t in self._stacks_named(stack) if output in t.outputs]
        if isinstance(region, str) and not any(self.symbols.unknowns(region)):
            # A stack of the app in that region (or one whose region deployment tells).
            candidates = [t for t in candidates if t.region in (region, None)]
        if len(candidates) == 1:
            producer = candidates[0]
            found = producer.outputs[output]
            if isinstance(found, dict):
                return self._resolve(producer, found.get("Value"), depth)
        return self._unknown(
            ("stack-output", stack, region if isinstance(region, str) else "", output),
            f"{stack}.{output}",
            expression=value,
        )

    def _find_in_map(self, template: Template, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            return self._opaque(template, value)
        name, first, second = (self._resolve(template, a, depth) for a in argument)
        mapping = template.mappings.get(name) if isinstance(name, str) else None
        if not isinstance(mapping, dict) or not isinstance(second, str):
            return self._opaque(template, value)
        if isinstance(first, str) and first in mapping:
            entry = mapping[first]
            if isinstance(entry, dict) and second in entry:
                return self._resolve(template, entry[second], depth)
        unknown = self.symbols.unknown(first)
        if unknown is not None and unknown.pseudo == "AWS::Region":
            # A mapping by region, read in the deployment's region: the same value as any
            # other mapping with the same entries, looked up in the same region.
            column = tuple(
                sorted(
                    (region, str(entry.get(second)))
                    for region, entry in mapping.items()
                    if isinstance(entry, dict) and isinstance(entry.get(second), str)
                )
            )
            return self._unknown(("region-map", column), f"{name} of the region", expression=value)
        return self._opaque(template, value)


class Resolution(_Functions):
    """References to resources, parameters and pseudo parameters, and CloudFormation's
    functions, as :class:`~._assembly.Assembly` resolves them."""

    def _resolve(self, template: Template, value: Any, depth: int) -> Any:
        if depth > 50:
            return self._opaque(template, value)
        if isinstance(value, list):
            return [self._resolve(template, item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref" and isinstance(argument, str):
                return self._ref(template, argument, depth)
            if function == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                if isinstance(parts, list) and len(parts) == 2:
                    attribute = self._resolve(template, parts[1], depth + 1)
                    if isinstance(parts[0], str) and isinstance(attribute, str):
                        return self._get_att(template, parts[0], attribute, depth)
                return self._opaque(template, value)
            handler = _FUNCTIONS.get(function)
            if handler is not None:
                return getattr(self, handler)(template, argument, value, depth + 1)
            if function.startswith("Fn::") or function == "Condition":
                return self._opaque(template, value)
        return {key: self._resolve(template, item, depth + 1) for key, item in value.items()}

    def _ref_uncached(self, template: Template, name: str, depth: int) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(template, name)
        if name in template.parameters:
            return self._parameter(template, name, depth)
        resource_type = template.resource_type(name)
        name_property = _NAME_PROPERTIES.get(resource_type)
        if name_property is not None:
            given = template.properties(name).get(name_property)
            if given is not None:
                resolved = self._resolve(template, given, depth + 1)
                if isinstance(resolved, str):
                    return resolved
        return self._unknown(
            ("ref", template.key, name),
            self._label(template, name),
            expression={"Ref": name},
            resource_type=resource_type,
            attribute="Ref",
            never_holds=_REF_NEVER_HOLDS.get(resource_type, ""),
        )

    def _pseudo(self, template: Template, name: str) -> Any:
        partition = partition_of_region(template.region) if template.region else None
        literal = {
            "AWS::Region": template.region,
            "AWS::AccountId": template.account,
            "AWS::Partition": partition,
            "AWS::URLSuffix": _URL_SUFFIXES.get(partition or ""),
        }.get(name)
        if literal:
            return literal
        if name == "AWS::NoValue":
            return None
        if name in PSEUDO_PARAMETERS:
            # Every environment-agnostic stack of an app deploys to the environment the CLI
            # is given: one unknown per pseudo parameter, whatever the template.
            return self._unknown(("pseudo", name), name, expression={"Ref": name}, never_holds=":/")
        return self._unknown(("ref", template.key, name), name, expression={"Ref": name})

    def _parameter(self, template: Template, name: str, depth: int) -> Any:
        parent = template.parent
        if parent is not None:
            given = parent.properties(template.parent_resource).get("Parameters") or {}
            if isinstance(given, dict) and name in given:
                return self._resolve(parent, given[name], depth + 1)
        if name in template.parameter_values:
            return template.parameter_values[name]
        declared = template.parameters[name]
        declared = declared if isinstance(declared, dict) else {}
        if str(declared.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
            ssm_name = str(declared.get("Default", ""))
            return self._unknown(
                (
                    ("ssm", ssm_name, self._pseudo(template, "AWS::Region"))
                    if ssm_name
                    else ("parameter", template.key, name)
                ),
                name,
                expression={"Ref": name},
                ssm_parameter=ssm_name,
            )
        # A parameter's default may be overridden at deployment: not a known value.
        return self._unknown(("parameter", template.key, name), name, expression={"Ref": name})

    def _label(self, template: Template, logical_id: str) -> str:
        """How messages show a resource's value: by its construct's path where the app tells
        it (an L2's, for its ``Resource``), else by its logical ID."""
        raise NotImplementedError

    def _get_att_uncached(
        self, template: Template, logical_id: str, attribute: str, depth: int
    ) -> Any:
        resource_type = template.resource_type(logical_id)
        nested = template.children.get(logical_id)
        if nested is not None and attribute.startswith("Outputs."):
            output = nested.outputs.get(attribute.removeprefix("Outputs."))
            if isinstance(output, dict) and "Value" in output:
                return self._resolve(nested, output["Value"], depth + 1)
        if attribute == "Arn":
            arn = self._arn(template, logical_id, resource_type, depth)
            if arn is not None:
                return arn
        if attribute == "PolicyArn" and resource_type == "AWS::IAM::ManagedPolicy":
            return self._ref(template, logical_id, depth)  # a managed policy's Ref is its ARN
        if resource_type == "Custom::CrossRegionExportReader":
            # A reference across regions (cross_region_references): the value the writer of
            # another stack's region puts in SSM under the attribute's name.
            written = self._cross_region_exports.get(attribute)
            if written is not None:
                return self._resolve(written[0], written[1], depth + 1)
        return self._unknown(
            ("att", template.key, logical_id, attribute),
            f"{self._label(template, logical_id)}.{attribute}",
            expression={"Fn::GetAtt": [logical_id, attribute]},
            resource_type=resource_type,
            attribute=attribute,
        )

    def _arn(self, template: Template, logical_id: str, resource_type: str, depth: int) -> Any:
        name = self._ref(template, logical_id, depth)
        if not isinstance(name, str):
            return None
        partition = self._pseudo(template, "AWS::Partition")
        region = self._pseudo(template, "AWS::Region")
        account = self._pseudo(template, "AWS::AccountId")
        kind = _ARN_KINDS.get(resource_type)
        if kind is not None:
            return kind.arn(partition, region, account, name + kind.wildcard)
        if resource_type == "AWS::IAM::Role":
            path = template.properties(logical_id).get("Path", "/")
            if not isinstance(path, str) or not path.startswith("/"):
                return None  # a path only deployment tells: the ARN is unknown
            return f"arn:{partition}:iam::{account}:role{path}{name}"
        return None


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _splits_around(unknown: Unknown, delimiter: str) -> bool:
    """Whether an unknown's value cannot hold ``delimiter``."""
    return any(character in unknown.never_holds for character in delimiter)


# The method of :class:`_Functions` that resolves each function.
_FUNCTIONS = {
    "Fn::Join": "_join",
    "Fn::Sub": "_sub",
    "Fn::Select": "_select",
    "Fn::Split": "_split",
    "Fn::ImportValue": "_import",
    "Fn::GetStackOutput": "_stack_output",
    "Fn::FindInMap": "_find_in_map",
}
