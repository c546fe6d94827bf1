"""Group commit (Journal.group) and the engine's use of it: fewer fsyncs, the same durability.

A group's records are applied to the state at once (the engine schedules from it) but reach the
file, durably, when the group ends; nothing they record takes effect before then. Another
thread's append in the meantime commits the group's lines first, so the file stays in seq order.
"""

from __future__ import annotations

import json
import os
import threading

from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.results import Outcome
from orchestrator.engine.scheduler import Engine
from orchestrator.model import Plan, Step, StepKind, StepOutcome
from orchestrator.run.rundir import RunDir


def seqs(run_dir) -> list[int]:
    path = run_dir / RunDir.JOURNAL
    return [json.loads(line)["seq"] for line in path.read_text().splitlines()] if path.exists() else []


def test_a_group_is_applied_at_once_and_written_with_one_fsync_at_its_end(tmp_path, monkeypatch):
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_STARTED, plan={"stack": "dev", "steps": []})
    mirrored: list[int] = []
    journal.mirror = lambda line: mirrored.append(json.loads(line)["seq"])
    fsyncs = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real(fd)))
    with journal.group():
        journal.append(Event.STEP_STARTED, step="a", attempt=1)
        journal.append(Event.STEP_STARTED, step="b", attempt=1)
        assert journal.state.last_seq == 3  # the engine sees its own transitions at once
        assert seqs(tmp_path) == [1] and mirrored == [] and fsyncs == []  # not on disk, not mirrored yet
    assert seqs(tmp_path) == [1, 2, 3] and len(fsyncs) == 1
    assert mirrored == [2, 3]  # after the fsync, in journal order
    state = Journal.open(tmp_path).state  # what a resume reads agrees with the live state
    assert state.steps["a"].state == journal.state.steps["a"].state


def test_another_threads_append_commits_the_groups_lines_first(tmp_path):
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_STARTED, plan={"stack": "dev", "steps": []})
    with journal.group():
        journal.append(Event.STEP_STARTED, step="a", attempt=1)
        worker = threading.Thread(target=journal.append, args=(Event.STEP_RETRYING,), kwargs={"step": "b", "attempt": 2})
        worker.start()
        worker.join()
        assert seqs(tmp_path) == [1, 2, 3]  # the worker's line is durable at once, after the group's
        journal.append(Event.STEP_STARTED, step="c", attempt=1)
    assert seqs(tmp_path) == [1, 2, 3, 4]


def test_an_interrupted_group_still_commits_what_it_applied(tmp_path):
    journal = Journal.open(tmp_path)
    try:
        with journal.group():
            journal.append(Event.RUN_STARTED, plan={"stack": "dev", "steps": []})
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert seqs(tmp_path) == [1]


def test_the_engine_fsyncs_once_per_pass_not_once_per_transition(tmp_path, monkeypatch):
    steps = [Step(f"s{n}.deploy", f"s{n}", StepKind.DEPLOY, (), 1.0) for n in range(20)]
    steps.append(Step("end.smoke", "end", StepKind.SMOKE, tuple(s.id for s in steps), 1.0))
    plan = Plan("dev", tuple(steps), 3600, 0)
    release = threading.Event()

    def runner(step, context):
        release.wait(5)  # all twenty finish together, so their results land in one pass
        return StepOutcome()

    fsyncs = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real(fd)))
    journal = Journal.open(tmp_path)
    threading.Timer(0.3, release.set).start()
    result = Engine(plan, runner, journal, max_workers=20).run()
    assert result.outcome == Outcome.RECOVERED
    events = len(seqs(tmp_path))
    assert events == 2 + 2 * len(steps)  # run started/finished, and each step started and succeeded
    assert len(fsyncs) < events / 2  # one per pass (plus the new file's directory)


def test_a_pass_that_readies_many_steps_hands_them_over_in_doubling_groups_critical_path_first(tmp_path, monkeypatch):
    # 40 steps ready at once; "s07" has the most work behind it, so it must be in the first group,
    # which reaches the workers after 8 records rather than after all 40.
    steps = [Step(f"s{n:02d}.deploy", f"s{n:02d}", StepKind.DEPLOY, (), 1.0) for n in range(40)]
    steps.append(Step("s07.smoke", "s07", StepKind.SMOKE, ("s07.deploy",), 50.0))
    plan = Plan("dev", tuple(steps), 3600, 0)
    release = threading.Event()
    handed_over_with: dict[str, int] = {}

    def runner(step, context):
        handed_over_with.setdefault(step.id, len(seqs(tmp_path)))
        release.wait(5)
        return StepOutcome()

    writes: list[list[str]] = []
    real_write = Journal._write

    def write(self, data: bytes) -> None:
        writes.append([json.loads(line)["event"] for line in data.decode().splitlines()])
        real_write(self, data)

    monkeypatch.setattr(Journal, "_write", write)
    threading.Timer(0.5, release.set).start()
    result = Engine(plan, runner, Journal.open(tmp_path), max_workers=40).run()
    assert result.outcome == Outcome.RECOVERED
    assert writes[0] == ["run_started"]
    assert [len(w) for w in writes[1:4]] == [8, 16, 16] and all(set(w) == {"step_started"} for w in writes[1:4])
    first_group = {json.loads(line)["step"] for line in (tmp_path / RunDir.JOURNAL).read_text().splitlines()[1:9]}
    assert "s07.deploy" in first_group
    assert handed_over_with["s07.deploy"] >= 9  # its start was durable before its worker ran
