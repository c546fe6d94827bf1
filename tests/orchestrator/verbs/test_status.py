"""`drctl status` of a run whose journal has no end: a killed run (SIGKILL leaves its journal open
and its stack lease unreleased) says abandoned, why, and what next; a live one stays in progress.

The runs are real drctl processes: a run session holding a real stack lease, its engine running a
step that SIGKILLs its own process, or that sleeps while the test looks at it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator.cli.main import main
from orchestrator.run.rundir import RunDir
from orchestrator.verbs.status import status_command

RUN = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from orchestrator.model import Plan, Step, StepKind, StepOutcome
    from orchestrator.run.lease import StackLease
    from orchestrator.run.session import RunSession

    workdir, kind, mode, rehearsal = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    plan = Plan("secondary", (Step("lake.smoke", "lake", StepKind.SMOKE, (), 60),), 14400, 3600)

    def step(step, context):
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "live":
            print("running", flush=True)
            time.sleep(120)
        return StepOutcome()

    lease = StackLease(workdir, "secondary", kind)
    session = RunSession.start(workdir, "secondary", kind, lease=lease)
    print(session.run_dir, flush=True)
    run = {"run_id": session.run_dir.run_id, "kind": kind, "stack": "secondary"}
    if rehearsal != "no":
        run["rehearsal"] = f"rehearsal-{run['run_id']}"
    if rehearsal == "azure":
        run.update(rehearsal_target="azure", subscription="11111111-2222-3333-4444-555555555555")
    session.record(run, plan)
    session.run_engine(plan, step, session.open_journal(), workers=1)
    if mode == "finish":  # ended, but killed before the lease is released
        os.kill(os.getpid(), signal.SIGKILL)
""")


def start(workdir: Path, mode: str, kind: str = "drill", rehearsal: str = "no") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(workdir), kind, mode, rehearsal],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def killed_run(workdir: Path, mode: str = "kill", kind: str = "drill", rehearsal: str = "no") -> tuple[RunDir, int]:
    proc = start(workdir, mode, kind, rehearsal)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    return RunDir(Path(out.splitlines()[0])), proc.pid


def lease_file(workdir: Path) -> Path:
    return workdir / "leases" / "secondary.json"


def test_a_sigkilled_drill_is_abandoned_its_dead_holder_named_and_resume_offered(tmp_path, capsys):
    run_dir, pid = killed_run(tmp_path)
    assert lease_file(tmp_path).exists()  # SIGKILL released nothing

    document = status_command(run_dir.path)
    assert document["outcome"] is None
    liveness = document["liveness"]
    assert liveness["state"] == "abandoned"
    assert f"holder pid {pid} not running" in liveness["reason"]
    assert liveness["next"] == [f"drctl resume {run_dir.run_id} --workdir {tmp_path.resolve()}"]

    main(["status", str(run_dir), "--json"])
    assert json.loads(capsys.readouterr().out)["liveness"]["state"] == "abandoned"
    main(["status", str(run_dir)])
    text = capsys.readouterr().out
    assert f"run {run_dir.run_id}: abandoned" in text
    assert f"holder pid {pid} not running" in text and f"next: drctl resume {run_dir.run_id}" in text


def test_a_sigkilled_rehearsal_points_to_cleanup_not_resume(tmp_path):
    run_dir, _ = killed_run(tmp_path, rehearsal="local")
    liveness = status_command(run_dir.path)["liveness"]
    assert liveness["state"] == "abandoned"
    assert liveness["next"] == [f"drctl cleanup --local --workdir {tmp_path.resolve()}"]


def test_a_sigkilled_azure_rehearsal_points_to_the_cleanup_of_its_subscription(tmp_path):
    run_dir, _ = killed_run(tmp_path, kind="failover", rehearsal="azure")
    liveness = status_command(run_dir.path)["liveness"]
    assert liveness["state"] == "abandoned"
    assert liveness["next"] == ["drctl cleanup --subscription 11111111-2222-3333-4444-555555555555"]


def test_a_lease_from_another_host_is_abandoned_once_expired_and_in_progress_before(tmp_path):
    run_dir, _ = killed_run(tmp_path, kind="failover")
    lease = json.loads(lease_file(tmp_path).read_text())

    lease_file(tmp_path).write_text(json.dumps({**lease, "host": "another-host", "expires_at": "2020-01-01T00:00:00.000Z"}))
    liveness = status_command(run_dir.path)["liveness"]
    assert liveness["state"] == "abandoned"
    assert "lease expired at 2020-01-01T00:00:00.000Z" in liveness["reason"]
    assert liveness["next"] == [f"drctl resume {run_dir.run_id} --workdir {tmp_path.resolve()}"]

    lease_file(tmp_path).write_text(json.dumps({**lease, "host": "another-host", "expires_at": "2999-01-01T00:00:00.000Z"}))
    assert status_command(run_dir.path)["liveness"]["state"] == "in progress"


def test_a_released_lease_leaves_the_dead_holder_to_tell(tmp_path):
    run_dir, pid = killed_run(tmp_path)
    lease_file(tmp_path).unlink()  # as if released, or taken over by another run since
    liveness = status_command(run_dir.path)["liveness"]
    assert liveness["state"] == "abandoned"
    assert f"holder pid {pid} not running" in liveness["reason"]


def test_a_live_run_stays_in_progress_until_its_process_is_killed(tmp_path, capsys):
    proc = start(tmp_path, "live")
    try:
        assert proc.stdout is not None
        run_dir = RunDir(Path(proc.stdout.readline().strip()))
        assert proc.stdout.readline().strip() == "running", proc.stderr.read() if proc.stderr else ""
        document = status_command(run_dir.path)
        assert document["liveness"]["state"] == "in progress"
        assert document["liveness"]["next"] == []
        main(["status", str(run_dir)])
        assert f"run {run_dir.run_id}: in progress" in capsys.readouterr().out
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert status_command(run_dir.path)["liveness"]["state"] == "abandoned"


@pytest.mark.parametrize("kind", ["drill", "failover"])
def test_a_finished_run_keeps_its_outcome_even_when_its_lease_was_never_released(tmp_path, capsys, kind):
    # Guards the fix from overreaching: an ended run's journal is the answer, whatever its lease says.
    run_dir, _ = killed_run(tmp_path, mode="finish", kind=kind)
    assert lease_file(tmp_path).exists()
    document = status_command(run_dir.path)
    assert document["outcome"] == "recovered" and "liveness" not in document
    main(["status", str(run_dir)])
    text = capsys.readouterr().out
    assert f"run {run_dir.run_id}: recovered" in text and "abandoned" not in text
