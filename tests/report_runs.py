"""A real engine run on a small plan, finished by finish_run, for the report format tests.

One fake clock drives the engine's durations and the journal's timestamps, and the runner notes
when (on that clock) each step really started and finished: the ground truth the timeline's
bars are checked against. No sleeping, no emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.engine.journal import Journal
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine
from orchestrator.model import Plan, Step, StepKind, StepOutcome
from orchestrator.report.run_summary import finish_run

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")


def step(sid: str, kind: StepKind, deps: tuple[str, ...] = (), estimate: float = 60.0, description: str = "") -> Step:
    return Step(sid, sid.split(".")[0], kind, deps, estimate, description)


@dataclass
class Finished:
    run_dir: Path
    summary: dict[str, Any]
    started: float  # when the run started, on the fake clock
    times: dict[str, tuple[float, float]] = field(default_factory=dict)  # step -> (start, end), clock seconds


Behaviour = float | Callable[[Step, Clock], StepOutcome]


def run_and_finish(tmp_path: Path, plan: Plan, behaviours: dict[str, Behaviour], *,
                   disaster_before_s: float = 0.0, workers: int = 1) -> Finished:
    """Run `plan`; a float behaviour is the seconds a step takes, a callable may raise or return
    evidence (and advance the clock itself). Then finish_run writes the reports."""
    clock = Clock()
    run_dir = tmp_path / "runs" / plan.stack / "drill-test"
    finished = Finished(run_dir, {}, clock.t)

    def runner(s: Step, ctx: Any) -> StepOutcome:
        start = clock.t
        try:
            behaviour = behaviours.get(s.id, 1.0)
            if callable(behaviour):
                return behaviour(s, clock)
            clock.t += behaviour
            if s.kind == StepKind.HANDOVER:
                return StepOutcome(outputs={"handover_at": iso(clock.t)})
            return StepOutcome()
        finally:
            finished.times[s.id] = (start, clock.t)

    journal = Journal.open(run_dir, now=clock)
    try:
        result = Engine(plan, runner, journal, max_workers=workers, clock=clock,
               retry=RetryPolicy(sleep=lambda _s: None, jitter_s=0.0)).run()
    finally:
        journal.close()
    run = {"run_id": "drill-test", "kind": "drill-local", "stack": plan.stack,
           "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s}}
    finished.summary = finish_run(run_dir=run_dir, run=run, kind="drill-local", plan=plan, profiles={},
                                  outcome=str(result.outcome), disaster_at=iso(T0 - disaster_before_s))
    return finished
