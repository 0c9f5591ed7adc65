"""Smoke test of the benchmarks: every measurement runs at a tiny size. No timing targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import against, capacity, policy_chars, run, synth_once, synth_time
from benchmarks.apps import family, family_arns, synth_scenario
from benchmarks.machine import machine_facts
from benchmarks.policy import find_role, role_policies, substitute


def test_largest_fitting_finds_the_boundary_from_either_side() -> None:
    for answer in (0, 1, 7, 89, 145, 265, 1024):
        for start in (1, 64, 256, 1024):
            search = capacity.largest_fitting(
                lambda n, answer=answer: [] if n <= answer else ["too many"],
                start=start,
                upper_limit=1024,
            )
            assert search.largest == answer
    assert capacity.largest_fitting(lambda n: [], start=4, upper_limit=10).capped


def test_substitute_replaces_pseudo_parameters_and_joins() -> None:
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:x"]]}
    assert substitute({"Resource": [joined]}) == {"Resource": ["arn:aws:ecr:x"]}


def test_capacity_search_runs_on_both_sides_at_small_sizes() -> None:
    ours = capacity.largest_fitting(capacity.ours_problems, start=2, upper_limit=3)
    assert ours.largest == 3
    assert ours.capped
    assert capacity.cdk_fits(2, minimize_policies=True)
    assert capacity.cdk_fits(2, minimize_policies=False)


def test_policy_chars_names_every_family_arn() -> None:
    result = policy_chars.measure_policy_chars(3)
    assert result.arn_chars_per_family == sum(len(a) for a in family_arns(family(0)))
    assert result.per_family(result.ours) > result.arn_chars_per_family
    assert result.cdk_minimize_on.total_chars > 0
    assert result.cdk_minimize_off.total_chars > 0


def test_cdk_auto_roles_are_not_the_shared_role() -> None:
    template = synth_scenario("cdk-auto", 2)
    with pytest.raises(LookupError):
        find_role(template, "ExecutionRole")
    shared = synth_scenario("cdk-shared", 2)
    assert role_policies(shared, find_role(shared, "ExecutionRole")).inline_chars


def test_synth_time_alternates_sides_and_takes_medians() -> None:
    calls: list[tuple[str, int, int | None]] = []

    def timer(
        scenario: str, families: int, *, max_managed_policies: int | None, minimize_policies: bool
    ) -> tuple[float, float]:
        assert minimize_policies
        calls.append((scenario, families, max_managed_policies))
        seconds = {"ours-minimal": 3.0, "cdk-auto": 2.0}[scenario] + len(calls) / 100
        return seconds, seconds / 2

    result = synth_time.measure_synth_time(
        "ours-minimal",
        "cdk-auto",
        7,
        runs=3,
        warmup_runs=1,
        max_managed_policies=4,
        minimize_policies=True,
        timer=timer,
    )
    # Which side goes first alternates; only our side gets the policy cap; warm-ups are dropped.
    assert [scenario for scenario, _, _ in calls] == [
        "ours-minimal",
        "cdk-auto",
        "cdk-auto",
        "ours-minimal",
        "ours-minimal",
        "cdk-auto",
        "cdk-auto",
        "ours-minimal",
    ]
    assert {cap for scenario, _, cap in calls if scenario == "cdk-auto"} == {None}
    assert {families for _, families, _ in calls} == {7}
    assert result.ours_seconds == (3.04, 3.05, 3.08)
    assert result.ratio == pytest.approx(3.05 / 2.06)
    assert result.cpu_ratio == pytest.approx(result.ratio)
    # Each run's pair, whichever side went first: (3.04 / 2.03), (3.05 / 2.06), (3.08 / 2.07).
    assert result.pair_cpu_ratios == pytest.approx((3.04 / 2.03, 3.05 / 2.06, 3.08 / 2.07))
    low, high = result.pair_cpu_quartiles
    assert min(result.pair_cpu_ratios) <= low <= high <= max(result.pair_cpu_ratios)
    assert low < high


def test_the_timed_process_synthesizes_a_scenario() -> None:
    # What each timed process runs, here in this process.
    synth_once.main(["ours-shared", "2"])
    synth_once.main(["cdk-shared", "2", "--minimize-policies"])


def test_the_realistic_app_gives_each_service_its_role() -> None:
    # Props mode names the four resources, derived mode reads them from the service; both
    # allow what aws-cdk-lib's own role allows for the service, on the same resources.
    def execution_policies(template: dict[str, Any]) -> list[Any]:
        return [
            resource["Properties"]["PolicyDocument"]["Statement"]
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
            and "ExecutionRole" in logical_id
        ]

    cdk_statements = execution_policies(synth_scenario("cdk-service", 2))
    assert len(cdk_statements) == 2
    for scenario in ("ours-service", "ours-service-derived", "ours-service-hardened"):
        ours = execution_policies(synth_scenario(scenario, 2))
        assert len(ours) == 2
        for statements, theirs in zip(ours, cdk_statements, strict=True):
            resources = {json.dumps(s["Resource"], sort_keys=True) for s in statements}
            assert {json.dumps(s["Resource"], sort_keys=True) for s in theirs} - resources <= {
                # aws-cdk-lib's whole log group; ours names the streams of the service's prefix
                # in derived mode.
                json.dumps(t["Resource"], sort_keys=True)
                for t in theirs
                if "logs:PutLogEvents" in t["Action"]
            }
            assert len(statements) == len(theirs)


def test_report_prints_text_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    row = run.Row("capacity", "Title", "265", "140", 1.89, "ours / cdk", ">= 260", True, ["x"])
    run.print_row(1, row)
    run.print_markdown([row])
    printed = capsys.readouterr().out
    assert "PASS" in printed
    assert "| Title | 265 | 140 |" in printed
    assert dict(machine_facts())["Python"]
    assert run.parse_arguments(["--quick", "--only", "capacity"]).only == ["capacity"]
    reported = run.Row("service-10", "T", "1", "1", 1.0, "CPU", "-", None)
    run.print_markdown([reported], [("CPU", "a test CPU")])
    printed = capsys.readouterr().out
    assert "Measured on: CPU a test CPU." in printed
    assert "| - | - |" in printed


def test_calls_into_aws_cdk_lib_per_family_stay_low() -> None:
    # A guard on the design, not a timing: each task family costs a fixed number of round
    # trips between Python and aws-cdk-lib's Node process beyond what aws-cdk-lib's own roles
    # need (about 54 per MinimalExecutionRole before they were batched per stack).
    from benchmarks.calls import CAUSES, count_calls

    minimal = count_calls("ours-minimal", "cdk-auto", 10)
    assert minimal.cdk > 0
    assert minimal.extra_per_family <= 22, minimal
    shared = count_calls("ours-shared", "cdk-shared", 10)
    assert shared.extra_per_family <= 16, shared
    # Every extra call is put down to the library: the app's own calls are the same
    # whichever role it uses.
    assert set(minimal.ours_causes) <= set(CAUSES) and set(minimal.cdk_causes) == {"app"}
    assert minimal.ours_causes["app"] == minimal.cdk_causes["app"]
    # Each grant aws-cdk-lib makes (pull, token, logs, secret) is a callback...
    assert minimal.ours_causes["callback"] >= 10 * 4
    # ...and each phase of the library's work is seen.
    assert {"construct", "finalize", "check", "verify"} <= set(minimal.ours_causes)
    # Derived roles, which read no props, cost no more than roles named in props.
    derived = count_calls("ours-minimal-derived", "cdk-auto", 10)
    assert derived.extra_per_family <= minimal.extra_per_family, derived
    shared_derived = count_calls("ours-shared-derived", "cdk-shared", 10)
    assert shared_derived.extra_per_family <= shared.extra_per_family, shared_derived


def test_phases_measure_the_library_in_a_fresh_process() -> None:
    # The meter replaces the library's entry points, so it runs in processes of its own.
    from benchmarks import phases

    total, measured = phases._run_process("ours-minimal-derived", 3)
    python, node = measured["python"], measured["node"]
    assert set(python) == set(node) == set(phases.PHASES)
    assert all(value >= 0 for value in (*python.values(), *node.values()))
    for phase in ("import", "constructors", "grant callbacks", "finalizer", "check"):
        assert python[phase] > 0, phase
    assert python["verification"] > 0
    assert node["import"] == node["grant callbacks"] == 0
    assert total > sum(python.values()) + sum(node.values())
    _, peer = phases._run_process("cdk-auto", 3)
    assert not any(peer["python"].values()) and not any(peer["node"].values())


def test_phases_alternate_sides_and_report_the_library_share() -> None:
    from benchmarks import phases

    order: list[str] = []

    def run_process(scenario: str, families: int) -> tuple[float, dict[str, Any]]:
        order.append(scenario)
        share = 0.1 if scenario.startswith("ours") else 0.0
        return 10.0 + len(order), {
            "python": dict.fromkeys(phases.PHASES, share),
            "node": dict.fromkeys(phases.PHASES, share),
        }

    result = phases.measure_phases("ours-service", 20, 3, run_process)
    ours, peer = "ours-service", "cdk-service"
    assert order == [ours, peer, peer, ours, ours, peer]
    assert (result["total"], result["peer_total"]) == (14.0, 13.0)
    lines = phases.format_phases(result)
    assert lines[0].startswith("ours-service vs cdk-service, 20 families (medians of 3")
    assert any(
        line.split()[:1] == ["finalizer"] and line.split()[1:] == ["0.10", "0.10", "0.20"]
        for line in lines
    )
    assert "1.20" in lines[-2] and "(9.2% of the peer" in lines[-2] and "(1.077)" in lines[-1]


def test_grant_callbacks_compare_recording_roles_with_plain_ones() -> None:
    from benchmarks import grant_callbacks

    # Two statements per pull, each a callback to a recording role; none for a plain role.
    assert grant_callbacks.build("recording", 2, 3) == 2 * 3 * 2
    assert grant_callbacks.build("plain", 2, 3) == 0
    order: list[str] = []

    def time_process(kind: str, roles: int, grants: int) -> float:
        order.append(kind)
        return {"plain": 1.0, "recording": 1.5}[kind] + len(order) / 100

    cost = grant_callbacks.measure_callbacks(10, 5, 3, time_process)
    assert order == ["plain", "recording", "recording", "plain", "plain", "recording"]
    assert cost.callbacks == 100
    assert cost.extra_seconds == pytest.approx(1.53 - 1.04)
    assert cost.per_callback_ms == pytest.approx(4.9)


def test_against_alternates_the_two_trees_and_reports_pair_ratios(tmp_path: Path) -> None:
    calls: list[Path | None] = []

    def timer(scenario: str, families: int, root: Path | None) -> float:
        assert (scenario, families) == ("ours-minimal", 3)
        calls.append(root)
        return 2.0 if root is None else 1.0 + len(calls) / 100

    ours, theirs = against.compare(tmp_path, "ours-minimal", 3, 3, timer=timer)
    # Which side goes first alternates.
    assert calls == [None, tmp_path, tmp_path, None, None, tmp_path]
    assert ours == [2.0, 2.0, 2.0]
    assert theirs == [1.02, 1.03, 1.06]
    text = against.report("abc123", "ours-minimal", 3, ours, theirs)
    assert text.startswith(
        "ours-minimal, 3 families, 3 pairs: this checkout 2.00 s CPU, abc123 1.03"
    )
    assert f"ratio {2.0 / 1.03:.3f}" in text


def test_against_runs_the_earlier_commit_from_its_own_tree(tmp_path: Path) -> None:
    against.export_commit("HEAD", tmp_path)
    assert (tmp_path / "src" / "ecs_exec_roles" / "__init__.py").is_file()
    assert (tmp_path / "benchmarks" / "synth_once.py").is_file()
    assert list((tmp_path / "src" / "ecs_exec_roles" / "__pycache__").glob("*.pyc"))
    probe = "import benchmarks, ecs_exec_roles; print(ecs_exec_roles.__file__, benchmarks.__file__)"
    (tmp_path / "benchmarks" / "probe.py").write_text(probe + "\n")
    printed = synth_time.run_module("benchmarks.probe", root=tmp_path).stdout.split()
    assert printed == [
        str(tmp_path / "src" / "ecs_exec_roles" / "__init__.py"),
        str(tmp_path / "benchmarks" / "__init__.py"),
    ]
    with pytest.raises(SystemExit, match="no-such-revision"):
        against.export_commit("no-such-revision", tmp_path / "other")


def test_the_audit_benchmark_audits_every_task_definition_it_synthesizes() -> None:
    from benchmarks import audit as audit_benchmark

    result = audit_benchmark.measure("cdk-auto", 2)
    assert result["tasks"] == 2
    assert result["audit"] > 0 and result["command"] > 0
