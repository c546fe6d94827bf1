"""Estimates from history: durations measured from real engine journals, stored per stack and target,
median plus contingency, regressions, damaged files, and `drctl plan` showing where estimates came from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.engine.journal import Journal
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine, Outcome
from orchestrator.model import GateWaiting, PermanentError, Plan, Step, StepKind, StepOutcome
from orchestrator.plan.history import (
    CONTINGENCY,
    HistoryCorrupt,
    append_line,
    apply_history,
    history_path,
    read_history,
    record_run,
    step_histories,
)
from orchestrator.plan.recovery import critical_path
from orchestrator.report.run_summary import finish_run

REPO = Path(__file__).resolve().parents[3]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


class Clock:
    """One fake clock for the engine's durations and the journal's timestamps: no sleeping."""

    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


def run_plan(run_dir: Path, plan: Plan, clock: Clock, behaviours: dict) -> Outcome:
    """Run `plan` on one worker; each behaviour advances the clock by the seconds the step 'takes'."""

    def runner(step, ctx):
        behaviour = behaviours.get(step.id, 1.0)
        if callable(behaviour):
            return behaviour(step, ctx)
        clock.t += behaviour
        return StepOutcome()

    journal = Journal.open(run_dir, now=clock)
    try:
        engine = Engine(plan, runner, journal, max_workers=1, clock=clock,
                        retry=RetryPolicy(sleep=lambda _s: None, jitter_s=0.0))
        return engine.run().outcome
    finally:
        journal.close()


def step(sid: str, kind: StepKind, deps: tuple[str, ...] = (), estimate: float = 60.0) -> Step:
    return Step(sid, sid.split(".")[0], kind, deps, estimate)


def local_run_plan() -> Plan:
    return Plan("dev", (
        step("lake.deploy", StepKind.DEPLOY),
        step("lake.rehydrate", StepKind.REHYDRATE, ("lake.deploy",)),
        step("web.smoke", StepKind.SMOKE),
        step("db.deploy", StepKind.DEPLOY),
        step("db.smoke", StepKind.SMOKE, ("db.deploy",)),
        step("platform.gate", StepKind.GATE, ("lake.rehydrate", "web.smoke")),
    ), 3600, 900)


def test_a_local_run_records_only_succeeded_exercised_steps_and_not_its_auto_approved_gate(tmp_path):
    run_dir = tmp_path / "runs" / "dev" / "drill-1"
    clock = Clock()

    def declared(step, ctx):
        clock.t += 7
        return StepOutcome(exercised=False)  # ran nothing real: not a measurement

    def broken(step, ctx):
        clock.t += 3
        raise PermanentError("restore refused")

    outcome = run_plan(run_dir, local_run_plan(), clock,
                       {"lake.deploy": 5.0, "lake.rehydrate": 30.0, "web.smoke": declared, "db.deploy": broken})
    assert outcome == Outcome.PARTIAL

    path = record_run(run_dir, {"run_id": "drill-1", "kind": "drill-local", "stack": "dev"}, "partial")
    assert path == history_path(tmp_path, "dev")
    [line] = read_history(path)
    assert line["target"] == "local" and line["kind"] == "drill-local" and line["outcome"] == "partial"
    assert line["durations_s"] == {"lake.deploy": 5.0, "lake.rehydrate": 30.0}


def test_an_azure_gate_counts_from_asking_to_approval_across_the_resume_and_the_resumed_run_replaces_its_line(tmp_path):
    run_dir = tmp_path / "runs" / "dev" / "failover-1"
    clock = Clock()
    plan = Plan("dev", (step("app.deploy", StepKind.DEPLOY), step("platform.gate", StepKind.GATE, ("app.deploy",))), 3600, 900)
    run = {"run_id": "failover-1", "kind": "failover", "stack": "dev"}

    def waiting(step, ctx):
        raise GateWaiting("waits for approval")

    assert run_plan(run_dir, plan, clock, {"app.deploy": 10.0, "platform.gate": waiting}) == Outcome.WAITING
    record_run(run_dir, run, "waiting")
    clock.t += 600  # a person reads the evidence and approves; then the run is resumed
    assert run_plan(run_dir, plan, clock, {"platform.gate": 2.0}) == Outcome.RECOVERED
    record_run(run_dir, run, "recovered")

    assert len(history_path(tmp_path, "dev").read_text().splitlines()) == 2
    [line] = read_history(history_path(tmp_path, "dev"))
    assert line["outcome"] == "recovered" and line["target"] == "azure"
    # The engine timed only the approval check (2 s); the gate lasted from its first start.
    assert line["durations_s"] == {"app.deploy": 10.0, "platform.gate": 602.0}


def test_finishing_a_run_records_it_in_the_stacks_history(tmp_path):
    run_dir = tmp_path / "runs" / "dev" / "drill-2"
    plan = Plan("dev", (step("app.deploy", StepKind.DEPLOY), step("app.smoke", StepKind.SMOKE, ("app.deploy",))), 3600, 900)
    assert run_plan(run_dir, plan, Clock(), {"app.deploy": 4.0, "app.smoke": 2.0}) == Outcome.RECOVERED
    run = {"run_id": "drill-2", "kind": "drill-local", "stack": "dev", "targets": {"rto_s": 3600, "rpo_s": 900}}
    finish_run(run_dir=run_dir, run=run, kind="drill-local", plan=plan, profiles={}, outcome="recovered",
               disaster_at="2023-11-14T22:13:20+00:00")
    [line] = read_history(history_path(tmp_path, "dev"))
    assert line["run_id"] == "drill-2" and line["durations_s"] == {"app.deploy": 4.0, "app.smoke": 2.0}


def history_run(run_id: str, target: str, durations: dict[str, float]) -> dict:
    return {"run_id": run_id, "kind": "x", "target": target, "outcome": "recovered", "durations_s": durations}


def test_the_estimate_is_the_median_of_the_last_runs_plus_contingency():
    runs = [history_run(f"r{n}", "azure", {"a": 1000.0}) for n in range(5)]
    runs += [history_run(f"s{n}", "azure", {"a": seconds}) for n, seconds in enumerate([10, 30, 20, 40, 50, 60, 70, 80, 90, 100])]
    found = step_histories(runs, "azure")["a"]
    assert found.samples == (10, 30, 20, 40, 50, 60, 70, 80, 90, 100)  # the five oldest fell out of the window
    assert found.median_s == 55.0
    assert found.estimate_s == pytest.approx(55.0 * (1 + CONTINGENCY))
    assert found.source == f"history (10 runs, median 55.0s + {CONTINGENCY:.0%})"


def test_history_of_another_target_never_sets_the_estimates():
    runs = [history_run("local-1", "local", {"a": 0.2, "b": 0.5}), history_run("az-1", "azure", {"a": 300.0}),
            history_run("local-2", "local", {"a": 0.3})]
    plan = Plan("dev", (Step("a", "a", StepKind.DEPLOY, (), 600), Step("b", "b", StepKind.DEPLOY, ("a",), 900)), 3600, 0)

    azure, sources, _ = apply_history(plan, step_histories(runs, "azure"))
    assert [s.estimate_s for s in azure.steps] == [375.0, 900]
    assert sources == {"a": "history (1 run, median 300.0s + 25%)", "b": "profile"}
    assert critical_path(azure)[0] == 1275.0

    local, sources, _ = apply_history(plan, step_histories(runs, "local"))
    assert [s.estimate_s for s in local.steps] == [pytest.approx(0.3125, abs=1e-3), 0.625]
    assert sources["a"] == "history (2 runs, median 0.25s + 25%)"


def test_a_fallbacks_steps_never_set_a_failovers_estimates():
    fallback = {**history_run("fb-1", "local", {"lake.rehydrate": 90.0}), "kind": "fallback-local"}
    drill = history_run("dr-1", "local", {"lake.rehydrate": 2.0})
    assert step_histories([drill, fallback], "local")["lake.rehydrate"].samples == (2.0,)


@pytest.mark.parametrize("earlier, latest, threshold, flagged", [
    ([100, 100, 120], 200, 1.5, True),
    ([100, 100, 120], 140, 1.5, False),
    ([100, 100, 120], 140, 1.2, True),
    ([100], 500, 1.5, False),  # one earlier run is not a baseline
    ([0.1, 0.1, 0.1], 0.5, 1.5, False),  # five times slower, but by 0.4 s: emulator jitter
])
def test_a_step_is_flagged_when_its_latest_run_regressed_beyond_the_threshold(earlier, latest, threshold, flagged):
    runs = [history_run(f"r{n}", "azure", {"a": s}) for n, s in enumerate([*earlier, latest])]
    plan = Plan("dev", (Step("a", "a", StepKind.DEPLOY, (), 60),), 3600, 0)
    _, _, regressions = apply_history(plan, step_histories(runs, "azure"), threshold)
    if not flagged:
        assert regressions == []
        return
    [regression] = regressions
    assert regression["step"] == "a" and regression["latest_s"] == latest
    assert regression["run_id"] == f"r{len(earlier)}"
    assert regression["earlier_median_s"] == 100 and regression["earlier_runs"] == len(earlier)


def test_a_torn_last_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    path = history_path(tmp_path, "dev")
    append_line(path, history_run("r1", "azure", {"a": 1.0}))
    with open(path, "ab") as handle:
        handle.write(b'{"run_id": "r2", "target": "az')  # the crash came mid-write
    assert [r["run_id"] for r in read_history(path)] == ["r1"]
    append_line(path, history_run("r3", "azure", {"a": 3.0}))
    assert [r["run_id"] for r in read_history(path)] == ["r1", "r3"]
    assert b"r2" not in path.read_bytes()


def test_a_zero_filled_last_line_is_skipped(tmp_path):
    path = history_path(tmp_path, "dev")
    append_line(path, history_run("r1", "azure", {"a": 1.0}))
    with open(path, "ab") as handle:
        handle.write(b"\0" * 40 + b"\n")
    assert [r["run_id"] for r in read_history(path)] == ["r1"]


@pytest.mark.parametrize("bad, reason", [
    (b"not json", "not JSON"),
    (b'{"run_id": "r2", "target": "azure", "durations_s": {"a": -4}}', "duration of a"),
    (b'{"run_id": "r2", "target": "azure"}', "durations_s"),
    (b"[1, 2]", "not a history record"),
])
def test_damage_before_the_last_line_is_refused_naming_the_line(tmp_path, bad, reason):
    path = history_path(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    good = json.dumps(history_run("r1", "azure", {"a": 1.0})).encode()
    path.write_bytes(good + b"\n" + bad + b"\n" + good + b"\n")
    with pytest.raises(HistoryCorrupt, match=f"line 2: .*{reason}"):
        read_history(path)


# -- drctl plan, as a user runs it ----------------------------------------------------------------------


def _drctl_many(invocations: list[list[str]]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [subprocess.Popen([*DRCTL, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in invocations]
    results = []
    for args, proc in zip(invocations, procs, strict=False):
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


@pytest.fixture(scope="module")
def plans(tmp_path_factory, repo_graphs) -> dict[str, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("history-cli")
    project = root / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy2(REPO / name, project / name)
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    repo_graphs.warm_cache(project, "secondary", "primary")  # once, not in each of the six processes
    workdir = root / "wd"
    for run in [history_run("az-1", "azure", {"lake.rehydrate": 100.0, "postgres.validate": 100.0}),
                history_run("local-1", "local", {"lake.rehydrate": 2.0}),
                history_run("az-2", "azure", {"lake.rehydrate": 140.0, "postgres.validate": 100.0}),
                history_run("az-3", "azure", {"postgres.validate": 400.0})]:
        append_line(history_path(workdir, "secondary"), run)
    damaged = root / "damaged"
    history_path(damaged, "secondary").parent.mkdir(parents=True)
    history_path(damaged, "secondary").write_text('{"run_id": \n{"run_id": "x", "target": "azure", "durations_s": {}}\n')
    base = ["plan", "--stack", "secondary", "--project-dir", str(project)]
    invocations = {
        "azure": [*base, "--json", "--workdir", str(workdir)],
        "local": [*base, "--json", "--workdir", str(workdir), "--history-from", "local"],
        "human": [*base, "--workdir", str(workdir)],
        "local-human": [*base, "--workdir", str(workdir), "--history-from", "local"],
        "damaged": [*base, "--workdir", str(damaged)],
        "bad-threshold": [*base, "--workdir", str(workdir), "--regression-threshold", "0.5"],
    }
    results = _drctl_many(list(invocations.values()))
    return {**dict(zip(invocations, results, strict=False)), "damaged_file": str(history_path(damaged, "secondary"))}


def test_plan_json_says_where_each_estimate_came_from_and_lists_regressions(plans):
    assert plans["azure"].returncode == 0, plans["azure"].stderr
    document = json.loads(plans["azure"].stdout)
    by_id = {s["id"]: s for s in document["steps"]}
    assert by_id["lake.rehydrate"]["estimate_source"] == "history (2 runs, median 120.0s + 25%)"
    assert by_id["lake.rehydrate"]["estimate_s"] == 150.0
    assert by_id["postgres.validate"]["estimate_source"] == "history (3 runs, median 100.0s + 25%)"
    assert by_id["lake.deploy"]["estimate_source"] == "profile"
    assert document["history"]["runs"] == 3 and document["history"]["target"] == "azure"
    assert [(r["step"], r["run_id"]) for r in document["regressions"]] == [("postgres.validate", "az-3")]
    assert document["critical_path_s"] == critical_path(Plan("x", tuple(
        Step(s["id"], s["component"], StepKind(s["kind"]), tuple(s["depends_on"]), s["estimate_s"]) for s in document["steps"]
    ), 1, 1))[0]


def test_plan_from_local_history_uses_only_local_drills(plans):
    assert plans["local"].returncode == 0, plans["local"].stderr
    document = json.loads(plans["local"].stdout)
    by_id = {s["id"]: s for s in document["steps"]}
    assert by_id["lake.rehydrate"]["estimate_s"] == 2.5
    assert by_id["postgres.validate"]["estimate_source"] == "profile"
    assert document["regressions"] == []


def test_plan_for_people_shows_the_sources_and_the_regression(plans):
    result = plans["human"]
    assert result.returncode == 0, result.stderr
    assert "history (2 runs, median 120.0s + 25%)" in result.stdout
    assert "REGRESSION postgres.validate" in result.stdout and "az-3" in result.stdout


@pytest.mark.parametrize("case, words", [("damaged", ["history damaged", "line 1"]), ("bad-threshold", ["--regression-threshold"])])
def test_bad_history_or_threshold_is_one_line_exit_2(plans, case, words):
    result = plans[case]
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    for word in words:
        assert word in line
    if case == "damaged":
        assert plans["damaged_file"] in line


# -- what makes runs comparable (issue 15) -------------------------------------------------------------


def drill_line(run_id: str, seconds: float, *, scale: int = 1, faults: dict | None = None) -> dict:
    return {**history_run(run_id, "local", {"a": seconds}), "scale": scale, "faults": faults}


FAULTS = {"rate": 0.2, "seed": 0, "kinds": ["throttle", "reset"]}
ONE_STEP = Plan("dev", (Step("a", "a", StepKind.DEPLOY, (), 60),), 3600, 0)


def test_a_drill_records_its_scale_its_faults_and_the_drctl_and_plan_versions(tmp_path):
    run_dir = tmp_path / "runs" / "dev" / "drill-3"
    plan = Plan("dev", (step("app.deploy", StepKind.DEPLOY),), 3600, 900)
    assert run_plan(run_dir, plan, Clock(), {"app.deploy": 4.0}) == Outcome.RECOVERED
    run = {"run_id": "drill-3", "kind": "drill-local", "stack": "dev", "scale": 4, "faults": FAULTS}
    [line] = read_history(record_run(run_dir, run, "recovered"))
    assert line["target"] == "local" and line["scale"] == 4 and line["faults"] == FAULTS
    assert line["drctl_version"] and len(line["plan_sha256"]) == 64

    plain = {"run_id": "failover-3", "kind": "failover", "stack": "dev"}
    run_dir = tmp_path / "runs" / "dev" / "failover-3"
    assert run_plan(run_dir, plan, Clock(), {"app.deploy": 4.0}) == Outcome.RECOVERED
    [_, line] = read_history(record_run(run_dir, plain, "recovered"))
    assert line["scale"] is None and line["faults"] is None  # said, not left out: this line is of the new kind


def test_a_fault_injected_drill_is_neither_flagged_nor_a_baseline():
    runs = [drill_line("r1", 10.0), drill_line("r2", 10.0), drill_line("r3", 10.0),
            drill_line("faulty", 60.0, faults=FAULTS)]
    _, _, regressions = apply_history(ONE_STEP, step_histories(runs, "local"))
    assert regressions == []
    runs += [drill_line("r4", 10.0)]  # the faulty run is not the baseline the next one is judged against
    _, sources, regressions = apply_history(ONE_STEP, step_histories(runs, "local"))
    assert regressions == [] and sources["a"].startswith("history (4 runs")


def test_regressions_are_flagged_only_between_runs_of_the_same_scale():
    runs = [drill_line("small-1", 2.0), drill_line("small-2", 2.0), drill_line("big-1", 30.0, scale=10)]
    _, _, regressions = apply_history(ONE_STEP, step_histories(runs, "local"))
    assert regressions == []  # ten times the data is not a regression
    runs += [drill_line("big-2", 30.0, scale=10), drill_line("big-3", 90.0, scale=10)]
    _, _, [flagged] = apply_history(ONE_STEP, step_histories(runs, "local"))
    assert flagged["run_id"] == "big-3" and flagged["earlier_median_s"] == 30.0 and flagged["earlier_runs"] == 2
    assert flagged["scale"] == 10


def test_old_lines_without_scale_or_faults_are_compared_only_with_each_other():
    old = [history_run(f"old-{n}", "local", {"a": 2.0}) for n in range(3)]
    _, _, regressions = apply_history(ONE_STEP, step_histories([*old, drill_line("new-1", 9.0)], "local"))
    assert regressions == []  # one new run has no baseline of its kind yet
    _, _, [flagged] = apply_history(ONE_STEP, step_histories([*old[:2], history_run("old-x", "local", {"a": 9.0})],
                                                             "local"))
    assert flagged["run_id"] == "old-x" and flagged["scale"] is None and flagged["recorded_before_conditions"] is True


def test_the_plan_document_says_each_estimates_source_and_when_it_mixes_local_timings_with_code_estimates(tmp_path):
    from orchestrator.plan.document import plan_document

    plan = Plan("dev", (Step("a", "a", StepKind.DEPLOY, (), 600), Step("b", "b", StepKind.DEPLOY, ("a",), 900),
                        Step("c", "c", StepKind.SMOKE, ("b",), 60)), 3600, 0)
    for run in (drill_line("r1", 0.2), drill_line("r2", 0.4), drill_line("faulty", 9.0, faults=FAULTS),
                history_run("old-1", "local", {"a": 0.3})):
        append_line(history_path(tmp_path, "dev"), run)
    document = plan_document(plan, {}, "dev", workdir=tmp_path, history_from="local")
    by_id = {s["id"]: s for s in document["steps"]}
    assert by_id["a"]["estimate_basis"] == {"source": "history", "target": "local", "runs": 3,
                                            "label": "local history (3 runs, median 0.30s + 25%)"}
    assert by_id["b"]["estimate_basis"]["source"] == "code"
    assert by_id["b"]["estimate_source"] == "profile"  # the field --json readers already know, unchanged
    assert document["estimate_mix"] == ("estimates mix 1 local timing with 2 code estimates: "
                                        "the critical path is not a forecast of an Azure run")
    assert document["history"]["faulted_runs"] == 1 and document["history"]["runs_before_conditions"] == 1

    only_code = plan_document(plan, {}, "dev", workdir=tmp_path, history_from="azure")
    assert only_code["estimate_mix"] is None


def test_plan_text_says_the_source_of_each_estimate_and_the_mix(plans):
    result = plans["local-human"]
    assert result.returncode == 0, result.stderr
    assert "local history (1 run, median 2.00s + 25%)" in result.stdout
    assert "code estimate" in result.stdout
    [mix] = [line for line in result.stdout.splitlines() if line.startswith("estimates mix")]
    assert "1 local timing with" in mix and "not a forecast of an Azure run" in mix
