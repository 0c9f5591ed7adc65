"""Run the cdk-nag v3 packs on an app and read their findings back.

cdk-nag v3 packs are CDK validation plugins: ``app.synth()`` runs them, writes
``validation-report.json`` into the cloud assembly and raises when a finding is not
acknowledged. aws-cdk-lib's own "CloudFormation Validate" plugin always runs too; its findings
are warnings unless the feature flag ``@aws-cdk/core:validateAgainstDefaultRules`` is set, and
they land in the same report. :func:`synth_with_report` synthesizes, reads that report
whatever the outcome and returns the open and the acknowledged findings, so a test or a
script can print them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag

__all__ = [
    "NAG_PACK_NAMES",
    "Finding",
    "ValidationReport",
    "add_nag_packs",
    "read_report",
    "synth_with_report",
]

_NAG_PACKS = (
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.PCIDSS321Checks,
)
# The plugin names the packs report under; an acknowledgment ID is ``<name>::<rule>``.
NAG_PACK_NAMES = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def add_nag_packs(app: cdk.App) -> None:
    """Register the AwsSolutions, NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 packs."""
    cdk.Validations.of(app).add_plugins(*(pack() for pack in _NAG_PACKS))


@dataclass(frozen=True)
class Finding:
    """One rule reported on one construct by one validation plugin."""

    plugin: str
    rule: str
    construct_path: str
    description: str = ""
    acknowledged_at: str = ""
    reason: str = ""

    @property
    def id(self) -> str:
        """The ID to acknowledge the finding with.

        The prefix is the plugin name with spaces as hyphens: aws-cdk-lib's own
        "CloudFormation Validate" plugin is acknowledged as ``CloudFormation-Validate::<rule>``.
        """
        return f"{self.plugin.replace(' ', '-')}::{self.rule}"

    def __str__(self) -> str:
        text = f"{self.construct_path}: {self.id}"
        if self.acknowledged_at:
            text += f" (acknowledged at {self.acknowledged_at}: {self.reason})"
        elif self.description:
            text += f" - {self.description}"
        return text


@dataclass(frozen=True)
class ValidationReport:
    """The findings of every validation plugin that ran at synth."""

    findings: tuple[Finding, ...]
    acknowledged: tuple[Finding, ...]
    plugins: tuple[str, ...]

    def nag_findings(self) -> tuple[Finding, ...]:
        """The open findings of the four cdk-nag packs only."""
        return tuple(f for f in self.findings if f.plugin in NAG_PACK_NAMES)

    def format(self) -> str:
        lines = [f"{len(self.findings)} open finding(s):"]
        lines.extend(f"  {finding}" for finding in self.findings)
        lines.append(f"{len(self.acknowledged)} acknowledged finding(s):")
        lines.extend(f"  {finding}" for finding in self.acknowledged)
        return "\n".join(lines)


def _findings(plugin: str, entries: Sequence[dict[str, Any]]) -> list[Finding]:
    findings = []
    for entry in entries:
        for construct in entry.get("violatingConstructs", ()):
            findings.append(
                Finding(
                    plugin=plugin,
                    rule=entry["ruleName"],
                    construct_path=construct["constructPath"],
                    description=entry.get("description", ""),
                    acknowledged_at=entry.get("acknowledgedAt", ""),
                    reason=entry.get("reason", ""),
                )
            )
    return findings


def read_report(path: Path) -> ValidationReport:
    """Read a ``validation-report.json`` written by ``app.synth()`` or ``cdk synth``."""
    if not path.exists():
        # Written only when a validation plugin ran.
        return ValidationReport((), (), ())
    report = json.loads(path.read_text(encoding="utf-8"))
    findings: list[Finding] = []
    acknowledged: list[Finding] = []
    plugins = []
    for plugin_report in report.get("pluginReports", ()):
        name = plugin_report["pluginName"]
        plugins.append(name)
        findings.extend(_findings(name, plugin_report.get("violations", ())))
        acknowledged.extend(_findings(name, plugin_report.get("suppressedViolations", ())))
    return ValidationReport(
        tuple(sorted(findings, key=_order)), tuple(sorted(acknowledged, key=_order)), tuple(plugins)
    )


def _order(finding: Finding) -> tuple[str, str, str]:
    return (finding.plugin, finding.construct_path, finding.rule)


def synth_with_report(app: cdk.App) -> ValidationReport:
    """Synthesize ``app`` and return its validation report, even when validation fails.

    Errors other than a failed validation (a construct's own synth check, say) propagate.
    """
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    return read_report(Path(app.outdir) / "validation-report.json")
