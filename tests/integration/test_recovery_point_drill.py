"""Acceptance (issue 17): a drill with --recovery-point between two backup generations restores the
older one, and its report (report.md, report.json, report.html), the evidence and `drctl status`
all say which generation and which point.

The point is computed from the prelude's constants, not written out: generation gN holds the
batches before GENERATIONS_AT_BATCHES[N-1], so its point (its data_end) is T0 plus that many
batch intervals on the drill's data clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.data.recovery_point import as_text
from orchestrator.data.source import T0
from orchestrator.targets.local.prelude import BATCH_INTERVAL_S, BATCHES_AFTER_BACKUP, GENERATIONS_AT_BATCHES
from reliability.leftovers import cleanup_case

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
RUN_TIMEOUT_S = 300


def generation_point(number: int) -> str:
    """gNNN's point on the drill's data clock: the end of the newest batch it holds."""
    return as_text(T0 + timedelta(seconds=GENERATIONS_AT_BATCHES[number - 1] * BATCH_INTERVAL_S))


def _env(**more: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "DRCTL_TEST_PAUSE_AFTER"}, "NO_COLOR": "1", **more}


def run_drctl(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)


def _between_the_two_newest() -> str:
    return as_text(T0 + timedelta(seconds=(GENERATIONS_AT_BATCHES[-2] + GENERATIONS_AT_BATCHES[-1])
                                  * BATCH_INTERVAL_S / 2))


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="drctl-rp-")).resolve()  # not tmp_path: see tests/integration/test_drill.py
    yield path
    cleanup_case(path)


def test_a_point_between_two_generations_restores_the_older_and_every_output_says_so(workdir):
    newest = len(GENERATIONS_AT_BATCHES)
    assert newest >= 2, "the prelude must take two generations for a point between them"
    older, newer = generation_point(newest - 1), generation_point(newest)
    point = _between_the_two_newest()
    older_id = f"g{newest - 1:03d}"

    result = run_drctl("drill", "--local", "--json", "--workdir", str(workdir), "--recovery-point", point)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout)
    run_dir = Path(summary["run_dir"])
    # the progress output names the point asked for and each generation's own point, to choose from
    assert f"recovery point {point}" in result.stderr
    assert f"g{newest:03d} taken: its point (data through) is {newer}" in result.stderr
    assert f"{older_id} taken: its point (data through) is {older}" in result.stderr
    assert json.loads((run_dir / "run.json").read_text())["recovery_point"] == point  # what resume reads

    report = json.loads((run_dir / "report.json").read_text())
    assert report["outcome"] == "recovered" and report["recovery_point"] == point
    lake = next(c for c in report["components"] if c["name"] == "lake")
    assert (lake["backup_generation"], lake["backup_point"], lake["recovery_point"]) == (older_id, older, point)
    assert lake["backup_generations_skipped"] == 0  # left out by the point, not found bad

    # the RPO before replay is measured from the older generation's data; replay brings it up to date
    lake_replay = json.loads((run_dir / "evidence" / "lake.replay.json").read_text())["outputs"]
    behind = GENERATIONS_AT_BATCHES[-1] + BATCHES_AFTER_BACKUP - GENERATIONS_AT_BATCHES[-2]
    assert lake_replay["rpo_before_replay_s"] == behind * BATCH_INTERVAL_S
    assert lake_replay["rpo_after_replay_s"] == 0 and report["rpo_s_after_replay"] == 0

    evidence = json.loads((run_dir / "evidence" / "lake.rehydrate.json").read_text())["evidence"]
    assert (evidence["backup_generation"], evidence["backup_point"]) == (older_id, older)
    assert evidence["backup_generations_after_point"] == [f"g{newest:03d}"]
    # validation compared the restored lake against the older generation's manifest, not the newest's
    validation = json.loads((run_dir / "evidence" / "lake.validate.json").read_text())
    assert validation["state"] == "succeeded"
    assert validation["evidence"]["compared_against"] == {
        "manifest": f"generations/{older_id}/lake.json", "backup_generation": older_id, "backup_point": older,
        "recovery_point": point}
    manifest = json.loads((run_dir / "manifests" / "generations" / older_id / "lake.json").read_text())
    assert manifest["generation"] == older_id and manifest["data_end"] == older

    markdown = (run_dir / "report.md").read_text()
    assert f"Recovery point asked for (`--recovery-point`): {point}" in markdown
    assert f"generation {older_id}, its point (data through) {older}, the newest at or before the recovery point " \
           f"{point}" in markdown
    assert "RPO before replay is measured from the restored point's data (" in markdown
    assert point in (run_dir / "report.html").read_text()

    status = run_drctl("status", str(run_dir), "--json", timeout=60)
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["recovery_point"] == point
    assert {"step": "lake.rehydrate", "backup_generation": older_id, "backup_point": older} in document["restored"]


@pytest.mark.parametrize(("value", "says"), [
    ("2026-01-01T01:15:00", "has no timezone"),
    ("2999-01-01T00:00:00Z", "is in the future"),
    ("soon", "is not an ISO 8601 time"),
])
def test_a_bad_recovery_point_is_one_line_exit_2_and_nothing_made(workdir, value, says):
    for verb in (("drill", "--local"), ("failover", "--dry-run")):
        result = run_drctl(*verb, "--workdir", str(workdir), "--recovery-point", value, timeout=60)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "--recovery-point" in result.stderr and says in result.stderr
        assert result.stdout == "" and list(workdir.iterdir()) == []


def test_a_point_before_every_generation_fails_the_rehydrate_step_naming_the_oldest(workdir):
    point = as_text(T0 + timedelta(seconds=BATCH_INTERVAL_S))  # one batch in: no generation holds so little
    result = run_drctl("drill", "--local", "--json", "--workdir", str(workdir), "--recovery-point", point)
    assert result.returncode == 1, result.stderr[-4000:]
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    failed = json.loads((run_dir / "evidence" / "lake.rehydrate.json").read_text())
    assert failed["state"] == "failed" and failed["attempts"] == 1  # permanent: not retried
    assert f"no lake backup generation at or before the recovery point {point}: the oldest, g001, holds data " \
           f"through {generation_point(1)}" in json.dumps(failed["error"])
    assert json.loads((run_dir / "report.json").read_text())["outcome"] != "recovered"


def test_a_drill_killed_before_its_lake_is_rehydrated_resumes_to_the_same_point(workdir):
    point, older_id = _between_the_two_newest(), f"g{len(GENERATIONS_AT_BATCHES) - 1:03d}"
    stderr_path = workdir / "drctl.stderr"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([*DRCTL, "drill", "--local", "--json", "--workdir", str(workdir), "--recovery-point",
                                 point], cwd=REPO, env=_env(DRCTL_TEST_PAUSE_AFTER="lake.deploy"),
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 200
        while "paused after lake.deploy" not in stderr_path.read_text(errors="replace"):
            assert proc.poll() is None, stderr_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the drill did not pause"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run_dir = Path(stderr_path.read_text().splitlines()[0].removeprefix("run: "))
    journaled = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]
    assert not [e for e in journaled if e.get("step") == "lake.rehydrate" and e["event"] == "step_succeeded"], \
        "the kill must land before rehydration is done: the resumed run rehydrates the lake"

    result = run_drctl("resume", str(run_dir), "--json")  # no --recovery-point: run.json has it
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"recovery point {point}" in result.stderr
    lake = next(c for c in json.loads((run_dir / "report.json").read_text())["components"] if c["name"] == "lake")
    assert (lake["backup_generation"], lake["recovery_point"]) == (older_id, point)
