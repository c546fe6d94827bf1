"""Over the RTO: the critical path named, and the seed's levers with the savings computed from the plan."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.recovery import build_plan, critical_path, sequential_seconds
from orchestrator.plan.rto_levers import rto_levers, scheduled_seconds

REPO = Path(__file__).resolve().parents[3]

LAKE_SEED = SeedFacts("Storage", Responsibility.SHARED, Responsibility.CUSTOMER, "Standard_LRS", ("Geo-redundant storage",))


DEFAULT_ESTIMATES = Estimates(deploy=100)


def profile(key, *, stateful=False, action=RecoveryAction.REDEPLOY, deps=(), estimates=DEFAULT_ESTIMATES, seed=()):
    return DRProfile(key=key, title=key, stateful=stateful, recovery_action=action, checks=(),
                     depends_on=tuple(Dependency(d, "needs it") for d in deps), priority=50, estimates=estimates,
                     seed=seed)


PROFILES = [
    profile("net", estimates=Estimates(deploy=600, smoke=60)),
    profile("lake", stateful=True, action=RecoveryAction.REDEPLOY_REHYDRATE, deps=("net",), seed=(LAKE_SEED,),
            estimates=Estimates(deploy=60, rehydrate=1800, validate=300, replay=600, smoke=60)),
    profile("db", stateful=True, action=RecoveryAction.GEO_RESTORE, deps=("net",),
            estimates=Estimates(deploy=1800, rehydrate=0, validate=300, replay=300, smoke=60)),
    profile("web", deps=("net",), estimates=Estimates(deploy=120, smoke=60)),
]
BY_KEY = {p.key: p for p in PROFILES}
# By hand: net 600, then the lake's chain 60+1800+300+600+60, then gate 900 and handover 300.
CRITICAL_S = 600 + 2820 + 900 + 300
PATH = ["net.deploy", "lake.deploy", "lake.rehydrate", "lake.validate", "lake.replay", "lake.smoke",
        "platform.gate", "platform.handover"]


def plan_with_rto(rto_s: float) -> Plan:
    return build_plan("dev", PROFILES, rto_s, 900, gate_estimate_s=900, handover_estimate_s=300)


def levers_by_name(analysis: dict) -> dict[str, dict]:
    return {lever["lever"]: lever for lever in analysis["levers"]}


def test_within_the_target_there_is_nothing_to_pull():
    assert critical_path(plan_with_rto(CRITICAL_S))[0] == CRITICAL_S
    assert rto_levers(plan_with_rto(CRITICAL_S), BY_KEY) is None


def test_over_the_target_the_critical_path_is_named_with_its_estimates_and_sources():
    analysis = rto_levers(plan_with_rto(3600), BY_KEY, {"lake.rehydrate": "history (3 runs, median 1440.0s + 25%)"})
    assert analysis["estimated_rto_s"] == CRITICAL_S and analysis["over_by_s"] == CRITICAL_S - 3600
    assert [entry["step"] for entry in analysis["critical_path"]] == PATH
    sources = {entry["step"]: entry["estimate_source"] for entry in analysis["critical_path"]}
    assert sources["lake.rehydrate"].startswith("history") and sources["lake.deploy"] == "profile"
    assert [lever["lever"] for lever in analysis["levers"]] == [
        "automate", "parallelise", "uplift the service tier or redundancy", "agree a longer RTO"]


def test_automating_the_gate_saves_its_time_on_the_path():
    automate = levers_by_name(rto_levers(plan_with_rto(3600), BY_KEY))["automate"]
    assert automate["steps"] == ["platform.gate"] and automate["cost_on_path_s"] == 900
    assert automate["saving_s"] == 900


def test_parallelising_is_bounded_by_the_plan_without_cross_component_waits():
    parallelise = levers_by_name(rto_levers(plan_with_rto(3600), BY_KEY))["parallelise"]
    # Without waiting for net the lake's chain (2820) is the longest: 2820 + 900 + 300.
    assert parallelise["independent_critical_path_s"] == 2820 + 1200
    assert parallelise["saving_s"] == CRITICAL_S - (2820 + 1200)
    assert parallelise["saving_is_upper_bound"] is True
    assert parallelise["cross_component_waits"] == ["lake.deploy waits for net.deploy"]


def test_uplift_saves_what_dropping_rehydration_leaves_of_the_path_and_computes_nothing_it_cannot():
    uplift = levers_by_name(rto_levers(plan_with_rto(3600), BY_KEY))["uplift the service tier or redundancy"]
    by_component = {c["component"]: c for c in uplift["components"]}
    assert set(by_component) == {"net", "lake"}  # the components on the path
    # Without the lake's rehydration the database's chain (600 + 2460) leads: saving 3420 - 3060.
    assert by_component["lake"]["saving_s"] == 360 and uplift["saving_s"] == 360
    assert by_component["lake"]["seed_uplift_options"] == ["Geo-redundant storage"]
    assert by_component["net"]["saving_s"] is None and "not computed" in by_component["net"]["detail"]


def test_a_longer_rto_would_have_to_cover_the_critical_path():
    longer = levers_by_name(rto_levers(plan_with_rto(3600), BY_KEY))["agree a longer RTO"]
    assert longer["rto_needed_s"] == CRITICAL_S and longer["saving_s"] is None
    assert f"rtoMinutes >= {-(-CRITICAL_S // 60)}" in longer["detail"]


def test_without_a_gate_on_the_path_automating_saves_nothing():
    plan = plan_with_rto(60)
    plan = Plan(plan.stack, tuple(s for s in plan.steps if s.kind != StepKind.GATE or s.component != "platform"), 60, 0)
    plan = Plan(plan.stack, tuple(
        Step(s.id, s.component, s.kind, tuple(d for d in s.depends_on if d != "platform.gate"), s.estimate_s)
        for s in plan.steps), 60, 0)
    automate = levers_by_name(rto_levers(plan, BY_KEY))["automate"]
    assert automate["steps"] == [] and automate["saving_s"] == 0.0


def test_the_schedule_on_few_workers_is_between_the_critical_path_and_one_by_one():
    plan = plan_with_rto(3600)
    assert scheduled_seconds(plan, 1) == sequential_seconds(plan)
    assert scheduled_seconds(plan, 64) == CRITICAL_S
    assert CRITICAL_S <= scheduled_seconds(plan, 2) <= sequential_seconds(plan)


def test_the_schedule_starts_the_most_work_first_as_the_engine_does():
    steps = tuple(Step(sid, sid, StepKind.DEPLOY, (), est) for sid, est in [("x", 100), ("y", 100), ("z", 100), ("w", 300)])
    # Plan order would run x and y, then z and w: 400. Longest first: w alongside x, y, z: 300.
    assert scheduled_seconds(Plan("dev", steps, 60, 0), 2) == 300


# -- drctl plan, as a user runs it ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, repo_graphs) -> list[subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("levers") / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy2(REPO / name, project / name)
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    text = (project / "Pulumi.secondary.yaml").read_text()
    text, count = re.subn(r"(rtoMinutes:\s*)\d+", r"\g<1>30", text)
    assert count == 1
    (project / "Pulumi.secondary.yaml").write_text(text)
    for project_dir in (project, REPO):  # once, not in each of the three processes
        repo_graphs.warm_cache(project_dir, "secondary", "primary")
    env = {**os.environ, "NO_COLOR": "1"}
    base = [sys.executable, "-m", "orchestrator.cli", "plan", "--stack", "secondary", "--workdir", str(project / "wd")]
    procs = [subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in ([*base, "--project-dir", str(project)], [*base, "--project-dir", str(project), "--json"],
                          [*base, "--json"])]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_plan_over_its_rto_names_the_path_and_the_levers(outputs):
    human, as_json, _ = outputs
    assert human.returncode == 0 and as_json.returncode == 0, human.stderr + as_json.stderr
    document = json.loads(as_json.stdout)
    levers = document["rto_levers"]
    assert levers["critical_path"][-1]["step"] == "platform.handover"
    assert [e["step"] for e in levers["critical_path"]] == document["critical_path"]
    assert "over the RTO by" in human.stdout
    for entry in levers["critical_path"]:
        assert f"  {entry['step']}  " in human.stdout
    for name in ("automate: saves 45m00s", "parallelise: saves at most", "uplift the service tier or redundancy",
                 "agree a longer RTO: the target would need to be rtoMinutes >="):
        assert name in human.stdout


def test_plan_within_its_rto_has_no_levers(outputs):
    _, _, real = outputs
    assert real.returncode == 0, real.stderr
    document = json.loads(real.stdout)
    assert document["within_target"] is True and document["rto_levers"] is None
