"""`drctl rehearse`: a marked, expiring run, timed step by step against the plan, torn down whatever
happens.

Locally against real emulators (integration: a rehearsal straight through as a user runs it, one
whose lake validation fails, one stopped with SIGTERM mid-failover). On Azure with the fake
`pulumi` CLI (tests/fake_pulumi) behind the Automation API: the ephemeral stack is created,
failed over, destroyed and removed, also when the run fails or is interrupted.

Emulator workdirs come from tempfile.mkdtemp, not tmp_path: PostgreSQL runs as another user and
must be able to traverse the path (pytest makes its own base 0700).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest
import yaml
from fake_pulumi import scenario as fake

from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.retry import RetryPolicy
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind, StepOutcome
from orchestrator.plan.recovery import plan_to_json
from orchestrator.rehearsal.marks import MARKER, marker_document
from orchestrator.rehearsal.record import step_timings, timings_markdown
from orchestrator.run.rundir import utc_now
from orchestrator.stack import load_stack
from orchestrator.targets.azure.deploy.stack import PULUMI_COMMAND_ENV
from orchestrator.targets.azure.preconditions import Preconditions
from orchestrator.verbs.rehearse_stack import rehearsal_config, rehearse_stack
from reliability.leftovers import cleanup_case, describe, processes_of

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
RUN_TIMEOUT_S = 240


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}
    return {**env, "NO_COLOR": "1", **extra}


def drctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=env or _env(), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


# -- timings, without emulators -------------------------------------------------------------------------


def test_step_timings_compare_each_step_with_its_estimate_and_the_run_with_the_rto(tmp_path):
    steps = (Step("lake.rehydrate", "lake", StepKind.REHYDRATE, (), 600.0),
             Step("foundation.deploy", "foundation", StepKind.DEPLOY, (), 180.0),
             Step("lake.smoke", "lake", StepKind.SMOKE, ("lake.rehydrate",), 60.0))
    plan = Plan("secondary", steps, rto_target_s=3600, rpo_target_s=900)
    (tmp_path / "plan.json").write_text(json.dumps(plan_to_json(plan)))
    with Journal.open(tmp_path) as journal:
        journal.append(Event.RUN_STARTED, plan=plan_to_json(plan), max_workers=2)
        journal.append(Event.STEP_STARTED, step="lake.rehydrate", attempt=1)
        journal.append(Event.STEP_SUCCEEDED, step="lake.rehydrate", outputs={}, evidence={}, exercised=True,
                       duration_s=900.0)
        journal.append(Event.STEP_STARTED, step="foundation.deploy", attempt=1)
        journal.append(Event.STEP_SUCCEEDED, step="foundation.deploy", outputs={}, evidence={}, exercised=False,
                       duration_s=0.01)

    timings = step_timings(tmp_path, rto_s=1000.0)

    rows = {row["step"]: row for row in timings["steps"]}
    assert rows["lake.rehydrate"] == {"step": "lake.rehydrate", "kind": "rehydrate", "state": "succeeded",
                                      "exercised": True, "estimate_s": 600.0, "measured_s": 900.0, "ratio": 1.5}
    assert rows["foundation.deploy"]["ratio"] is None  # ran nothing: no verdict on its estimate
    assert rows["lake.smoke"]["state"] == "pending" and rows["lake.smoke"]["measured_s"] is None
    assert timings["rto"]["estimated_s"] == 660.0 and timings["rto"]["ratio"] == 1.52
    assert timings["rto"]["within_target"] is True and timings["rto"]["target_s"] == 3600
    table = timings_markdown(timings)
    assert "| lake.rehydrate | 600.00s | 900.00s | 1.5x |" in table
    assert "| foundation.deploy | 180.00s | 0.01s (not exercised) | - |" in table
    assert "RTO: measured 1000.00s against 660.00s estimated (1.52x); target 3600.00s" in table


@pytest.mark.parametrize("args, message", [
    (["rehearse"], "drctl: rehearse needs exactly one of --local (the local region pair) or --stack NAME"),
    (["rehearse", "--local", "--stack", "secondary"], "drctl: rehearse needs exactly one of --local"),
    (["rehearse", "--local", "--ttl-hours", "0"], "drctl: Invalid value for '--ttl-hours'"),
])
def test_bad_input_is_one_line_and_starts_nothing(tmp_path, args, message):
    result = drctl(*args, "--workdir", str(tmp_path / "work"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1 and result.stdout == ""
    assert not (tmp_path / "work").exists()


# -- local, against the emulators -----------------------------------------------------------------------


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="drctl-rehearse-")).resolve()
    yield path
    cleanup_case(path)


@pytest.mark.integration
def test_a_local_rehearsal_times_its_steps_and_leaves_only_its_evidence(workdir):
    result = drctl("rehearse", "--local", "--workdir", str(workdir), "--ttl-hours", "2")

    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    run_dir = Path(result.stderr.splitlines()[0].removeprefix("run: "))
    record = json.loads((run_dir / "rehearsal.json").read_text())
    assert record["name"] == f"rehearsal-{run_dir.name}" and record["outcome"] == "recovered"
    assert seconds(record["created_at"], record["expires_at"]) == 2 * 3600
    # The timings table, for people and in the report: every step of the plan, estimate vs measured.
    assert "step timings against the plan" in result.stdout
    assert "│ lake.rehydrate " in result.stdout and "RTO: measured " in result.stdout
    plan_ids = [s["id"] for s in json.loads((run_dir / "plan.json").read_text())["steps"]]
    rows = {row["step"]: row for row in record["timings"]["steps"]}
    assert list(rows) == plan_ids
    rehydrate = rows["lake.rehydrate"]
    assert rehydrate["measured_s"] > 0 and rehydrate["ratio"] == float(f"{rehydrate['measured_s'] / rehydrate['estimate_s']:.3g}")
    assert rows["foundation.deploy"]["exercised"] is False and rows["foundation.deploy"]["ratio"] is None
    assert record["timings"]["rto"]["measured_s"] > 0 and record["timings"]["rto"]["within_target"] is True
    report = (run_dir / "report.md").read_text()
    assert "## Rehearsal" in report and "| step | estimate | measured | ratio |" in report
    # Teardown: the emulators' data (and its marker) gone, nothing running, the run's evidence kept.
    teardown = record["teardown"]
    assert teardown["complete"] and not Path(teardown["local_dir"]).exists()
    assert "teardown: emulator data removed" in result.stdout
    assert list((workdir / "local").iterdir()) == []
    assert describe(processes_of(workdir)) == []
    assert (run_dir / "journal.jsonl").is_file() and list((run_dir / "evidence").glob("lake.*.json"))
    assert json.loads((run_dir / "run.json").read_text())["rehearsal"] == record["name"]
    history = (workdir / "history" / "secondary.jsonl").read_text().splitlines()
    assert json.loads(history[-1])["run_id"] == run_dir.name  # feeds `drctl plan`'s estimates


@pytest.mark.integration
def test_a_failing_local_rehearsal_still_tears_down(workdir, monkeypatch):
    from orchestrator.model import PermanentError
    from orchestrator.targets.local.stores.lake import LakeStore
    from orchestrator.verbs.rehearse import rehearse_local

    seen: dict = {}

    def broken_validation(self, checks):
        # Mid-run: the marker is in place and the emulators are up (remembered to check they stop).
        local_dir = self.run.data.local_dir
        seen["marker"] = json.loads((local_dir / MARKER).read_text())
        seen["pids"] = [pid for pid in self.pair.pids().values() if pid]
        raise PermanentError("lake: raw: blobs expected 10, found 9 (injected)")

    monkeypatch.setattr(LakeStore, "validate", broken_validation)

    summary = rehearse_local(load_stack(REPO, "secondary"), load_stack(REPO, "primary"), workdir, scale=1, workers=4,
                             ttl_hours=0.5)

    assert summary["outcome"] == "partial"
    marker = seen["marker"]
    assert marker["name"] == summary["rehearsal"]["name"] == f"rehearsal-{Path(summary['run_dir']).name}"
    assert seconds(marker["created_at"], marker["expires_at"]) == 1800
    assert marker["pid"] == os.getpid() and marker["stack"] == "secondary"
    rows = {row["step"]: row for row in summary["rehearsal"]["timings"]["steps"]}
    assert rows["lake.validate"]["state"] == "failed" and rows["lake.smoke"]["state"] == "skipped"
    # Unlike a drill, which keeps a failed run's data for resume, a rehearsal removes it.
    teardown = summary["rehearsal"]["teardown"]
    assert teardown["complete"] and not Path(teardown["local_dir"]).exists()
    assert seen["pids"] and not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                                    for pid in seen["pids"])
    assert "Teardown: complete" in (Path(summary["run_dir"]) / "report.md").read_text()


@pytest.mark.integration
def test_sigterm_mid_rehearsal_still_tears_down(workdir):
    stderr_path = workdir / "drctl.stderr"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([*DRCTL, "rehearse", "--local", "--json", "--workdir", str(workdir)], cwd=REPO,
                                env=_env(DRCTL_TEST_PAUSE_AFTER="lake.rehydrate"), stdout=subprocess.PIPE, stderr=err)
    try:
        deadline = time.monotonic() + 150
        while "paused after lake.rehydrate" not in stderr_path.read_text():
            assert proc.poll() is None, stderr_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the rehearsal did not pause"
            time.sleep(0.1)
        run_dir = Path(stderr_path.read_text().splitlines()[0].removeprefix("run: "))
        local_dir = Path(json.loads((run_dir / "run.json").read_text())["local_dir"])
        assert (local_dir / MARKER).is_file() and describe(processes_of(local_dir))
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = stderr_path.read_text()
    assert proc.returncode == 130, stderr[-3000:]
    assert stderr.rstrip().splitlines()[-1] == "drctl: interrupted" and "Traceback" not in stderr
    assert "teardown: emulator data removed" in stderr and stdout == b""
    assert not local_dir.exists() and describe(processes_of(workdir)) == []
    record = json.loads((run_dir / "rehearsal.json").read_text())
    assert record["outcome"] == "interrupted" and record["teardown"]["complete"]
    assert {r["step"]: r for r in record["timings"]["steps"]}["lake.rehydrate"]["state"] == "succeeded"


# -- Azure, with the fake pulumi CLI ------------------------------------------------------------------


SHORT = "a1b2c3"
NAME = f"secondary-{SHORT}"


@pytest.fixture
def project(tmp_path):
    """A copy of the project's stack files: the rehearsal writes (and removes) a stack file beside them."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    return root


class DataSteps:
    """Stands in for the Azure data steps; reads the rehearsal's stack file while the run is on."""

    def __init__(self, project: Path) -> None:
        self.project, self.ran, self.stack_file, self.closed = project, [], None, False

    def factory(self, run_dir, config, graph):
        assert config.stack == NAME and graph.stack == NAME
        self.stack_file = yaml.safe_load((self.project / f"Pulumi.{NAME}.yaml").read_text())["config"]
        return self

    def __call__(self, step, context):
        self.ran.append(step.id)
        if step.kind == StepKind.HANDOVER:
            return StepOutcome(outputs={"handover_at": utc_now()})
        return StepOutcome(evidence={"ran": step.id})

    def close(self) -> None:
        self.closed = True


def rehearse(project: Path, tmp_path: Path, monkeypatch, *, up: list, destroy: list | None = None,
             preflight=lambda: {"blocked": False, "checks": []}, steps: DataSteps | None = None) -> dict:
    scenario = fake.write_scenario(tmp_path / "fake", stacks={}, up=up, destroy=destroy)
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    steps = steps or DataSteps(project)
    return rehearse_stack(project, "secondary", workdir=tmp_path / "work", ttl_hours=6, short_id=SHORT,
                          preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None),
                          data_steps=steps.factory, preflight=preflight, retry=RetryPolicy(sleep=lambda _s: None))


UP_OK = [{"events": [fake.prelude(), fake.summary({"create": 40})], "outputs": {"region": "australiasoutheast"}}]


def test_an_azure_rehearsal_runs_the_failover_in_an_ephemeral_stack_then_destroys_it(project, tmp_path, monkeypatch):
    steps = DataSteps(project)

    document = rehearse(project, tmp_path, monkeypatch, up=UP_OK, steps=steps)

    assert fake.lifecycle(tmp_path / "fake") == ["stack init", "up", "destroy", "stack rm"]
    assert document["outcome"] == "recovered" and steps.closed
    assert "platform.gate" not in steps.ran  # approved by the rehearsal itself: nobody to sign off
    record = document["rehearsal"]
    assert record["name"] == NAME and record["teardown"]["complete"]
    assert record["teardown"]["destroyed"] and record["teardown"]["stack_removed"]
    assert not (project / f"Pulumi.{NAME}.yaml").exists()
    # The stack file it ran with: the secondary's config, its own suffix, and the tags cleanup finds.
    original = yaml.safe_load((project / "Pulumi.secondary.yaml").read_text())["config"]
    used = steps.stack_file
    assert used["dataplatform:nameSuffix"] == SHORT != original["dataplatform:nameSuffix"]
    tags = used["dataplatform:foundation"]["tags"]
    assert tags == {"drctl-rehearsal": NAME, "drctl-expires": record["expires_at"]}
    assert seconds(record["created_at"], tags["drctl-expires"]) == 6 * 3600
    assert {k: v for k, v in used.items() if k not in ("dataplatform:nameSuffix", "dataplatform:foundation")} == \
        {k: v for k, v in original.items() if k not in ("dataplatform:nameSuffix", "dataplatform:foundation")}
    run_dir = Path(document["run_dir"])
    assert json.loads((run_dir / "rehearsal.json").read_text())["teardown"]["complete"] is True
    # run.json says it was a rehearsal, so a killed one is pointed at `drctl cleanup`, not at resume.
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["rehearsal"], run["rehearsal_target"]) == (NAME, "azure")
    gate = json.loads((run_dir / "evidence" / "platform.gate.json").read_text())
    assert gate["outputs"]["approved_by"] == "drctl rehearse (unattended)"


def test_a_failed_update_still_destroys_and_removes_the_stack(project, tmp_path, monkeypatch):
    failing = [{"events": [fake.prelude()], "exit_code": 255, "stderr": "error: the update failed (injected)"}]

    document = rehearse(project, tmp_path, monkeypatch, up=failing)

    assert document["outcome"] != "recovered"
    assert fake.lifecycle(tmp_path / "fake") == ["stack init", "up", "destroy", "stack rm"]
    assert document["rehearsal"]["teardown"]["complete"] and not (project / f"Pulumi.{NAME}.yaml").exists()
    deploys = [r for r in document["rehearsal"]["timings"]["steps"] if r["kind"] == "deploy"]
    assert deploys and all(r["state"] in ("failed", "skipped") for r in deploys)


def test_an_interruption_still_destroys_and_removes_the_stack(project, tmp_path, monkeypatch):
    def ctrl_c():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rehearse(project, tmp_path, monkeypatch, up=UP_OK, preflight=ctrl_c)

    assert fake.lifecycle(tmp_path / "fake") == ["stack init", "destroy", "stack rm"]
    assert not (project / f"Pulumi.{NAME}.yaml").exists()


def test_a_failed_destroy_keeps_the_stack_and_says_what_to_do(project, tmp_path, monkeypatch):
    refused = [{"exit_code": 255, "stderr": "error: deleting the vault failed: Conflict (injected)"}]

    document = rehearse(project, tmp_path, monkeypatch, up=UP_OK, destroy=refused)

    assert fake.lifecycle(tmp_path / "fake") == ["stack init", "up", "destroy"]  # no `stack rm` of a live stack
    teardown = document["rehearsal"]["teardown"]
    assert not teardown["complete"] and not teardown["destroyed"] and "pulumi destroy failed" in teardown["error"]
    assert teardown["next"].startswith(f"pulumi destroy --stack {NAME}")
    assert (project / f"Pulumi.{NAME}.yaml").exists()  # what a second `pulumi destroy` needs


def test_the_rehearsal_tags_reach_every_resource_group(project):
    from orchestrator.stack import capture

    marker = marker_document(NAME, 6)
    values = rehearsal_config(project, "secondary", NAME, SHORT, marker)
    (project / f"Pulumi.{NAME}.yaml").write_text(yaml.safe_dump({"config": values}))

    graph = capture(project, NAME)

    groups = [r for r in graph.resources if r["type"] == "azure-native:resources:ResourceGroup"]
    assert len(groups) == 3 and all(g["physical_name"].endswith(f"-{SHORT}") for g in groups)
    for resource in groups:
        assert graph.inputs[resource["urn"]]["tags"] == {"drctl-rehearsal": NAME, "drctl-expires": marker["expires_at"]}


def test_without_the_pulumi_cli_it_is_one_line_and_nothing_is_written(project, tmp_path):
    env = _env(PATH=str(tmp_path / "empty"))
    env.pop(PULUMI_COMMAND_ENV, None)

    result = drctl("rehearse", "--stack", "secondary", "--project-dir", str(project),
                   "--workdir", str(tmp_path / "work"), env=env)

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("drctl: the Pulumi CLI is not installed: no `pulumi` on PATH")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert sorted(p.name for p in project.glob("Pulumi.*.yaml")) == ["Pulumi.primary.yaml", "Pulumi.secondary.yaml"]
    assert not (tmp_path / "work").exists()


def test_a_primary_stack_is_refused_before_anything_is_created(project, tmp_path):
    with pytest.raises(BadInput, match="primary is a primary stack; a rehearsal fails over to a secondary stack"):
        rehearse_stack(project, "primary", workdir=tmp_path / "work", short_id=SHORT,
                       preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None),
                       data_steps=lambda *a: None)
    assert not (project / f"Pulumi.primary-{SHORT}.yaml").exists()


def test_a_rehearsal_run_is_not_resumed(tmp_path):
    from orchestrator.atomic import write_json_atomic
    from orchestrator.verbs.drill import resume_run

    run_dir = tmp_path / "runs" / "secondary" / "drill-x"
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / "run.json", {"run_id": "drill-x", "kind": "drill-local", "stack": "secondary",
                                             "rehearsal": "rehearsal-drill-x"})
    with pytest.raises(BadInput, match="rehearsal-drill-x is a rehearsal; it is not resumed"):
        resume_run(load_stack(REPO, "secondary"), run_dir, workers=1)
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json"]
