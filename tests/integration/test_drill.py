"""`drctl drill --local` end to end, as a user runs it: a separate process against real emulators.

Three drills: one straight through; one killed with SIGKILL mid-failover and resumed with
`drctl resume`; one interrupted with SIGINT (Ctrl-C). The kill and the interrupt land at a known
point through the DRCTL_TEST_PAUSE_AFTER hook of orchestrator/verbs/drill.py, which blocks the drill
once the named step's success is journaled and says "paused after <step>" on stderr.

Workdirs come from tempfile.mkdtemp, not pytest's tmp_path: every pytest session resets
/tmp/pytest-of-<user> to 0700, which would cut the unprivileged postgres user off its data.
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

from reliability.leftovers import cleanup_case, describe, processes_of

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
PAUSE_ENV = "DRCTL_TEST_PAUSE_AFTER"
SUMMARY_KEYS = {"outcome", "rto_s", "rpo_s_before_replay", "rpo_s_after_replay", "components", "run_dir"}
COMPONENT_KEYS = {"name", "stateful", "exercised", "smoke", "validation"}
EXERCISED = {"lake", "postgres"}  # the stores with a local emulator
RUN_LOCALLY = {"data_factory"}  # the repository's pipelines, by the local pipeline runner
RUN_TIMEOUT_S = 240
PAUSE_STEP = "lake.rehydrate"


def _env(pause_after: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
    env["NO_COLOR"] = "1"
    if pause_after:
        env[PAUSE_ENV] = pause_after
    return env


def _default_sigint() -> None:
    # A child inherits an ignored SIGINT (e.g. pytest started as a background job); Python only
    # turns SIGINT into KeyboardInterrupt when it is not ignored at startup.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def alive(pid: int | None) -> bool:
    if pid is None:  # psutil.Process(None) is this very process
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="drctl-it-")).resolve()
    yield path
    cleanup_case(path)  # whatever a failed test left behind in this workdir (and only there) goes too


def run_drctl(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)


class PausedDrill:
    """A drill started in the background that is paused after PAUSE_STEP (stderr in a file)."""

    def __init__(self, workdir: Path) -> None:
        self.stdout_path, self.stderr_path = workdir / "drctl.stdout", workdir / "drctl.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*DRCTL, "drill", "--local", "--json", "--workdir", str(workdir)], cwd=REPO,
                env=_env(PAUSE_STEP), stdout=out, stderr=err, preexec_fn=_default_sigint)
        self._wait_for_pause()
        self.run_dir = Path(self.stderr().splitlines()[0].removeprefix("run: "))

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _wait_for_pause(self, timeout_s: float = 150) -> None:
        deadline = time.monotonic() + timeout_s
        while f"paused after {PAUSE_STEP}" not in self.stderr():
            if self.proc.poll() is not None:
                pytest.fail(f"the drill ended ({self.proc.returncode}) before pausing:\n{self.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"the drill did not pause within {timeout_s}s:\n{self.stderr()[-3000:]}")
            time.sleep(0.1)

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]


def succeeded(events: list[dict]) -> dict[str, dict]:
    return {e["step"]: e for e in events if e["event"] == "step_succeeded"}


def check_recovered_summary(summary: dict, workdir: Path) -> dict[str, dict]:
    assert set(summary) >= SUMMARY_KEYS, set(summary)
    assert summary["outcome"] == "recovered"
    assert Path(summary["run_dir"]).is_relative_to(workdir)
    assert summary["rpo_s_after_replay"] == 0
    assert summary["rpo_s_before_replay"] > 0  # a non-zero delta had to be replayed
    assert summary["rto_s"] is not None and summary["rto_s"] > 0
    components = {c["name"]: c for c in summary["components"]}
    assert len(components) == len(summary["components"])
    for component in summary["components"]:
        assert set(component) >= COMPONENT_KEYS, component
    assert set(components) >= EXERCISED
    for name in EXERCISED:
        assert components[name]["stateful"] is True, components[name]
        assert components[name]["exercised"] is True, components[name]
        assert components[name]["smoke"] == "passed", components[name]
        assert components[name]["validation"] == "exact", components[name]
    for name in RUN_LOCALLY:
        assert components[name]["exercised"] is True and components[name]["status"] == "recovered", components[name]
    others = [c for name, c in components.items() if name not in EXERCISED | RUN_LOCALLY]
    assert others, "the plan declares components without a local emulator; they must be reported"
    for component in others:
        assert component["exercised"] is False, component
        assert component["smoke"] != "passed" and component["validation"] != "exact", component
    return components


def check_journal_recovered(run_dir: Path) -> list[dict]:
    events = journal(run_dir)
    assert events[-1]["event"] == "run_finished" and events[-1]["outcome"] == "recovered"
    plan_ids = {s["id"] for s in json.loads((run_dir / "plan.json").read_text())["steps"]}
    done = succeeded(events)
    assert set(done) == plan_ids
    for store in EXERCISED:
        assert done[f"{store}.validate"]["evidence"]["exact"] is True
        replayed = done[f"{store}.replay"]["outputs"]
        if store == "lake":
            assert replayed["batches_replayed"] > 0, replayed  # the post-backup delta came back by replay
        # PostgreSQL's WAL archive may already hold the delta (archive_timeout is a second of wall
        # clock): it replays what its restored point lacked, and nothing when it lacked nothing
        recovered = done[f"{store}.rehydrate"]["outputs"]["watermark"]
        assert replayed["batches_replayed"] == done[f"{store}.replay"]["evidence"]["watermark"] - recovered, replayed
        assert (replayed["rpo_before_replay_s"] > 0) == (replayed["batches_replayed"] > 0), replayed
        assert replayed["rpo_after_replay_s"] == 0
        assert done[f"{store}.replay"]["exercised"] is True
    # The lake's delta came back through the repository's ingestion pipeline, run by the local pipeline
    # runner over the window after the recovered watermark, and held to that window.
    lake = done["lake.replay"]["evidence"]
    assert lake["runner"] == "local pipeline runner" and lake["pipeline"] == "ingest_events"
    assert lake["run"]["status"] == "Succeeded" and lake["window_check"]["exact"] is True
    assert lake["run"]["parameters"] == {"windowStart": lake["window"]["start"], "windowEnd": lake["window"]["end"]}
    deployed = done["data_factory.deploy"]["evidence"]
    assert deployed["runner"] == "local pipeline runner"
    assert set(deployed["graph"]["pipelines"]) == {"ingest_events", "smoke"} and all(deployed["graph"]["pipelines"].values())
    return events


# -- a drill straight through --------------------------------------------------------------------


def test_a_local_drill_recovers_hands_over_and_leaves_nothing_running(workdir):
    # --keep-data: the emulators' data (and their account keys) stay for the secrets check below.
    result = run_drctl("drill", "--local", "--json", "--keep-data", "--workdir", str(workdir))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)  # stdout is exactly one JSON document
    run_dir = Path(summary["run_dir"])
    assert result.stderr.splitlines()[0] == f"run: {run_dir}"

    components = check_recovered_summary(summary, workdir)
    for name in ("report.md", "report.json", "journal.jsonl", "plan.json", "run.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "manifests").glob("*.json")), "no backup manifests"
    # The run directory and its evidence are the operator's alone: folders 0700, files 0600.
    assert run_dir.stat().st_mode & 0o777 == 0o700
    assert [p for p in run_dir.rglob("*") if p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600)] == []

    events = check_journal_recovered(run_dir)
    replays = [succeeded(events)[f"{s}.replay"]["outputs"] for s in EXERCISED]
    assert summary["rpo_s_before_replay"] == max(r["rpo_before_replay_s"] for r in replays)
    assert [e["event"] for e in events].count("run_started") == 1

    report = json.loads((run_dir / "report.json").read_text())
    assert report["outcome"] == "recovered" and report["handover"]["complete"] is True
    assert report["rpo_s_after_replay"] == 0 and report["rpo_s_before_replay"] == summary["rpo_s_before_replay"]
    assert {c["name"]: c["validation"] for c in report["components"]} == {
        n: c["validation"] for n, c in components.items()}
    markdown = (run_dir / "report.md").read_text()
    assert "recovered" in markdown and "declared, not exercised locally" in markdown
    # PostgreSQL restored physically: the report says to which WAL position, batch and data time, and the lag
    restored = succeeded(events)["postgres.rehydrate"]["outputs"]
    assert restored["recovery_target"] == "end of the WAL archive" and restored["restored_lsn"]
    newest = json.loads((run_dir / "prelude.json").read_text())["backup"]["postgres"]["watermark"]
    assert restored["restored_batch"] == restored["watermark"] >= newest  # at least the newest base backup's batch
    assert 0 <= restored["archive_lag_s"] <= 60
    assert (f"end of the WAL archive; reached LSN {restored['restored_lsn']}: batch {restored['restored_batch']}"
            in markdown) and f"archive lag {restored['archive_lag_s']} s" in markdown

    # The secondary region was deployed from code after the disaster: its deploy steps started its
    # servers then, and the measured RTO, from the disaster to the handover, covers them.
    disaster, handover = (datetime.fromisoformat(report[k]) for k in ("disaster_at", "handover_at"))
    steps = {s["id"]: s for s in report["steps"]}
    for deploy in ("lake.deploy", "postgres.deploy"):
        started, finished = (datetime.fromisoformat(steps[deploy][k]) for k in ("started_at", "finished_at"))
        assert disaster <= started < finished <= handover, deploy
        evidence = succeeded(events)[deploy]["evidence"]
        assert evidence["server"]["state"] == "created" and evidence["server"]["start_s"] > 0
        assert datetime.fromisoformat(evidence["server"]["started_at"]) >= disaster
        assert evidence["created"] and all(set(c["graph"]) & {"urn", "output"} for c in evidence["created"])
        assert evidence["not_created"] and all(c["why"] for c in evidence["not_created"])
    window = summary["rto_window"]
    assert window["deploy_inside"] is True and window["seconds"] == summary["rto_s"] == report["rto_s"]
    assert summary["rto_s"] >= max(s["finished_after_disaster_s"] for s in window["deploy_steps"])
    assert "the deploy steps are inside it: " in markdown
    assert {p.stem for p in (run_dir / "evidence").glob("*.json")} == set(succeeded(events))

    # One truth: a component is recovered only when exercised, in the summary, the report and status.
    statuses = {c["name"]: c["status"] for c in summary["components"]}
    assert all((status == "recovered") == c["exercised"] for status, c in zip(statuses.values(), summary["components"],
                                                                                 strict=True))
    assert {n for n, status in statuses.items() if status == "recovered"} == EXERCISED | RUN_LOCALLY
    assert set(statuses.values()) == {"recovered", "not_exercised"}
    exercised = len(EXERCISED | RUN_LOCALLY)
    declared = len(statuses) - exercised
    assert (summary["components_exercised"], summary["components_declared"]) == (exercised, declared)
    assert summary["outcome_line"] == f"recovered: {exercised} of {len(statuses)} components exercised, {declared} declared only"
    assert {c["name"]: c["status"] for c in report["components"]} == statuses
    status = json.loads(run_drctl("status", str(run_dir), "--json").stdout)
    assert {c["name"]: c["status"] for c in status["components"]} == statuses
    assert status["outcome_line"] == summary["outcome_line"]

    # The emulators' account keys sign every server-side copy; they must appear nowhere a run writes.
    local_dir = Path(json.loads((run_dir / "run.json").read_text())["local_dir"])
    keys = json.loads((local_dir / "account-keys.json").read_text()).values()
    written = [result.stdout, result.stderr] + [p.read_text() for p in run_dir.rglob("*") if p.is_file()]
    assert keys and not [k for k in keys for text in written if k in text]

    assert describe(processes_of(workdir)) == []


# -- killed mid-failover, then resumed --------------------------------------------------------------


def _emulator_pids(run_dir: Path, timeout_s: float = 60) -> dict[str, int]:
    """The secondary servers' pids. PostgreSQL's rehydrate step, which may still run while the drill is
    paused, stops the deploy step's server and starts it again on the restored base backup: between
    the two its state file names no pid, so this waits for one."""
    local_dir = Path(json.loads((run_dir / "run.json").read_text())["local_dir"])
    deadline = time.monotonic() + timeout_s
    while True:
        pids = {service: json.loads((local_dir / "secondary" / service / "service.json").read_text())["pid"]
                for service in ("azurite", "postgres")}
        if all(pids.values()) or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def test_a_drill_killed_mid_failover_resumes_without_redoing_finished_steps(workdir):
    drill = PausedDrill(workdir)
    try:
        before = journal(drill.run_dir)
        assert PAUSE_STEP in succeeded(before)
        assert not any(e["event"] in ("run_finished", "run_interrupted") for e in before)
        emulators = _emulator_pids(drill.run_dir)
        assert all(alive(pid) for pid in emulators.values()), emulators
        drill.proc.send_signal(signal.SIGKILL)  # drctl only: its emulators live in their own sessions
        assert drill.proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        drill.ensure_dead()
    before = journal(drill.run_dir)  # everything journaled up to the kill
    done_before = set(succeeded(before))
    unfinished = {e["step"] for e in before if e["event"] == "step_started"} - done_before
    assert unfinished, "the kill should leave at least one step started but not finished"
    orphans = [pid for pid in emulators.values() if alive(pid)]
    assert orphans, "the emulators should have outlived the killed drctl"

    result = run_drctl("resume", str(drill.run_dir), "--json")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == f"run: {drill.run_dir}"
    summary = json.loads(result.stdout)
    assert Path(summary["run_dir"]) == drill.run_dir
    check_recovered_summary(summary, workdir)

    events = check_journal_recovered(drill.run_dir)
    assert events[: len(before)] == before, "resume rewrote history"
    after = events[len(before):]
    assert after[0]["event"] == "run_resumed"
    restarted = {e["step"] for e in after if e["event"] == "step_started"}
    assert not restarted & done_before, f"steps that had succeeded ran again: {sorted(restarted & done_before)}"
    assert unfinished <= restarted  # what the kill cut short ran again
    plan_ids = {s["id"] for s in json.loads((drill.run_dir / "plan.json").read_text())["steps"]}
    assert set(succeeded(after)) == plan_ids - done_before

    survivors = [(pid, psutil.Process(pid).cmdline()[:3]) for pid in orphans if alive(pid)]
    assert not survivors, f"orphaned emulators survived the resume: {survivors}"
    assert describe(processes_of(workdir)) == []
    local_dir = Path(json.loads((drill.run_dir / "run.json").read_text())["local_dir"])
    assert not local_dir.exists(), "a recovered run removes its emulators' data (no --keep-data)"

    status = run_drctl("status", str(drill.run_dir), "--json")
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["outcome"] == "recovered" and document["runs"] == 2


# -- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_stops_the_drill_promptly_and_every_emulator_with_it(workdir):
    drill = PausedDrill(workdir)
    try:
        emulators = _emulator_pids(drill.run_dir)
        assert all(alive(pid) for pid in emulators.values()), emulators
        drill.proc.send_signal(signal.SIGINT)
        code = drill.proc.wait(timeout=30)  # promptly: running steps finish, nothing new starts
    finally:
        drill.ensure_dead()
    stderr = drill.stderr()
    assert code != 0, stderr[-3000:]
    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == "drctl: interrupted"
    assert drill.stdout_path.read_text() == ""  # no summary claimed for an interrupted run
    events = journal(drill.run_dir)
    assert events[-1]["event"] == "run_interrupted"
    assert not any(e["event"] == "run_finished" for e in events)
    assert not any(alive(pid) for pid in emulators.values())
    assert describe(processes_of(workdir)) == []


# -- a store that fails validation: partial recovery, handover blocked --------------------------------


def test_a_store_failing_validation_ends_partial_with_handover_blocked(workdir):
    drill = PausedDrill(workdir)
    try:
        drill.proc.send_signal(signal.SIGKILL)
        drill.proc.wait(timeout=30)
    finally:
        drill.ensure_dead()
    # The lake's backup manifest now disagrees with what was rehydrated: one blob "missing".
    manifest_path = drill.run_dir / "manifests" / "lake.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["containers"]["raw"]["blobs"] += 1
    manifest_path.write_text(json.dumps(manifest))

    result = run_drctl("resume", str(drill.run_dir), "--json")
    assert result.returncode == 1, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "partial"
    components = {c["name"]: c for c in summary["components"]}
    assert components["lake"]["validation"] == "mismatch"
    assert components["postgres"]["validation"] == "exact" and components["postgres"]["smoke"] == "passed"

    report = json.loads((drill.run_dir / "report.json").read_text())
    steps = {s["id"]: s for s in report["steps"]}
    assert steps["lake.validate"]["state"] == "failed" and "raw: blobs expected" in steps["lake.validate"]["error"]
    for dependent in ("lake.replay", "lake.smoke", "platform.gate", "platform.handover"):
        assert steps[dependent]["state"] == "skipped", dependent
    assert steps["postgres.smoke"]["state"] == "succeeded"  # the independent branch completed
    assert report["handover"]["complete"] is False and "platform.handover" in report["handover"]["blocked_by"]
    assert report["rto_s"] is None  # no handover, so no recovery time to claim
    assert "blocked by" in (drill.run_dir / "report.md").read_text()
    local_dir = Path(json.loads((drill.run_dir / "run.json").read_text())["local_dir"])
    assert (local_dir / "backup").is_dir(), "a run that did not recover keeps its data for investigation"
    assert describe(processes_of(workdir)) == []


# -- a lake zone recreated from source instead of copied ------------------------------------------------


def test_a_zone_recreated_from_source_is_reprocessed_and_validated_exactly(workdir):
    import yaml

    project = workdir / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(REPO / name, project / name)
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    path = project / "Pulumi.secondary.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["dataplatform:lake"]["zones"] = {"enriched": {"recovery": "recreate"}}
    path.write_text(yaml.safe_dump(document))

    result = run_drctl("drill", "--local", "--json", "--workdir", str(workdir / "wd"), "--project-dir", str(project))
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "recovered" and summary["rpo_s_after_replay"] == 0
    done = succeeded(journal(Path(summary["run_dir"])))
    copied = done["lake.rehydrate"]["evidence"]
    assert copied["zones_copied"] == ["raw", "curated", "presentation"] and copied["zones_recreated"] == ["enriched"]
    assert "enriched" not in copied["containers"]  # nothing of it was copied
    rebuilt = done["lake.reprocess-enriched"]
    assert rebuilt["evidence"]["exact"] is True and rebuilt["outputs"]["batches_reprocessed"] > 0
    assert done["lake.validate"]["evidence"]["exact"] is True
