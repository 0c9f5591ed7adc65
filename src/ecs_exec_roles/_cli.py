"""The ``ecs-exec-roles`` command: ``ecs-exec-roles audit PATH...``.

Reads cloud assemblies and CloudFormation templates (``_sources``), audits every execution
role their task definitions use (``_audit``) and writes the findings (``_report``). Exit
status: 0 when no finding of the kinds ``--fail-on`` names, 1 when there are some, 2 for input
it cannot read (one line on standard error, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ._audit import audit
from ._kinds import ACCOUNT_ID
from ._regions import partition_of_region
from ._report import FORMATS, write_report
from ._sources import AuditInputError, load_paths

__all__ = ["FAIL_ON", "main", "run"]

#: The categories of findings each ``--fail-on`` value fails on.
FAIL_ON = {
    "missing": ("missing",),
    "excess": ("missing", "excess"),
    "any": ("missing", "excess", "trust", "inline", "unverified"),
}
_PROG = "ecs-exec-roles"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Least-privilege checks of Amazon ECS task execution roles.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit_command = commands.add_parser(
        "audit",
        help="audit the execution roles of cloud assemblies or CloudFormation templates",
        description=(
            "Audit every execution role the task definitions, AWS Batch job definitions and "
            "Express Mode services of PATH use: permissions ECS needs and the role lacks, "
            "grants beyond them, trust without confused-deputy conditions, inline policies; "
            "and the policy each role should have."
        ),
    )
    audit_command.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a cloud assembly directory (cdk.out) or a template file (JSON or YAML)",
    )
    audit_command.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )
    audit_command.add_argument(
        "--fail-on",
        choices=tuple(FAIL_ON),
        default="any",
        help=(
            "exit 1 on missing permissions only (missing), on missing or excess ones "
            "(excess), or on any finding (any, the default)"
        ),
    )
    audit_command.add_argument(
        "--output", metavar="FILE", help="write the report to FILE instead of standard output"
    )
    audit_command.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the value a template parameter is deployed with (repeatable); a parameter not "
        "given is unknown, its default included",
    )
    audit_command.add_argument(
        "--account", help="the account template files without an environment deploy to"
    )
    audit_command.add_argument(
        "--region", help="the region template files without an environment deploy to"
    )
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command with ``argv`` (the process's arguments by default); the exit
    status."""
    arguments = _parser().parse_args(argv)
    try:
        roles = audit(
            load_paths(
                arguments.paths,
                parameters=_parameters(arguments.parameter),
                account=_checked(arguments.account, ACCOUNT_ID.fullmatch, "--account", "12 digits"),
                region=_checked(arguments.region, partition_of_region, "--region", "a region name"),
            )
        )
    except AuditInputError as error:
        print(f"{_PROG}: error: {error}", file=sys.stderr)
        return 2
    if arguments.output:
        try:
            with open(arguments.output, "w", encoding="utf-8") as stream:
                write_report(roles, arguments.format, stream)
        except OSError as error:
            print(f"{_PROG}: error: {arguments.output}: {error.strerror}", file=sys.stderr)
            return 2
    else:
        write_report(roles, arguments.format, stdout or sys.stdout)
    failing = FAIL_ON[arguments.fail_on]
    found = any(f.category in failing for role in roles for f in role.findings)
    return 1 if found else 0


def _parameters(given: Sequence[str]) -> dict[str, str]:
    parameters = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise AuditInputError(f"--parameter {item!r}: give NAME=VALUE")
        parameters[name] = value
    return parameters


def _checked(
    value: str | None, valid: Callable[[str], object], option: str, what: str
) -> str | None:
    if value is not None and not valid(value):
        raise AuditInputError(f"{option} {value!r}: not {what}")
    return value


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
