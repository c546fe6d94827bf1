"""The run session: the one sequence every verb that runs a plan follows, checked step by step
(lease, directory, announcement, records, state container, journal, engine under SIGTERM, report)."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.journal import Journal
from orchestrator.model import Plan, Step, StepKind, StepOutcome
from orchestrator.plan.recovery import plan_to_json
from orchestrator.run.lease import LeaseHeld, StackLease
from orchestrator.run.rundir import RunDir
from orchestrator.run.session import RunSession

PLAN = Plan("secondary", (
    Step("lake.smoke", "lake", StepKind.SMOKE, (), 60),
    Step("platform.handover", "platform", StepKind.HANDOVER, ("lake.smoke",), 300),
), 14400, 3600)


def runner(step: Step, context: Any) -> StepOutcome:
    if step.kind == StepKind.HANDOVER:
        return StepOutcome(outputs={"handover_at": datetime.now(UTC).isoformat()})
    return StepOutcome()


class StateStore:
    """What a session asks of the state container (orchestrator/run/remote/store.py), noted."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.lines: list[bytes] = []

    def start_run(self, run_dir: Path, run: dict[str, Any]) -> None:
        # The container's copy starts from the run's records: they must be on disk by now.
        self.calls.append(("start_run", sorted(p.name for p in Path(run_dir).iterdir())))

    def journal_mirror(self, line: bytes) -> None:
        self.lines.append(line)

    def close(self) -> None:
        self.calls.append(("close", None))


def run_record(session: RunSession) -> dict[str, Any]:
    return {"run_id": session.run_dir.run_id, "kind": "drill-local", "stack": "secondary",
            "targets": {"rto_s": PLAN.rto_target_s, "rpo_s": PLAN.rpo_target_s}}


def test_a_new_run_is_announced_first_with_the_lease_bound_to_it(tmp_path, capsys):
    with StackLease(tmp_path, "secondary", "drill", say=lambda line: None) as lease:
        session = RunSession.start(tmp_path, "secondary", "drill", lease=lease)
        holder = json.loads((tmp_path / "leases" / "secondary.json").read_text())
    run_dir = session.run_dir
    assert capsys.readouterr().err.splitlines()[0] == f"run: {run_dir}"
    assert run_dir.path.parent == (tmp_path / "runs" / "secondary").resolve() and run_dir.run_id.startswith("drill-")
    assert holder["run_id"] == run_dir.run_id and holder["kind"] == "drill"
    assert json.loads(run_dir.lease_json.read_text())["acquisitions"][0]["run_id"] == run_dir.run_id


def test_a_stack_in_use_is_refused_before_anything_is_created(tmp_path, capsys):
    with StackLease(tmp_path, "secondary", "failover") as holder:
        holder.acquire()  # another live run of the stack
        with pytest.raises(LeaseHeld, match="stack secondary is in use"):
            RunSession.start(tmp_path, "secondary", "drill", lease=StackLease(tmp_path, "secondary", "drill"))
    assert not (tmp_path / "runs").exists() and capsys.readouterr().err == ""


def test_a_lease_taken_earlier_is_only_bound(tmp_path):
    with StackLease(tmp_path, "secondary", "failover", say=lambda line: None) as lease:
        lease.acquire()  # a failover refuses a busy stack before its preflight
        token = lease.lease.holder["token"]
        session = RunSession.start(tmp_path, "secondary", "failover", lease=lease)
        assert lease.lease.holder["token"] == token and lease.lease.holder["run_id"] == session.run_dir.run_id


def test_the_records_come_before_the_state_containers_copy_which_the_session_ends(tmp_path):
    state = StateStore()
    with RunSession.start(tmp_path, "secondary", "failover", state=state) as session:
        session.record(run_record(session), PLAN, preflight={"blocked": False})
        assert state.calls == [("start_run", ["evidence", "manifests", "plan.json", "preflight.json", "run.json"])]
        assert json.loads(session.run_dir.plan_json.read_text()) == plan_to_json(PLAN)
        assert session.run_dir.read_run() == session.run
    assert state.calls[-1] == ("close", None)


def test_a_state_container_the_session_did_not_start_is_left_to_its_owner(tmp_path):
    state = StateStore()
    with RunSession.start(tmp_path, "secondary", "drill", state=state):
        pass  # nothing recorded: the copy never started (a resumed run's container is the CLI's)
    assert state.calls == []


def test_the_plan_runs_through_a_redacted_mirrored_journal_and_ends_in_the_report(tmp_path):
    state = StateStore()
    with RunSession.start(tmp_path, "secondary", "drill", state=state) as session:
        session.record(run_record(session), PLAN)
        journal = session.open_journal()
        try:
            result = session.run_engine(PLAN, runner, journal, workers=2, on_event=lambda event: None)
        finally:
            journal.close()
        summary = session.finish(PLAN, {}, result, disaster_at=datetime.now(UTC).isoformat())
    written = session.run_dir.journal.read_bytes()
    assert summary["outcome"] == "recovered" and summary["run_dir"] == str(session.run_dir)
    assert b"".join(state.lines) == written  # every line went to the container, in order
    assert session.run_dir.report_md.is_file() and session.run_dir.sha256sums.is_file()


def test_sigterm_during_the_engine_is_ctrl_c_and_settle_still_runs(tmp_path):
    session = RunSession.start(tmp_path, "secondary", "failover")
    session.record(run_record(session), PLAN)
    settled = []

    def killed(step: Step, context: Any) -> StepOutcome:
        os.kill(os.getpid(), signal.SIGTERM)  # a CI job cancelled, a container stopped
        return StepOutcome()

    before = signal.getsignal(signal.SIGTERM)
    journal = session.open_journal()
    try:
        with pytest.raises(KeyboardInterrupt):
            session.run_engine(PLAN, killed, journal, workers=1, on_event=lambda event: None,
                               settle=lambda: settled.append(True))
    finally:
        journal.close()
    assert settled == [True] and signal.getsignal(signal.SIGTERM) == before
    assert Journal.open(session.run_dir).state.outcome == "interrupted"


def test_a_resumed_run_takes_the_lease_for_its_own_id_and_announces_its_directory(tmp_path, capsys):
    run_dir = RunDir.create(tmp_path, "secondary", "drill")
    run = {"run_id": run_dir.run_id, "kind": "drill-local", "stack": "secondary"}
    with StackLease(tmp_path, "secondary", "resume", say=lambda line: None) as lease:
        session = RunSession.resume(run_dir, run, lease=lease)
        holder = json.loads((tmp_path / "leases" / "secondary.json").read_text())
    assert capsys.readouterr().err.splitlines()[0] == f"run: {run_dir}"
    assert session.run is run and holder["run_id"] == run_dir.run_id and holder["kind"] == "resume"
