"""Compare execution roles for one service, measured from the synthesized templates.

The service: one Fargate task definition whose container pulls from one ECR repository,
writes to one log group and reads one Secrets Manager secret and one SSM parameter, all
imported by name in a concrete environment. It is built eight times, once per execution role:

- aws-cdk-lib's automatic role (no ``execution_role`` passed);
- a role with the AWS managed policy ``AmazonECSTaskExecutionRolePolicy`` (aws-cdk-lib still
  adds its own grants for the secret and the parameter to it);
- each of those two with ``HardenExecutionRoles`` added to its stack;
- ``StarterExecutionRole``, ``MinimalExecutionRole`` and ``SharedExecutionRole`` with the
  resources named in props, and a ``MinimalExecutionRole`` with no props, derived from the
  task definition.

Then the same container as an AWS Batch job on Fargate (its default logging, into
``/aws/batch/job``), three times: aws-cdk-lib's role for the Batch container, that role with
``HardenExecutionRoles``, and a derived ``MinimalExecutionRole``.

For each, the script reads what the template grants the execution role, runs the four cdk-nag
packs, and audits the role as ``ecs-exec-roles audit`` does. The user acknowledges nothing: a
peer's findings are counted raw, while the library's own acknowledgments (each naming one
unavoidable finding) are not findings.

Usage: ``python -m scripts.compare`` from the repository root (prints Markdown; the output
is deterministic).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecs_exec_roles import (
    HardenExecutionRoles,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)
from ecs_exec_roles._audit import audit
from ecs_exec_roles._aws_managed import AWS_MANAGED_POLICIES, ECS_TASK_EXECUTION_POLICY
from ecs_exec_roles._report import counts
from ecs_exec_roles._sources import load_paths
from examples.nag_report import (
    NAG_PACK_NAMES,
    Finding,
    ValidationReport,
    add_nag_packs,
    synth_with_report,
)
from testkit.cfn import Environment
from testkit.cfn import resolve as resolve_values

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
# Pseudo parameters substituted; other references shown as <Name> (for display only).
_ENVIRONMENT = Environment(
    partition=PARTITION, region=REGION, account=ACCOUNT, url_suffix=URL_SUFFIX, placeholders=True
)

AWS_MANAGED_POLICY_NAME = ECS_TASK_EXECUTION_POLICY
# The document of AmazonECSTaskExecutionRolePolicy, which the template only names.
AWS_MANAGED_POLICY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": list(AWS_MANAGED_POLICIES[AWS_MANAGED_POLICY_NAME]),
            "Resource": "*",
        }
    ],
}


# -- the service, five ways -------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    repository: ecr.IRepository
    log_group: logs.ILogGroup
    secret: secretsmanager.ISecret
    parameter: ssm.IStringParameter


def import_service(scope: Construct) -> Service:
    return Service(
        repository=ecr.Repository.from_repository_name(scope, "Repository", "team/api"),
        log_group=logs.LogGroup.from_log_group_name(scope, "Logs", "/ecs/api"),
        secret=secretsmanager.Secret.from_secret_name_v2(scope, "Secret", "api/database"),
        parameter=ssm.StringParameter.from_string_parameter_name(
            scope, "Parameter", "/api/database-host"
        ),
    )


def add_task(scope: Construct, service: Service, execution_role: iam.IRole | None) -> None:
    task = ecs.FargateTaskDefinition(scope, "Task", execution_role=execution_role)
    task.add_container(
        "api",
        image=ecs.ContainerImage.from_ecr_repository(service.repository, tag="1.0.0"),
        logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=service.log_group),
        secrets={
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(service.secret, "password"),
            "DB_HOST": ecs.Secret.from_ssm_parameter(service.parameter),
        },
    )


def add_job(scope: Construct, service: Service, execution_role: iam.IRole | None) -> None:
    """The service's container as an AWS Batch job on Fargate, with Batch's default logging."""
    batch.EcsJobDefinition(
        scope,
        "Job",
        job_definition_name="api-batch",
        container=batch.EcsFargateContainerDefinition(
            scope,
            "JobContainer",
            image=ecs.ContainerImage.from_ecr_repository(service.repository, tag="1.0.0"),
            cpu=1,
            memory=cdk.Size.gibibytes(2),
            execution_role=execution_role,
            secrets={
                "DB_PASSWORD": batch.Secret.from_secrets_manager(service.secret, "password"),
                "DB_HOST": batch.Secret.from_ssm_parameter(service.parameter),
            },
        ),
    )


def cdk_auto_role(scope: Construct, service: Service) -> iam.IRole | None:
    return None


def aws_managed_policy_role(scope: Construct, service: Service) -> iam.IRole | None:
    return iam.Role(
        scope,
        "ExecutionRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(AWS_MANAGED_POLICY_NAME)],
    )


def starter_role(scope: Construct, service: Service) -> iam.IRole | None:
    return StarterExecutionRole(
        scope, "ExecutionRole", secrets=[service.secret], parameters=[service.parameter]
    ).role


def minimal_role(scope: Construct, service: Service) -> iam.IRole | None:
    return MinimalExecutionRole(
        scope,
        "ExecutionRole",
        repositories=[service.repository],
        log_groups=[service.log_group],
        secrets=[service.secret],
        parameters=[service.parameter],
    ).role


def derived_role(scope: Construct, service: Service) -> iam.IRole | None:
    # No props: everything is read from the task definition that uses the role.
    return MinimalExecutionRole(scope, "ExecutionRole").role


def shared_role(scope: Construct, service: Service) -> iam.IRole | None:
    role = SharedExecutionRole(scope, "ExecutionRole")
    role.add_resources(
        repositories=[service.repository],
        log_groups=[service.log_group],
        secrets=[service.secret],
        parameters=[service.parameter],
    )
    return role.role


@dataclass(frozen=True)
class Variant:
    label: str
    stack_name: str
    build_role: Callable[[Construct, Service], iam.IRole | None]
    #: Whether ``HardenExecutionRoles`` is added to the stack.
    hardened: bool = False
    #: Whether the role's user is the AWS Batch job rather than the ECS task definition.
    job: bool = False


VARIANTS = (
    Variant("aws-cdk-lib automatic role", "CdkAutoRole", cdk_auto_role),
    Variant("AWS managed policy role", "AwsManagedPolicy", aws_managed_policy_role),
    Variant(
        "aws-cdk-lib automatic role + HardenExecutionRoles",
        "CdkAutoRoleHardened",
        cdk_auto_role,
        hardened=True,
    ),
    Variant(
        "AWS managed policy role + HardenExecutionRoles",
        "AwsManagedPolicyHardened",
        aws_managed_policy_role,
        hardened=True,
    ),
    Variant("StarterExecutionRole", "Starter", starter_role),
    Variant("MinimalExecutionRole", "Minimal", minimal_role),
    Variant("MinimalExecutionRole, derived (no props)", "Derived", derived_role),
    Variant("SharedExecutionRole", "Shared", shared_role),
    Variant("aws-cdk-lib Batch container role", "BatchAutoRole", cdk_auto_role, job=True),
    Variant(
        "aws-cdk-lib Batch container role + HardenExecutionRoles",
        "BatchAutoRoleHardened",
        cdk_auto_role,
        hardened=True,
        job=True,
    ),
    Variant(
        "MinimalExecutionRole for the job, derived (no props)",
        "BatchDerived",
        derived_role,
        job=True,
    ),
)


# -- reading a template -----------------------------------------------------------------------


def resolve(value: Any) -> Any:
    """Substitute pseudo parameters and join ``Fn::Join``; other intrinsics become ``<...>``."""
    return resolve_values(value, _ENVIRONMENT)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Measurement:
    label: str
    actions: dict[str, tuple[str, ...]]  # action -> resources it is granted on
    trust_conditions: bool
    policy_forms: tuple[str, ...]
    policy_chars: int
    findings: tuple[Finding, ...]
    acknowledged: tuple[Finding, ...] = ()
    #: Measured on the AWS Batch job rather than the ECS task definition.
    job: bool = False
    #: The findings of ``ecs-exec-roles audit`` on the role, by category.
    audit: tuple[tuple[str, int], ...] = ()

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(sorted({r for rs in self.actions.values() for r in rs}))

    @property
    def actions_on_star(self) -> tuple[str, ...]:
        return tuple(sorted(a for a, rs in self.actions.items() if "*" in rs))


def measure(label: str, template: dict[str, Any], findings: tuple[Finding, ...]) -> Measurement:
    resources = template["Resources"]
    (user,) = (
        r
        for r in resources.values()
        if r["Type"] in ("AWS::ECS::TaskDefinition", "AWS::Batch::JobDefinition")
    )
    properties = user["Properties"]
    role_arn = (
        properties.get("ExecutionRoleArn") or properties["ContainerProperties"]["ExecutionRoleArn"]
    )
    role_id = role_arn["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    role_ref = {"Ref": role_id}

    documents: list[tuple[str, Any]] = [
        ("inline", policy["PolicyDocument"]) for policy in role.get("Policies", ())
    ]
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        properties = resource.get("Properties", {})
        if role_ref not in properties.get("Roles", ()):
            continue
        if resource["Type"] == "AWS::IAM::Policy":
            documents.append(("inline", properties["PolicyDocument"]))
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(("customer managed", properties["PolicyDocument"]))
    for arn in role.get("ManagedPolicyArns", ()):
        resolved = resolve(arn)
        if resolved == f"arn:{PARTITION}:iam::aws:policy/{AWS_MANAGED_POLICY_NAME}":
            documents.append(("AWS managed", AWS_MANAGED_POLICY_DOCUMENT))
        elif isinstance(arn, dict) and "Ref" in arn:
            managed = resources[arn["Ref"]]["Properties"]
            documents.append(("customer managed", managed["PolicyDocument"]))
        else:
            raise ValueError(f"{label}: unknown managed policy {resolved!r}")

    actions: dict[str, set[str]] = {}
    chars = 0
    for form, document in documents:
        resolved_document = resolve(document)
        if form != "AWS managed":
            # As IAM counts it: the JSON document without whitespace.
            chars += len(json.dumps(resolved_document, separators=(",", ":")))
        for statement in resolved_document["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement["Action"]):
                actions.setdefault(action, set()).update(_as_list(statement["Resource"]))

    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return Measurement(
        label=label,
        actions={action: tuple(sorted(rs)) for action, rs in sorted(actions.items())},
        trust_conditions=all("Condition" in statement for statement in trust),
        policy_forms=tuple(sorted({form for form, _ in documents})),
        policy_chars=chars,
        findings=findings,
    )


def run(outdir: Path) -> tuple[list[Measurement], ValidationReport]:
    app = cdk.App(outdir=str(outdir))
    add_nag_packs(app)
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    for variant in VARIANTS:
        stack = cdk.Stack(app, variant.stack_name, env=env)
        service = import_service(stack)
        add = add_job if variant.job else add_task
        add(stack, service, variant.build_role(stack, service))
        if variant.hardened:
            cdk.Aspects.of(stack).add(HardenExecutionRoles())
    with _stderr_kept_unless_failing():
        report = synth_with_report(app)
    audited = audit(load_paths([str(outdir)]))
    measurements = []
    for variant in VARIANTS:
        template_path = outdir / f"{variant.stack_name}.template.json"
        template = json.loads(template_path.read_text(encoding="utf-8"))
        prefix = f"{variant.stack_name}/"
        findings = tuple(f for f in report.nag_findings() if f.construct_path.startswith(prefix))
        acknowledged = tuple(f for f in report.acknowledged if f.construct_path.startswith(prefix))
        measurement = measure(variant.label, template, findings)
        roles = [role for role in audited if Path(role.template) == template_path]
        measurements.append(
            dataclasses.replace(
                measurement,
                acknowledged=acknowledged,
                job=variant.job,
                audit=tuple(counts(roles).items()),
            )
        )
    return measurements, report


@contextlib.contextmanager
def _stderr_kept_unless_failing() -> Iterator[None]:
    """Hold back what synth prints to stderr (the validation report of the peers' findings,
    which the tables below summarize); print it only if synth fails for another reason."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# -- output -----------------------------------------------------------------------------------


def _short(resource: str) -> str:
    return resource.replace(f"arn:{PARTITION}:", "").replace(f"{REGION}:{ACCOUNT}:", "")


def markdown(measurements: list[Measurement], report: ValidationReport) -> str:
    measured = (
        f"Measured with aws-cdk-lib {cdk_version()} and cdk-nag packs "
        f"{', '.join(NAG_PACK_NAMES)}; nothing acknowledged by the user."
    )
    lines = [
        "## Execution roles for one service",
        "",
        f"One ECR repository, one log group, one secret and one SSM parameter, imported by "
        f"name in {ACCOUNT}/{REGION}. {measured}",
        "",
        *_section([m for m in measurements if not m.job], ""),
        "",
        "## Execution roles for one AWS Batch job",
        "",
        "The same container as an AWS Batch job on Fargate with Batch's default logging "
        f"(`/aws/batch/job`) and the same secret and parameter. {measured}",
        "",
        *_section([m for m in measurements if m.job], "Batch job: "),
    ]
    others = [f for f in report.findings if f.plugin not in NAG_PACK_NAMES]
    lines += ["", f"Other validation plugins: {len(others)} finding(s)."]
    lines.extend(f"- `{finding.id}` on `{finding.construct_path}`" for finding in others)
    return "\n".join(lines)


def _section(measurements: list[Measurement], heading: str) -> list[str]:
    """The summary table, the actions granted and the cdk-nag findings of ``measurements``
    (``heading`` starts their headings, one per section of the page)."""
    lines = [
        "| execution role | actions | resources | `*` resource | trust conditions "
        "| policy form | policy chars | cdk-nag findings | audit: missing / excess / trust / "
        "inline |",
        "|---|---:|---:|---|---|---|---:|---:|---|",
    ]
    for m in measurements:
        star = len(m.actions_on_star)
        on_star = f"yes, {star} action{'s' if star > 1 else ''}" if star else "no"
        lines.append(
            f"| {m.label} | {len(m.actions)} | {len(m.resources)} | {on_star} "
            f"| {'yes' if m.trust_conditions else 'no'} | {' + '.join(m.policy_forms)} "
            f"| {m.policy_chars} | {len(m.findings)} | {_audit_cell(m)} |"
        )
    lines += [
        "",
        "Policy chars: the role's inline and customer-managed policy documents as IAM counts "
        "them (compact JSON, pseudo parameters substituted); the AWS managed policy is not "
        "counted. Resources: distinct `Resource` values, `*` included. cdk-nag findings: open "
        "findings of the four packs; the library's own acknowledgments are listed below. "
        'Audit: the findings of `ecs-exec-roles audit` on the role (README, "Auditing any '
        'app"), read from the same template.',
        "",
        f"### {heading}{'a' if heading else 'A'}ctions granted, and on what",
        "",
        "| action | " + " | ".join(m.label for m in measurements) + " |",
        "|---|" + "---|" * len(measurements),
    ]
    all_actions = sorted({action for m in measurements for action in m.actions})
    for action in all_actions:
        cells = [
            "<br>".join(_short(r) for r in m.actions[action]) if action in m.actions else "-"
            for m in measurements
        ]
        lines.append(f"| `{action}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"### {heading}cdk-nag findings",
        "",
        "Open findings, then the ones the library acknowledges itself (one named finding each, "
        "with its reason).",
        "",
    ]
    for m in measurements:
        lines.append(f"- {m.label}: {len(m.findings)} open, {len(m.acknowledged)} acknowledged")
        lines.extend(f"  - `{f.id}` on `{f.construct_path}`" for f in m.findings)
        lines.extend(f"  - acknowledged: `{f.id}` on `{f.construct_path}`" for f in m.acknowledged)
    return lines


def _audit_cell(measurement: Measurement) -> str:
    found = dict(measurement.audit)
    return " / ".join(str(found[c]) for c in ("missing", "excess", "trust", "inline"))


def cdk_version() -> str:
    from importlib.metadata import version

    return version("aws-cdk-lib")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="compare-") as directory:
        measurements, report = run(Path(directory) / "cdk.out")
    print(markdown(measurements, report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
