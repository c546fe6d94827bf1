"""What a journal's events mean: the events, and the state of a run and its steps they build.

Only `JournalState.apply` builds it, one record at a time, so a live run (orchestrator/engine/journal.py
appends, then applies) and a replayed one (`drctl resume`, `drctl status`) cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.model import StepState


class Event(StrEnum):
    RUN_STARTED = "run_started"  # plan
    RUN_RESUMED = "run_resumed"  # reset: steps put back to pending for this run
    STEP_STARTED = "step_started"  # step, attempt
    STEP_FAILED = "step_failed"  # step, attempt, error, retriable, final
    STEP_RETRYING = "step_retrying"  # step, attempt, delay_s
    STEP_SUCCEEDED = "step_succeeded"  # step, outputs, evidence, exercised, duration_s
    STEP_SKIPPED = "step_skipped"  # step, reason, blocked_by
    STEP_WAITING = "step_waiting"  # step, reason
    STEP_ABANDONED = "step_abandoned"  # step, reason: still running when the run was interrupted
    RUN_INTERRUPTED = "run_interrupted"
    RUN_FINISHED = "run_finished"  # outcome


@dataclass
class StepRecord:
    state: StepState = StepState.PENDING
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    exercised: bool | None = None
    error: dict[str, Any] | None = None  # the last failure: attempt, error, retriable, final
    reason: str | None = None  # why skipped, waiting or abandoned
    blocked_by: str | None = None  # the failed step a skip traces back to
    retries: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None


@dataclass
class JournalState:
    """What the events so far say; built only by `apply`, so replay and live runs agree."""

    plan: dict[str, Any] | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    outcome: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    runs: int = 0  # run_started plus every run_resumed
    last_seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def step(self, step_id: str) -> StepRecord:
        found = self.steps.get(step_id)  # the engine asks on every pass: no new record per call
        return found if found is not None else self.steps.setdefault(step_id, StepRecord())

    def apply(self, record: dict[str, Any]) -> None:
        self.last_seq = record["seq"]
        self.events.append(record)
        event, ts = record["event"], record.get("ts")
        if event in (Event.RUN_STARTED, Event.RUN_RESUMED):
            self.runs += 1
            self.outcome = self.finished_at = None
            if event == Event.RUN_STARTED:
                self.plan, self.started_at = record.get("plan"), ts
                for step in (self.plan or {}).get("steps", []):
                    self.step(step["id"])
            for step_id in record.get("reset", []):
                rec = self.step(step_id)
                rec.state, rec.reason, rec.blocked_by, rec.finished_at = StepState.PENDING, None, None, None
            return
        if event in (Event.RUN_FINISHED, Event.RUN_INTERRUPTED):
            self.outcome = record.get("outcome", "interrupted")
            self.finished_at = ts
            return
        if "step" not in record:
            return  # an event from a newer drctl that is not about a step: nothing to track
        rec = self.step(record["step"])
        if event == Event.STEP_STARTED:
            if rec.state != StepState.RUNNING:
                rec.started_at, rec.finished_at = ts, None
            rec.state, rec.attempts = StepState.RUNNING, int(record.get("attempt", rec.attempts + 1))
        elif event == Event.STEP_RETRYING:
            rec.retries.append({k: record.get(k) for k in ("attempt", "delay_s", "error", "ts")})
        elif event == Event.STEP_FAILED:
            rec.error = {k: record.get(k) for k in ("attempt", "error", "retriable", "final")}
            rec.evidence = record.get("evidence") or rec.evidence
            if record.get("final", True):
                rec.state, rec.finished_at, rec.duration_s = StepState.FAILED, ts, record.get("duration_s")
        elif event == Event.STEP_SUCCEEDED:
            rec.state, rec.finished_at = StepState.SUCCEEDED, ts
            rec.outputs, rec.evidence = record.get("outputs") or {}, record.get("evidence") or {}
            rec.exercised, rec.duration_s = record.get("exercised", True), record.get("duration_s")
        elif event == Event.STEP_SKIPPED:
            rec.state, rec.finished_at = StepState.SKIPPED, ts
            rec.reason, rec.blocked_by = record.get("reason"), record.get("blocked_by")
        elif event == Event.STEP_WAITING:
            rec.state, rec.reason = StepState.WAITING, record.get("reason")
        elif event == Event.STEP_ABANDONED:
            rec.state, rec.reason = StepState.PENDING, record.get("reason")
