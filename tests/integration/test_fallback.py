"""Fallback to the primary: the plan the seed lays out, the CLI, and the local round trip.

The round trip runs the real local region pair (Azurite and PostgreSQL per region): the records
written while the secondary served must be in the primary afterwards, by count and checksum, and
a fallback that cannot prove it must not switch traffic back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from components.profile import DRProfile, Estimates, RecoveryAction
from orchestrator.model import StepKind
from orchestrator.plan.fallback import build_fallback_plan
from orchestrator.stack import load_stack
from orchestrator.targets.local.prelude import DATASETS
from smoke_tests.check import smoke

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def profile(key: str, *, stateful: bool = False, action: RecoveryAction = RecoveryAction.REDEPLOY) -> DRProfile:
    return DRProfile(key=key, title=key.title(), stateful=stateful, recovery_action=action, checks=(smoke(key, "s"),),
                     depends_on=(), priority=10, estimates=Estimates(deploy=60, rehydrate=600,
                                                                                          replay=300, validate=120),
                     seed=())


def test_the_plan_follows_the_seeds_fallback_process():
    plan = build_fallback_plan("primary", [profile("net"), profile("lake", stateful=True,
                                                                    action=RecoveryAction.REDEPLOY_REHYDRATE),
                                           profile("okta", action=RecoveryAction.SAAS)],
                               rto_target_s=3600, rpo_target_s=600, parallel_run_s=1800, secondary_strategy="strip-back")
    steps = {s.id: s for s in plan.steps}
    order = [s.id for s in plan.steps]
    assert "okta.smoke" not in steps  # SaaS services are not moved back
    assert steps["platform.drift"].depends_on == ("net.smoke", "lake.smoke")
    assert steps["lake.rehydrate"].depends_on == ("platform.drift",)
    assert [steps[i].kind for i in ("lake.rehydrate", "lake.replay", "lake.validate")] == [
        StepKind.REHYDRATE, StepKind.REPLAY, StepKind.VALIDATE]
    assert steps["platform.parallel-run"].depends_on == ("lake.validate",)
    assert steps["platform.parallel-run"].estimate_s == 1800
    # approval before the switch; the secondary goes only after the primary is handed back
    tail = order[order.index("platform.parallel-run"):]
    assert tail == ["platform.parallel-run", "platform.gate", "platform.switch", "platform.handover",
                    "secondary.decommission"]
    assert "Strip back" in steps["secondary.decommission"].description
    decommission = build_fallback_plan("p", [profile("net")], rto_target_s=1, rpo_target_s=1, parallel_run_s=0,
                                       secondary_strategy="decommission")
    assert decommission.step("secondary.decommission").description == "Decommission the secondary region"
    assert decommission.step("platform.parallel-run").depends_on == ("platform.drift",)


def drctl(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_fallback_dry_run_prints_the_plan_from_the_stack_config():
    done = drctl("fallback", "--stack", "primary", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["fallback"] == {"parallel_run_minutes": 60, "secondary_strategy": "strip-back",
                                    "traffic_switch": "manual"}
    ids = [s["id"] for s in document["plan"]["steps"]]
    assert ids[-1] == "secondary.decommission" and "postgres.replay" in ids and "lake.validate" in ids


@pytest.mark.parametrize("args, message", [
    (("fallback", "--stack", "secondary", "--dry-run"), "secondary is a secondary stack; a fallback returns to a primary"),
    (("fallback", "--stack", "nowhere", "--dry-run"), "--stack: unknown stack 'nowhere'"),
    (("drill", "--local", "--parallel-run-s", "5"), "--parallel-run-s: only with --with-fallback"),
])
def test_bad_fallback_input_is_one_line_and_exit_2(args, message):
    done = drctl(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.parametrize("env, message", [
    ({}, "drctl: the Pulumi CLI is not installed: no `pulumi` on PATH"),
    ({"DRCTL_PULUMI_COMMAND": str(REPO / "tests" / "fake_pulumi" / "bin" / "pulumi")}, "drctl: no Azure credentials: "),
], ids=["no-pulumi-cli", "no-credentials"])
def test_a_fallback_on_azure_needs_the_pulumi_cli_and_credentials(tmp_path, env, message):
    bare = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path), **env}  # no CLI, no login, no Azure variables
    done = subprocess.run([*DRCTL, "fallback", "--stack", "primary", "--workdir", str(tmp_path / "work")],
                          capture_output=True, text=True, cwd=REPO, env=bare, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
    assert not (tmp_path / "work").exists()  # refused before a run directory exists


def test_a_bad_fallback_setting_in_the_stack_file_names_the_key(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", ".drill", "*.pyc"))
    stack_file = project / "Pulumi.primary.yaml"
    stack_file.write_text(stack_file.read_text() + "  dataplatform:fallback:\n    secondaryStrategy: burn-it\n")
    done = drctl("fallback", "--stack", "primary", "--dry-run", "--project-dir", str(project))
    assert done.returncode == 2 and "fallback" in done.stderr and "secondaryStrategy" in done.stderr, done.stderr


@pytest.fixture()
def workdir():
    path = Path(tempfile.mkdtemp(prefix="drctl-fallback-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.integration
def test_the_round_trip_brings_every_record_of_the_secondarys_time_back_to_the_primary(workdir):
    from orchestrator.verbs.drill import run_local_drill

    summary = run_local_drill(load_stack(REPO, "secondary"), load_stack(REPO, "primary"), workdir, scale=1, workers=4,
                              keep_data=True, with_fallback=True, parallel_run_s=0.5)
    assert summary["outcome"] == "recovered"
    fallback = summary["fallback"]
    assert fallback["outcome"] == "recovered", fallback
    stores = fallback["secondary_time"]["stores"]
    pg = stores["postgres"]
    assert pg["events"] > 0 and pg["in_primary"]["events"] == pg["events"]
    assert pg["in_primary"]["checksum"] == pg["checksum"]
    assert pg["in_primary"]["checksum"] != "md5:d41d8cd98f00b204e9800998ecf8427e"  # not the digest of nothing
    first, last = fallback["secondary_time"]["batches"]
    assert last - first + 1 == 3 and all(blob["in_primary"] for blob in stores["lake"]["blobs"])
    # each batch's event files, one per device (each of the small dataset's devices reports in every batch)
    assert len(stores["lake"]["blobs"]) == 3 * DATASETS["small"][1]
    run_dir = Path(fallback["run_dir"])
    report = (run_dir / "report.md").read_text()
    assert "## Records written during the secondary's time" in report and "checksum" in report and "matches" in report
    assert "Fallback started" in report
    # the switch recorded the primary as active; the secondary was stripped back, its servers stopped
    local_dir = Path(json.loads((Path(summary["run_dir"]) / "run.json").read_text())["local_dir"])
    assert json.loads((local_dir / "traffic.json").read_text())["active_region"] == "primary"
    retired = json.loads((run_dir / "evidence" / "secondary.decommission.json").read_text())
    assert retired["evidence"]["strategy"] == "strip-back" and "database platform" in retired["evidence"]["removed"]
    # the parallel run ingested into both regions and found them equal
    parallel = json.loads((run_dir / "evidence" / "platform.parallel-run.json").read_text())
    assert parallel["outputs"]["batches_in_both"] >= 1 and parallel["evidence"]["postgres"]["exact"] is True


@pytest.mark.integration
def test_a_fallback_that_cannot_prove_the_data_never_switches_traffic(workdir, monkeypatch):
    """The primary's PostgreSQL is not brought up to date (replay is broken): validation against the
    secondary fails naming the store, and the switch and the decommission never run."""
    import orchestrator.targets.local.fallback as local_fallback
    from orchestrator.verbs.drill import run_local_drill

    def no_replay(sink, source):  # claims to be caught up, writes nothing
        return {"store": sink.name, "caught_up": True, "data_end_after": None, "rpo_after_replay_s": 0.0,
                "count": 0, "watermark": sink.watermark()}

    monkeypatch.setattr(local_fallback, "replay", no_replay)
    summary = run_local_drill(load_stack(REPO, "secondary"), load_stack(REPO, "primary"), workdir, scale=1, workers=4,
                              with_fallback=True, parallel_run_s=0)
    fallback = summary["fallback"]
    assert summary["outcome"] == "recovered" and fallback["outcome"] == "partial"
    run_dir = Path(fallback["run_dir"])
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]
    failed = {e.get("step") for e in journal if e.get("event") == "step_failed"}
    assert "postgres.validate" in failed
    validate = json.loads((run_dir / "evidence" / "postgres.validate.json").read_text())
    assert "the primary does not match the secondary" in json.dumps(validate)
    skipped = {e.get("step") for e in journal if e.get("event") == "step_skipped"}
    assert {"platform.switch", "secondary.decommission"} <= skipped
    # the local data is kept for investigation when the round trip did not complete
    assert (workdir / "local").is_dir() and any((workdir / "local").iterdir())
