"""Measured step durations of past runs, and the plan's estimates taken from them.

Every run that ends (drill, failover, resume) appends one line to `<workdir>/history/<stack>.jsonl`:
its id, kind, target (local or azure), outcome, when it finished, the seconds each step took, and
what makes it comparable with other runs (scale, faults injected, versions: run_conditions.py).
`drctl plan` then estimates a step from the median of its last runs without faults plus
contingency, and flags a step whose latest run was much slower than the comparable ones before it.

Only what was really measured is kept: succeeded steps that were exercised (a step declared but
not exercised ran nothing) and, on Azure, gates from their first start to their approval (a
person's time counts against the RTO). A local drill approves its gates itself, so they measure
nothing and are left out. Local emulators are not Azure: history is keyed by target, and a plan
reads one target's history only.
"""

from __future__ import annotations

import fcntl
import json
import os
import statistics
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event, JournalState
from orchestrator.json_lines import JsonLines, UnreadableLine
from orchestrator.model import Plan, StepKind, StepState
from orchestrator.plan.run_conditions import BEFORE_CONDITIONS, comparison_key, recorded_before_conditions
from orchestrator.run.rundir import RunDir, utc_now

HISTORY_DIR = "history"
TARGETS = ("azure", "local")
WINDOW = 10  # runs per step the median is taken over: recent enough to follow changes, enough to be stable
CONTINGENCY = 0.25  # a median is a typical duration, not a planning one: the seed asks for contingency on top
REGRESSION_THRESHOLD = 1.5  # latest > 1.5 x the median of the earlier runs is flagged
REGRESSION_MIN_EARLIER = 2  # one earlier run is an anecdote, not a baseline
REGRESSION_MIN_DELTA_S = 1.0  # sub-second steps (local emulators) jitter by more than 50% without meaning anything


class HistoryCorrupt(Exception):
    """A line other than the last cannot be read: the file was damaged or edited."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        super().__init__(f"{path}: line {line_no}: {reason}")


def history_path(workdir: Path, stack: str) -> Path:
    return Path(workdir) / HISTORY_DIR / f"{stack}.jsonl"


def run_target(run: dict[str, Any]) -> str:
    """Where a run ran: run.json's `target` when it says, else from its kind (`drill-local`)."""
    target = run.get("target")
    if target in TARGETS:
        return target
    return "local" if "local" in str(run.get("kind", "")) else "azure"


# -- recording ---------------------------------------------------------------------------------------


def measured_durations(state: JournalState, target: str) -> dict[str, float]:
    """Seconds per step that succeeded and was exercised, from a run's journal (`Journal.open(run_dir).state`)."""
    first_start: dict[str, str | None] = {}
    for record in state.events:
        if record.get("event") == Event.STEP_STARTED and "step" in record:
            first_start.setdefault(record["step"], record.get("ts"))
    kinds = {step["id"]: step.get("kind") for step in (state.plan or {}).get("steps", [])}
    durations: dict[str, float] = {}
    for step_id, rec in state.steps.items():
        if rec.state != StepState.SUCCEEDED or rec.exercised is False:
            continue
        if kinds.get(step_id) == StepKind.GATE:
            if target == "local":
                continue
            # The engine times only the last attempt (the approval check after a resume); the
            # gate really lasted from when it first asked for approval until it was given.
            seconds = _seconds_between(first_start.get(step_id), rec.finished_at)
        else:
            seconds = rec.duration_s
        if seconds is not None and seconds >= 0:
            durations[step_id] = round(float(seconds), 3)
    return durations


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def history_file_for_run(run_dir: Path, stack: str) -> Path | None:
    """`<workdir>/history/<stack>.jsonl` for a run in `<workdir>/runs/<stack>/<run-id>/`, else None."""
    workdir = RunDir(run_dir).workdir(stack)
    return history_path(workdir, stack) if workdir is not None else None


def record_run(run_dir: Path, run: dict[str, Any], outcome: str) -> Path | None:
    """Append the run's measured durations to its stack's history; the path written, or None when
    the run directory is not under a workdir. A resumed run appends again: the later line wins."""
    path = history_file_for_run(run_dir, run["stack"])
    if path is None:
        return None
    from orchestrator.plan.run_conditions import run_conditions

    target = run_target(run)
    state = Journal.open(run_dir).state
    line = {
        "run_id": run["run_id"],
        "kind": run["kind"],
        "target": target,
        "outcome": outcome,
        "finished_at": state.finished_at or utc_now(),
        "durations_s": measured_durations(state, target),
        **run_conditions(run, state),
    }
    append_line(path, line)
    return path


def append_line(path: Path, record: dict[str, Any]) -> None:
    """One JSON line, appended and fsynced; a torn tail left by a crash is cut first so the new line
    does not land on the end of garbage. The lock keeps two runs finishing at once apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size:
            content = os.pread(fd, size, 0)
            if not content.endswith(b"\n"):
                os.ftruncate(fd, content.rfind(b"\n") + 1)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's directory entry must survive a crash too
        finally:
            os.close(dir_fd)


# -- reading -----------------------------------------------------------------------------------------


def read_history(path: Path) -> list[dict[str, Any]]:
    """The runs recorded, oldest first, one per run id (its latest line). A torn last line is
    skipped; damage anywhere else raises HistoryCorrupt rather than planning from a guess."""
    try:
        lines = JsonLines(path.read_bytes())
    except FileNotFoundError:
        return []
    runs: dict[str, dict[str, Any]] = {}
    try:
        for number, record in lines:  # a torn last line is a write cut short: not a run
            problem = _shape_problem(record)
            if problem:
                raise HistoryCorrupt(path, number, problem)
            runs.pop(record["run_id"], None)  # a resumed run moves to where it last ended
            runs[record["run_id"]] = record
    except UnreadableLine as exc:
        raise HistoryCorrupt(path, exc.line_no, f"not JSON ({exc.cause.__class__.__name__})") from None
    return list(runs.values())


def _shape_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not a history record (a JSON object)"
    if not isinstance(record.get("run_id"), str) or not isinstance(record.get("target"), str):
        return "no run_id or target"
    durations = record.get("durations_s")
    if not isinstance(durations, dict):
        return "no durations_s object"
    for step_id, seconds in durations.items():
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            return f"duration of {step_id} is not a number of seconds"
    return None


# -- estimates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepHistory:
    step_id: str
    samples: tuple[float, ...]  # oldest first, at most WINDOW
    latest_run: str
    # The latest run's earlier comparable samples (same target and scale, no faults), at most WINDOW.
    baseline: tuple[float, ...] = ()
    latest_key: tuple[Any, ...] = ()

    @property
    def median_s(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def estimate_s(self) -> float:
        return round(self.median_s * (1 + CONTINGENCY), 3)

    @property
    def source(self) -> str:
        runs = "1 run" if len(self.samples) == 1 else f"{len(self.samples)} runs"
        median = f"{self.median_s:.1f}" if self.median_s >= 10 else f"{self.median_s:.2f}"  # local steps last under a second
        return f"history ({runs}, median {median}s + {CONTINGENCY:.0%})"

    def regression(self, threshold: float) -> dict[str, Any] | None:
        earlier, latest = self.baseline, self.samples[-1]
        if len(earlier) < REGRESSION_MIN_EARLIER:
            return None
        baseline = float(statistics.median(earlier))
        if latest <= threshold * baseline or latest - baseline < REGRESSION_MIN_DELTA_S:
            return None
        return {
            "step": self.step_id,
            "latest_s": latest,
            "earlier_median_s": baseline,
            "ratio": round(latest / baseline, 2) if baseline else None,
            "earlier_runs": len(earlier),
            "run_id": self.latest_run,
            # what the latest run was compared on: its scale, or that it predates lines saying so
            "scale": None if self.latest_key[:1] == (BEFORE_CONDITIONS,) else self.latest_key[1],
            "recorded_before_conditions": self.latest_key[:1] == (BEFORE_CONDITIONS,),
        }


def step_histories(runs: list[dict[str, Any]], target: str, window: int = WINDOW) -> dict[str, StepHistory]:
    """Per step, its last `window` measured durations in runs of `target` without injected faults,
    and the latest one's comparable baseline (run_conditions.py)."""
    samples: dict[str, list[tuple[str, float, tuple[Any, ...]]]] = {}
    for run in runs:
        # A fallback's steps share ids with a failover's (lake.rehydrate) but do other work.
        if run.get("target") != target or str(run.get("kind", "")).startswith("fallback"):
            continue
        key = comparison_key(run)
        if key is None:  # faults injected: retries and Retry-After waits are in its durations
            continue
        for step_id, seconds in run["durations_s"].items():
            samples.setdefault(step_id, []).append((run["run_id"], float(seconds), key))
    histories = {}
    for step_id, values in samples.items():
        latest_run, _, latest_key = values[-1]
        baseline = tuple(s for _, s, key in values[:-1] if key == latest_key)[-window:]
        histories[step_id] = StepHistory(step_id, tuple(s for _, s, _ in values[-window:]), latest_run,
                                         baseline, latest_key)
    return histories


def history_counts(runs: list[dict[str, Any]], target: str) -> dict[str, int]:
    """How many of `target`'s runs there are, had faults injected, and predate the conditions fields."""
    mine = [run for run in runs if run.get("target") == target]
    return {
        "runs": len(mine),
        "faulted_runs": sum(1 for run in mine if comparison_key(run) is None),
        "runs_before_conditions": sum(1 for run in mine if recorded_before_conditions(run)),
    }


def apply_history(plan: Plan, histories: dict[str, StepHistory],
                  threshold: float = REGRESSION_THRESHOLD) -> tuple[Plan, dict[str, str], list[dict[str, Any]]]:
    """The plan with each step that has history estimated from it; every step's estimate source;
    and the steps whose latest run regressed."""
    steps, sources, regressions = [], {}, []
    for step in plan.steps:
        found = histories.get(step.id)
        if found is None:
            steps.append(step)
            sources[step.id] = "profile"
            continue
        steps.append(replace(step, estimate_s=found.estimate_s))
        sources[step.id] = found.source
        flagged = found.regression(threshold)
        if flagged:
            regressions.append(flagged)
    if all(new is old for new, old in zip(steps, plan.steps, strict=False)):
        return plan, sources, regressions  # the same plan object: what was computed from it still holds
    return replace(plan, steps=tuple(steps)), sources, regressions
