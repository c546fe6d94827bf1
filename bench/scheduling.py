"""Scheduling: drctl's engine on synthetic plans of 50, 500 and 5,000 steps, run for real.

Each plan (bench/synthetic.py, built by drctl's own plan builder) is executed by
orchestrator.engine.Engine with a runner that sleeps each step's estimate scaled down, and a real
journal (fsynced per transition) in a temporary directory on the same disk as the project. It runs
twice: with enough workers that only the dependencies limit it (the most steps the ideal
schedule ever runs at once), and with k workers, k chosen so the work, not the dependencies, is
the limit. The naive ways are computed from the same durations, not run: a sequential runbook
takes the sum of the steps, and wave-by-wave recovery (group-ordered plans: a wave starts when
the slowest step of the previous one is done) takes the sum of each wave's longest step.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from bench.report import Result
from bench.synthetic import synthetic_plan
from orchestrator.engine.journal import Journal
from orchestrator.engine.scheduler import Engine
from orchestrator.model import Plan, Step, StepOutcome
from orchestrator.plan.recovery import critical_path, validate_plan
from orchestrator.plan.rto_levers import scheduled_seconds

SIZES = (50, 500, 5000)
# Critical path of the scaled-down plan, in seconds. Real steps take minutes and drctl's cost per
# step on the path is milliseconds (an fsync, a thread waking up): scaled down about a thousand
# times, that cost is still visible, and the whole benchmark takes about a minute.
TARGET_S = {50: 4.0, 500: 6.0, 5000: 10.0}
QUICK_TARGET_S = {50: 0.5, 500: 0.8, 5000: 2.0}
PROJECT = Path(__file__).resolve().parents[1]


def waves_seconds(plan: Plan, duration: dict[str, float]) -> float:
    """Wave-by-wave: steps grouped by depth (longest chain of dependencies before them); each wave
    starts when every step of the one before has finished."""
    depth: dict[str, int] = {}
    longest: dict[int, float] = defaultdict(float)
    for step in validate_plan(plan):
        depth[step.id] = 1 + max((depth[d] for d in step.depends_on), default=-1)
        longest[depth[step.id]] = max(longest[depth[step.id]], duration[step.id])
    return sum(longest.values())


def peak_parallelism(plan: Plan, duration: dict[str, float]) -> int:
    """The most steps the ideal schedule (every step at its earliest start) runs at once."""
    start: dict[str, float] = {}
    for step in validate_plan(plan):
        start[step.id] = max((start[d] + duration[d] for d in step.depends_on), default=0.0)
    events = sorted([(start[s], 1) for s in start] + [(start[s] + duration[s], -1) for s in start],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    now = peak = 0
    for _, delta in events:
        now += delta
        peak = max(peak, now)
    return peak


class _TimedJournal:
    """The time the run spent journaling: encoding and applying records (append), and writing
    and fsyncing them (Journal._write: one per commit, a group's lines together)."""

    def __init__(self, journal: Journal) -> None:
        self.events = self.commits = 0
        self.append_s = self.write_s = 0.0
        self._append, self._write = journal.append, journal._write
        journal.append, journal._write = self.append, self.write  # type: ignore[method-assign]

    @property
    def seconds(self) -> float:
        return self.append_s + self.write_s

    def append(self, event, **fields):
        started, writing = time.perf_counter(), self.write_s
        try:
            return self._append(event, **fields)
        finally:
            self.append_s += time.perf_counter() - started - (self.write_s - writing)
            self.events += 1

    def write(self, data: bytes) -> None:
        started = time.perf_counter()
        try:
            self._write(data)
        finally:
            self.write_s += time.perf_counter() - started
            self.commits += 1


def execute(plan: Plan, duration: dict[str, float], workers: int, workdir: Path) -> tuple[float, _TimedJournal]:
    """Run `plan` on the engine with sleeping steps; the makespan, from run() to its return."""

    def runner(step: Step, context) -> StepOutcome:
        time.sleep(duration[step.id])
        return StepOutcome()

    journal = Journal.open(Path(tempfile.mkdtemp(prefix=f"run-{len(plan.steps)}-{workers}-", dir=workdir)))
    timed = _TimedJournal(journal)
    try:
        engine = Engine(plan, runner, journal, max_workers=workers)
        started = time.perf_counter()
        result = engine.run()
        makespan = time.perf_counter() - started
    finally:
        journal.close()
    if str(result.outcome) != "recovered":
        raise RuntimeError(f"synthetic run ended {result.outcome}")
    return makespan, timed


def run(quick: bool, sizes: tuple[int, ...] = SIZES, target_s: dict[int, float] | None = None) -> list[Result]:
    targets = target_s or (QUICK_TARGET_S if quick else TARGET_S)
    # The makespan's goals are for the full critical paths: scaled down for --quick, the engine's
    # fixed cost per step (a journal fsync, a thread's wake-up) weighs several times more.
    full = targets == TARGET_S
    scope = "" if full else " (critical paths shorter than the full run's: no goal)"
    results: list[Result] = []
    # On the project's disk, as a run directory would be: a tmpfs would hide the fsync's cost.
    (PROJECT / ".drill").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-scheduling-", dir=PROJECT / ".drill") as tmp:
        for size in sizes:
            plan = synthetic_plan(size)
            estimated_cp, _ = critical_path(plan)
            scale = targets.get(size, 1.0) / estimated_cp
            duration = {s.id: s.estimate_s * scale for s in plan.steps}
            cp = estimated_cp * scale
            total = sum(duration.values())
            wide = peak_parallelism(plan, duration)
            # The work bound at least 1.5 times the critical path, so the work is the limit: rounded
            # up, 50 steps got k=3 and work / k = 1.05 x the critical path, where both bounds hold
            # at once and max() of them is loosest (docs/performance-notes.md).
            k = max(2, math.floor(total / (1.5 * cp)))
            name = f"scheduling.{size}_steps"

            makespan, timed = execute(plan, duration, wide, Path(tmp))
            results += [
                Result(f"{name}.makespan_over_critical_path", round(makespan / cp, 4), "ratio", "<= 1.02" if full else None,
                       f"{makespan:.3f}s vs critical path {cp:.3f}s on {wide} workers{scope}"),
                Result(f"{name}.speedup_over_sequential", round(total / makespan, 2), "x", "> 1",
                       f"a sequential runbook takes the sum of the steps: {total:.2f}s"),
                Result(f"{name}.speedup_over_waves", round(waves_seconds(plan, duration) / makespan, 2), "x", "> 1",
                       f"wave by wave (each wave waits for its slowest): {waves_seconds(plan, duration):.2f}s"),
                Result(f"{name}.journal_share_of_makespan", round(timed.seconds / makespan, 4), "ratio", None,
                       f"{timed.events} records in {timed.commits} fsynced commits: {timed.write_s:.3f}s writing, "
                       f"{timed.append_s:.3f}s encoding"),
            ]
            bound = max(cp, total / k)
            makespan_k, _ = execute(plan, duration, k, Path(tmp))
            # The engine's own policy with no overhead at all (rto_levers.scheduled_seconds): how
            # much of the gap to the bound no list scheduler of this kind could close anyway.
            policy = scheduled_seconds(replace(plan, steps=tuple(replace(s, estimate_s=duration[s.id])
                                                                 for s in plan.steps)), k)
            results += [
                Result(f"{name}.makespan_k_workers_over_lower_bound", round(makespan_k / bound, 4), "ratio",
                       "<= 1.05" if full else None,
                       f"{makespan_k:.3f}s on {k} workers vs max(critical path, work / k) = {bound:.3f}s{scope}"),
                Result(f"{name}.policy_k_workers_over_lower_bound", round(policy / bound, 4), "ratio", None,
                       f"the engine's policy simulated with no overhead: {policy:.3f}s on {k} workers"),
            ]
    return results
