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
def plans(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("history-cli")
    project = root / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy2(REPO / name, project / name)
    shutil.copytree(REPO / "pipelines", project / "pipelines")
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
