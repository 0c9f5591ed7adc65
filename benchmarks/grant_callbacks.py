"""What recording grants in Python costs: roles that record grants vs plain ``iam.Role``.

The constructs' role records each grant aws-cdk-lib makes to it (``RecordingRole``), which is a
call from aws-cdk-lib's JavaScript into Python per statement; a plain ``iam.Role`` keeps its
grants in Node, in its ``DefaultPolicy``. Keeping grants in Node was the design proposed to
bring synth time down. This measures what it would save: N roles, each given K pulls from an
ECR repository (two statements each, so 2 x K callbacks per recording role), in whole processes
of each kind, alternated, medians of CPU seconds (the process and its Node child).

Usage: PATH=.venv/bin:$PATH python -m benchmarks.grant_callbacks [ROLES] [GRANTS] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.synth_time import run_module

__all__ = ["CallbackCost", "build", "measure_callbacks"]

KINDS = ("plain", "recording")


def build(kind: str, roles: int, grants: int) -> int:
    """Build an app of ``roles`` roles of ``kind``, each granted ``grants`` pulls; the number
    of grants the recording roles recorded (0 for plain roles)."""
    import aws_cdk as cdk
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_iam as iam

    # Imported by both kinds, so that only the callbacks differ.
    from ecs_exec_roles._recorder import RecordingRole

    app = cdk.App()
    stack = cdk.Stack(app, "Callbacks")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "app")
    principal = iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    made: list[iam.Role] = []
    for index in range(roles):
        if kind == "recording":
            made.append(
                RecordingRole(stack, f"Role{index}", grant_dependable=stack, assumed_by=principal)
            )
        else:
            made.append(iam.Role(stack, f"Role{index}", assumed_by=principal))
        for _ in range(grants):
            repository.grant_pull(made[-1])
    return sum(len(getattr(role, "recorded_grants", ())) for role in made)


@dataclass(frozen=True)
class CallbackCost:
    roles: int
    grants: int
    plain_cpu: tuple[float, ...]
    recording_cpu: tuple[float, ...]

    @property
    def callbacks(self) -> int:
        # Each grant_pull grants two statements: the authorization token and the pull.
        return self.roles * self.grants * 2

    @property
    def extra_seconds(self) -> float:
        return statistics.median(self.recording_cpu) - statistics.median(self.plain_cpu)

    @property
    def per_callback_ms(self) -> float:
        return self.extra_seconds / self.callbacks * 1000 if self.callbacks else 0.0


def _time_process(kind: str, roles: int, grants: int) -> float:
    arguments = ("--build", kind, str(roles), str(grants))
    return run_module("benchmarks.grant_callbacks", *arguments).cpu_seconds


def measure_callbacks(
    roles: int,
    grants: int,
    runs: int,
    time_process: Callable[[str, int, int], float] = _time_process,
) -> CallbackCost:
    """Medians over ``runs`` alternated processes of each kind."""
    measured: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for run in range(runs):
        for kind in KINDS if run % 2 == 0 else tuple(reversed(KINDS)):
            measured[kind].append(time_process(kind, roles, grants))
    return CallbackCost(roles, grants, tuple(measured["plain"]), tuple(measured["recording"]))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roles", type=int, nargs="?", default=200)
    parser.add_argument("grants", type=int, nargs="?", default=5)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--build", choices=KINDS, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.build:
        build(arguments.build, arguments.roles, arguments.grants)
        return 0
    cost = measure_callbacks(arguments.roles, arguments.grants, arguments.runs)
    plain, recording = (statistics.median(c) for c in (cost.plain_cpu, cost.recording_cpu))
    print(
        f"{cost.roles} roles x {cost.grants} grant_pull ({cost.callbacks} callbacks), medians "
        f"of {arguments.runs} processes: plain iam.Role {plain:.2f} s CPU, recording role "
        f"{recording:.2f} s; {cost.extra_seconds:+.2f} s, {cost.per_callback_ms:.2f} ms per "
        "callback"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
