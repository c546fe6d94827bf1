"""The run journal: durable before the transition, replayable, torn tail tolerated, damage refused."""

from __future__ import annotations

import json
import os

import pytest

from orchestrator.engine.journal import Journal, JournalCorrupt, status
from orchestrator.engine.journal_state import Event
from orchestrator.model import StepState
from orchestrator.run.rundir import RunDir

PLAN = {"stack": "dev", "steps": [{"id": "a.deploy", "depends_on": [], "kind": "deploy"},
                                  {"id": "a.smoke", "depends_on": ["a.deploy"], "kind": "smoke"},
                                  {"id": "b.deploy", "depends_on": [], "kind": "deploy"}]}


def write_run(run_dir) -> Journal:
    journal = Journal.open(run_dir, now=lambda: 1_700_000_000.0)
    journal.append(Event.RUN_STARTED, plan=PLAN)
    journal.append(Event.STEP_STARTED, step="a.deploy", attempt=1)
    journal.append(Event.STEP_FAILED, step="a.deploy", attempt=1, error="TransientError: 429", retriable=True, final=False)
    journal.append(Event.STEP_RETRYING, step="a.deploy", attempt=2, delay_s=2.0, error="TransientError: 429")
    journal.append(Event.STEP_STARTED, step="a.deploy", attempt=2)
    journal.append(Event.STEP_SUCCEEDED, step="a.deploy", outputs={"endpoint": "https://a"},
                   evidence={"resources": 3}, exercised=True, duration_s=12.5)
    journal.append(Event.STEP_STARTED, step="b.deploy", attempt=1)
    journal.append(Event.STEP_FAILED, step="b.deploy", attempt=1, error="PermanentError: quota", retriable=False,
                   final=True, duration_s=1.0)
    journal.append(Event.STEP_STARTED, step="a.smoke", attempt=1)
    journal.close()
    return journal


def lines(run_dir) -> list[str]:
    return (run_dir / RunDir.JOURNAL).read_text().splitlines()


def test_every_event_is_one_json_line_with_seq_ts_and_event(tmp_path):
    write_run(tmp_path)
    records = [json.loads(line) for line in lines(tmp_path)]
    assert [r["seq"] for r in records] == list(range(1, 10))
    assert all({"seq", "ts", "event"} <= set(r) for r in records)
    assert records[0]["ts"] == "2023-11-14T22:13:20.000+00:00"


def test_each_append_is_fsynced_before_the_state_changes(tmp_path, monkeypatch):
    journal = Journal.open(tmp_path)
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        # At fsync time the line is written but the in-memory state has not moved yet.
        seen.append((journal.state.last_seq, len(lines(tmp_path))))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    journal.append(Event.RUN_STARTED, plan=PLAN)
    journal.append(Event.STEP_STARTED, step="a.deploy", attempt=1)
    # The first append also fsyncs the new file's directory; every event gets its own fsync.
    file_syncs = [entry for entry in seen if entry[1] > 0]
    assert file_syncs == [(0, 1), (1, 2)]
    assert journal.state.step("a.deploy").state == StepState.RUNNING


def test_replay_rebuilds_every_steps_state(tmp_path):
    write_run(tmp_path)
    state = Journal.open(tmp_path).state
    a, smoke, b = state.steps["a.deploy"], state.steps["a.smoke"], state.steps["b.deploy"]
    assert (a.state, a.attempts, a.outputs, a.evidence, a.duration_s) == (
        StepState.SUCCEEDED, 2, {"endpoint": "https://a"}, {"resources": 3}, 12.5)
    assert a.retries[0]["delay_s"] == 2.0
    assert (b.state, b.attempts, b.error["error"], b.error["retriable"]) == (
        StepState.FAILED, 1, "PermanentError: quota", False)
    assert smoke.state == StepState.RUNNING
    assert state.outcome is None and state.plan == PLAN


def test_run_outcome_and_resume_reset_are_replayed(tmp_path):
    write_run(tmp_path)
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_FINISHED, outcome="partial")
    assert Journal.open(tmp_path).state.outcome == "partial"
    journal.append(Event.RUN_RESUMED, reset=["b.deploy"])
    state = Journal.open(tmp_path).state
    assert state.outcome is None and state.runs == 2
    assert state.steps["b.deploy"].state == StepState.PENDING
    assert state.steps["b.deploy"].attempts == 1  # attempts keep counting across resumes


@pytest.mark.parametrize("tail", [
    pytest.param(b'{"seq":10,"ts":"2023-11-14T22:13:20.000+00:00","ev', id="unterminated write"),
    pytest.param(b'{"seq":10,"ts":"2023-11-14T22:13:20.000+00:00","event":"run_finished"}', id="newline missing"),
    pytest.param(b"\x00\x00\x00\x00\n", id="zero-filled block after power loss"),
])
def test_a_torn_last_line_is_reported_then_cut_before_the_next_append(tmp_path, tail):
    write_run(tmp_path)
    path = tmp_path / RunDir.JOURNAL
    with path.open("ab") as handle:
        handle.write(tail)

    journal = Journal.open(tmp_path)
    assert [(t.line_no, t.size) for t in journal.torn_lines] == [(10, len(tail))]
    assert journal.state.last_seq == 9
    assert path.read_bytes().endswith(tail)  # opening only reads

    journal.append(Event.RUN_FINISHED, outcome="partial")
    reopened = Journal.open(tmp_path)
    assert reopened.torn_lines == []
    assert [json.loads(line)["seq"] for line in lines(tmp_path)] == list(range(1, 11))
    assert reopened.state.outcome == "partial"


def test_a_corrupt_line_in_the_middle_is_refused_with_its_line_number(tmp_path):
    write_run(tmp_path)
    path = tmp_path / RunDir.JOURNAL
    content = lines(tmp_path)
    content[2] = content[2][:-5]
    path.write_text("\n".join(content) + "\n")
    with pytest.raises(JournalCorrupt) as caught:
        Journal.open(tmp_path)
    assert caught.value.line_no == 3
    assert "line 3" in str(caught.value)


def test_a_sequence_gap_is_refused(tmp_path):
    write_run(tmp_path)
    path = tmp_path / RunDir.JOURNAL
    content = lines(tmp_path)
    del content[4]
    path.write_text("\n".join(content) + "\n")
    with pytest.raises(JournalCorrupt, match=r"line 5: seq 6 follows 4"):
        Journal.open(tmp_path)


def test_redact_hook_sees_every_event_before_it_is_written(tmp_path):
    canary = "canary-Secret-0123456789"

    def redact(record):
        return json.loads(json.dumps(record).replace(canary, "[redacted]"))

    journal = Journal.open(tmp_path, redact=redact)
    journal.append(Event.RUN_STARTED, plan=PLAN)
    journal.append(Event.STEP_FAILED, step="a.deploy", attempt=1, error=f"AccountKey={canary}", final=True)
    journal.append(Event.STEP_SUCCEEDED, step="a.smoke", outputs={"dsn": f"postgres://u:{canary}@h"})
    assert canary not in (tmp_path / RunDir.JOURNAL).read_text()
    # The live state is what was written, so a resumed run sees exactly the same values.
    assert journal.state.steps["a.smoke"].outputs == {"dsn": "postgres://u:[redacted]@h"}


def test_an_interrupted_write_leaves_no_partial_line(tmp_path, monkeypatch):
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_STARTED, plan=PLAN)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        journal.append(Event.STEP_STARTED, step="a.deploy", attempt=1)
    monkeypatch.undo()
    assert journal.state.last_seq == 1  # the transition did not take effect
    journal.append(Event.STEP_STARTED, step="a.deploy", attempt=1)
    assert [json.loads(line)["seq"] for line in lines(tmp_path)] == [1, 2]


def test_values_json_cannot_encode_are_written_readably(tmp_path):
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_STARTED, plan=PLAN)
    record = journal.append(Event.STEP_SUCCEEDED, step="a.deploy", outputs={"path": tmp_path, "tags": {"x"}},
                            evidence={"payload": b"1234"})
    assert record["outputs"] == {"path": str(tmp_path), "tags": ["x"]}
    assert record["evidence"] == {"payload": "<4 bytes>"}


def test_status_summarises_a_run_without_changing_it(tmp_path):
    write_run(tmp_path)
    before = (tmp_path / RunDir.JOURNAL).read_bytes()
    document = status(tmp_path)
    assert (tmp_path / RunDir.JOURNAL).read_bytes() == before
    by_id = {step["id"]: step for step in document["steps"]}
    assert by_id["a.deploy"]["state"] == "succeeded" and by_id["a.deploy"]["attempts"] == 2
    assert by_id["b.deploy"]["error"] == "PermanentError: quota"
    assert by_id["a.smoke"]["state"] == "running"
    assert document["counts"] == {"succeeded": 1, "running": 1, "failed": 1}
    assert document["stack"] == "dev" and document["outcome"] is None
    json.dumps(document)


def test_status_of_a_directory_without_journal_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no journal.jsonl"):
        status(tmp_path)
