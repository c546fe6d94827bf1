"""The engine: runs a plan's steps as soon as their dependencies succeed, on a bounded pool.

There are no waves: finishing one step may make a single dependent ready, and it starts at once
while unrelated long steps keep running. Every transition is journaled (fsynced) first; the
engine reads step states back from the journal's state, so a live run and a resumed one see the
same thing. Only the main thread schedules; workers run one step each (with its retries).
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from orchestrator.engine.announcer import Announcer
from orchestrator.engine.journal import Journal, status
from orchestrator.engine.journal_state import Event, StepRecord
from orchestrator.engine.results import Outcome, RunResult, run_result, verdict
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.step_worker import Interrupted, StepContext, StepDone, describe, run_step
from orchestrator.engine.workers import WorkerPool
from orchestrator.model import Plan, Step, StepOutcome, StepRunner, StepState
from orchestrator.plan.recovery import plan_to_json, remaining_seconds, validate_plan

START_BATCH = 8  # starts in a pass's first journal group; later groups double

status_from_journal = status  # `drctl status` reads the journal only; see journal.status


class Engine:
    """Runs `plan` with `runner`, journaling to `journal`; a journal with events is resumed.

    `on_event(record)` sees every journal record after it is written: from the main thread for
    transitions, from a worker thread for retries. `retry_failed` puts failed and skipped steps
    back to pending on resume. `interrupt_grace_s` bounds how long Ctrl-C waits for running steps.
    """

    def __init__(self, plan: Plan, runner: StepRunner, journal: Journal, max_workers: int = 4,
                 retry: RetryPolicy | None = None, on_event: Callable[[dict[str, Any]], None] | None = None,
                 *, retry_failed: bool = False, clock: Callable[[], float] = time.monotonic,
                 interrupt_grace_s: float = 60.0) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.plan, self.runner, self.journal = plan, runner, journal
        self.max_workers, self.retry, self.on_event = max_workers, retry or RetryPolicy(), on_event
        self.retry_failed, self._clock, self._grace_s = retry_failed, clock, interrupt_grace_s
        self._topo = validate_plan(plan)
        self._steps = {step.id: step for step in plan.steps}
        self._order = {step.id: n for n, step in enumerate(plan.steps)}
        self._remaining = remaining_seconds(plan)
        self._ancestors: dict[str, frozenset[str]] = {}
        for step in self._topo:
            upstream = set(step.depends_on)
            for dep in step.depends_on:
                upstream |= self._ancestors[dep]
            self._ancestors[step.id] = frozenset(upstream)
        self._dependents: dict[str, list[str]] = {step.id: [] for step in plan.steps}
        for step in plan.steps:
            for dep in step.depends_on:
                self._dependents[dep].append(step.id)
        # Scheduling is incremental so a pass costs what changed, not the plan's size: only the
        # dependents of steps that just succeeded can have become ready (None: look at them all),
        # ready steps wait in a heap (critical path first), and skips are propagated only after
        # a failure. At 5,000 steps, scanning every step on every transition was most of the run.
        self._candidates: set[str] | None = None
        self._ready: list[tuple[float, int, str]] = []
        self._check_blocked = True
        self._inbox: deque[StepDone] = deque()  # results taken from the queue, not yet journaled
        self._announcer = Announcer(on_event)
        self._running: set[str] = set()
        self._results: queue.Queue[StepDone] = queue.Queue()
        self._stopping = threading.Event()
        self._used = False
        self._check_journal_plan()

    # -- journal -----------------------------------------------------------------------------

    def _record(self, event: Event, **fields: Any) -> dict[str, Any]:
        record = self.journal.append(event, **fields)
        self._announcer.written(record)
        return record

    def _rec(self, step_id: str) -> StepRecord:
        return self.journal.state.step(step_id)

    def _check_journal_plan(self) -> None:
        # Resuming a journal with another plan would mix up step ids and outputs: refuse early.
        if self.journal.empty:
            return
        mine = {(s.id, tuple(s.depends_on), str(s.kind)) for s in self.plan.steps}
        theirs = {(s["id"], tuple(s["depends_on"]), s["kind"]) for s in (self.journal.state.plan or {}).get("steps", [])}
        if mine != theirs:
            raise ValueError(f"{self.journal.path} was written for a different plan; start a new run directory")

    def _begin(self) -> None:
        if self.journal.empty:
            self._record(Event.RUN_STARTED, plan=plan_to_json(self.plan), max_workers=self.max_workers)
            return
        # A step recorded running died with the process; a waiting gate is asked again. Failed
        # and skipped steps stay as they are unless the operator asked to retry them.
        again = {StepState.RUNNING, StepState.WAITING}
        if self.retry_failed:
            again |= {StepState.FAILED, StepState.SKIPPED}
        reset = [s.id for s in self.plan.steps if self._rec(s.id).state in again]
        # A line torn by the crash is cut by this very append; say so in the record.
        torn = [{"line_no": t.line_no, "preview": t.preview} for t in self.journal.torn_lines]
        self._record(Event.RUN_RESUMED, reset=reset, retry_failed=self.retry_failed, torn_lines=torn)

    # -- scheduling (main thread only) ---------------------------------------------------------

    def run(self) -> RunResult:
        if self._used:
            raise RuntimeError("an Engine runs once; build a new one on the journal to resume")
        self._used = True
        self._begin()
        self._pool = WorkerPool(self.max_workers)
        try:
            while True:
                # Group commit: the transitions of one pass (finishes, skips, starts) are written,
                # then fsynced once, before any takes effect: a started step goes to a worker only
                # after the group. One fsync per pass rather than per transition, as durable.
                batch = START_BATCH
                with self._group():
                    while self._inbox:
                        self._finish(self._inbox.popleft())
                    self._skip_blocked()
                    started = self._start_ready(batch)
                self._hand_over(started)
                # A pass that makes many steps ready (a foundation done: a thousand deploys) starts
                # them in groups of doubling size, critical path first, so the first ones reach
                # their workers after a few records rather than after all of them.
                while len(started) == batch:
                    batch *= 2
                    with self._group():
                        started = self._start_ready(batch)
                    self._hand_over(started)
                if not self._running:
                    break
                self._inbox.append(self._results.get())  # blocks; Ctrl-C interrupts the wait
                while True:  # and whatever else finished meanwhile joins the same pass
                    try:
                        self._inbox.append(self._results.get_nowait())
                    except queue.Empty:
                        break
        except KeyboardInterrupt:
            self._interrupt()
            raise
        finally:
            self._pool.close()
        outcome = self._outcome()
        self._record(Event.RUN_FINISHED, outcome=str(outcome))
        return self._result(outcome)

    @contextmanager
    def _group(self) -> Iterator[None]:
        self._announcer.hold()
        with self.journal.group():
            yield
        self._announcer.release()

    def _hand_over(self, started: list[tuple[str, Callable[[], None]]]) -> None:
        for step_id, task in started:
            self._running.add(step_id)
            self._pool.submit(task)

    def _skip_blocked(self) -> None:
        if not self._check_blocked:
            return
        self._check_blocked = False
        # Topological order, so a skip propagates down a whole chain in one pass.
        for step in self._topo:
            record = self._rec(step.id)
            if record.state != StepState.PENDING or step.id in self._running:
                continue
            for dep in step.depends_on:
                dep_record = self._rec(dep)
                if dep_record.state in (StepState.FAILED, StepState.SKIPPED):
                    # Name the step that actually failed, not the skipped step in between.
                    cause = (dep_record.blocked_by or dep) if dep_record.state == StepState.SKIPPED else dep
                    self._record(Event.STEP_SKIPPED, step=step.id, reason=f"{cause} failed", blocked_by=cause)
                    break

    def _can_start(self, step: Step) -> bool:
        return (self._rec(step.id).state == StepState.PENDING and step.id not in self._running
                and all(self._rec(dep).state == StepState.SUCCEEDED for dep in step.depends_on))

    def _start_ready(self, limit: int) -> list[tuple[str, Callable[[], None]]]:
        """Journal the starts of up to `limit` ready steps, as many as there are free workers; the
        caller hands them to workers once the journal group is durable."""
        fresh = self.plan.steps if self._candidates is None else [self._steps[sid] for sid in self._candidates]
        self._candidates = set()
        for step in fresh:
            if self._can_start(step):
                # Critical path first: the step with the most estimated work behind it, then plan order.
                heapq.heappush(self._ready, (-self._remaining[step.id], self._order[step.id], step.id))
        started: list[tuple[str, Callable[[], None]]] = []
        while self._ready and len(started) < limit and len(self._running) + len(started) < self.max_workers:
            step = self._steps[heapq.heappop(self._ready)[2]]
            if not self._can_start(step):
                continue  # skipped since, or already started (a heap may hold a step twice)
            base = self._rec(step.id).attempts  # attempts continue across resumes
            self._record(Event.STEP_STARTED, step=step.id, attempt=base + 1, component=step.component, kind=str(step.kind))
            started.append((step.id, partial(self._execute, step, base)))
        return started

    def _finish(self, done: StepDone) -> None:
        # Off the running set even if Ctrl-C lands mid-record: its result is already in hand, so
        # the interrupt must not wait for it; the journal then says running and resume reruns it.
        try:
            self._record_finish(done)
        finally:
            self._running.discard(done.step_id)
        if done.state == StepState.SUCCEEDED:
            if self._candidates is not None:
                self._candidates.update(self._dependents[done.step_id])
        elif done.state != StepState.WAITING:
            self._check_blocked = True

    def _record_finish(self, done: StepDone) -> None:
        fields = {"step": done.step_id, "attempt": done.attempt, "duration_s": done.duration_s}
        if done.state == StepState.SUCCEEDED:
            outcome = done.outcome or StepOutcome()
            self._record(Event.STEP_SUCCEEDED, outputs=outcome.outputs, evidence=outcome.evidence,
                         exercised=outcome.exercised, **fields)
        elif done.state == StepState.WAITING:
            self._record(Event.STEP_WAITING, reason=str(done.error), **fields)
        elif self._stopping.is_set() and (done.retriable or isinstance(done.error, Interrupted)):
            # Retrying was cut short by the interrupt: not a verdict on the step.
            self._record(Event.STEP_ABANDONED, reason="run interrupted during retries", **fields)
        else:
            step = self._steps[done.step_id]
            assert done.error is not None, "a failed step carries its error (run_step)"
            self._record(Event.STEP_FAILED, error=describe(done.error), retriable=done.retriable, final=True,
                         component=step.component, kind=str(step.kind),
                         evidence=getattr(done.error, "evidence", None) or {}, **fields)

    def _interrupt(self) -> None:
        """Ctrl-C: start nothing new, let running steps finish for a while, record the rest."""
        self._stopping.set()
        deadline = self._clock() + self._grace_s
        try:
            # A pass cut short by Ctrl-C committed its group on the way out: show its records now,
            # and the interrupt's own as they come (not held for a group that is over).
            self._announcer.release()
            while self._inbox:  # results already in hand when Ctrl-C came
                self._finish(self._inbox.popleft())
            while self._running and (left := deadline - self._clock()) > 0:
                try:
                    self._finish(self._results.get(timeout=left))
                except queue.Empty:
                    break
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: abandon what is still running now
        for step in self.plan.steps:
            if self._rec(step.id).state == StepState.RUNNING:
                self._record(Event.STEP_ABANDONED, step=step.id, reason="run interrupted; it runs again on resume")
        self._record(Event.RUN_INTERRUPTED, outcome="interrupted")

    # -- one step, with its retries (worker thread) -------------------------------------------

    def _execute(self, step: Step, base: int) -> None:
        def context_for(attempt: int) -> StepContext:
            return StepContext(step, attempt, self.journal.run_dir, self._ancestors[step.id], self.journal.state,
                               self._stopping)

        self._results.put(run_step(step, base, self.runner, self.retry, record=self._record, context_for=context_for,
                                   stopping=self._stopping, clock=self._clock))

    # -- the verdict ---------------------------------------------------------------------------

    def _outcome(self) -> Outcome:
        return verdict(self.plan, {step.id: self._rec(step.id).state for step in self.plan.steps})

    def _result(self, outcome: Outcome) -> RunResult:
        return run_result(self.plan, outcome, self.journal.state, self.journal.run_dir)
