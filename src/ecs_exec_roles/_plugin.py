"""The verification, registered with the app as an aws-cdk-lib policy validation plugin.

aws-cdk-lib calls a validation plugin once the cloud assembly is written: after every aspect,
escape hatch and override, with the template of every stack of the app (those of its stages
included). The plugin reads the records of the library's roles (``_lifecycle``), the template
files (``_assembly``), and reports what ``_verify`` finds, each finding under its own rule
name so that an acknowledgment covers that finding only::

    cdk.Validations.of(scope).acknowledge(
        cdk.Acknowledgment(id="ecs-exec-roles::MissingPermission[...]", reason="...")
    )

The records are read when aws-cdk-lib calls the plugin: each stack's roles resolve what they
wrote in one call into aws-cdk-lib; the templates are read as files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import aws_cdk as cdk
import jsii

from ._app import AppState
from ._assembly import Assembly, load_assembly
from ._cross_account import write_cross_account_files
from ._records import app_records
from ._role_view import RoleRecord
from ._verify import verify

__all__ = ["PLUGIN_NAME", "VerificationPlugin", "register_verification"]

#: The plugin's name: the namespace of its rules in acknowledgments.
PLUGIN_NAME = "ecs-exec-roles"


@jsii.implements(cdk.IPolicyValidationPlugin)
class VerificationPlugin:
    """Verifies the library's roles in the synthesized templates.

    :param records: gives the records of the app's roles when the templates are written.
    """

    def __init__(self, records: Callable[[], Sequence[RoleRecord]]) -> None:
        self._records = records

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        records = self._records()
        if not records:
            return cdk.PolicyValidationPluginReport(success=True, violations=[])
        assembly = load_assembly(list(context.template_paths))
        findings = verify(assembly, records)
        write_cross_account_files(assembly.templates, functools.partial(_shown, assembly))
        violations = [
            cdk.PolicyViolation(
                rule_name=finding.rule,
                description=finding.description,
                fix=finding.fix,
                severity="error",
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=finding.logical_id,
                        template_path=finding.template,
                        locations=["Properties"],
                    )
                ],
            )
            for finding in findings
        ]
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)


def register_verification(app: AppState) -> None:
    """Register the verification with the app once.

    An app's plugin receives the templates of its stages too. A root that is not an app (a
    stage synthesized on its own) runs no plugin: its templates are verified when the app
    that holds it is synthesized.
    """
    if app.verification_registered:
        return
    app.verification_registered = True
    if isinstance(app.root, cdk.Stage):
        plugin = VerificationPlugin(functools.partial(app_records, app))
        cdk.Validations.of(app.root).add_plugins(plugin)


def _shown(assembly: Assembly, template: Any, value: Any) -> str | None:
    """A template value as text, what deployment tells shown as ``<...>``."""
    text = assembly.text(template, value)
    return assembly.symbols.display(text) if text is not None else None
