"""`drctl drill --local` and `drctl resume`: a failover of the secondary stack's plan against the
local region pair, from dataset to handover report.

The plan is the one `drctl plan` prints for the stack (read from the Pulumi program's graph);
the engine is the one a real failover uses; only the target differs.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from components.profile import DRProfile
from orchestrator.commands import build_stack_plan, check_stack, profiles_in
from orchestrator.engine import Engine, RunResult
from orchestrator.errors import BadInput
from orchestrator.journal import Journal, JournalCorrupt
from orchestrator.plan import plan_from_json, plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.render import progress_line
from orchestrator.report.handover import StepRecord, build_report, write_report
from orchestrator.rundir import create_run_dir, read_run, write_json_atomic
from orchestrator.targets.local.prelude import PRELUDE_FILE, DrillData, reset_local_data, run_prelude
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.runner import LocalTarget

KIND = "drill-local"
STORAGE_TYPE = "azure-native:storage:StorageAccount"
RUN_KEYS = ("run_id", "kind", "stack", "scale", "local_dir", "database", "primary_account", "secondary_account", "targets")

# Test hook, for tests/test_drill_integration.py only: with DRCTL_TEST_PAUSE_AFTER=<step id>, once
# that step's success is journaled the drill blocks just before it would journal the next step
# start, and says so on stderr ("paused after <step id>"). A test can then kill or interrupt it at a
# known point. The pause ends by itself after PAUSE_MAX_S. Unset, nothing changes.
PAUSE_ENV = "DRCTL_TEST_PAUSE_AFTER"
PAUSE_MAX_S = 300.0


def _lake_account(graph: Any) -> str:
    for resource in graph.resources:
        if resource["type"] == STORAGE_TYPE and resource["physical_name"]:
            return resource["physical_name"]
    raise BadInput(f"stack {graph.stack} has no lake (services.lake is off): nothing for the local drill to fail over")


def run_local_drill(project_dir: Path, stack: str, workdir: Path, *, scale: int, workers: int) -> dict[str, Any]:
    check_stack(project_dir, stack)
    plan, graph, config = build_stack_plan(project_dir, stack)
    if config.role != "secondary":
        raise BadInput(f"--stack: {stack} is a {config.role} stack; a drill fails over to a secondary stack")
    from orchestrator.commands import capture

    primary_graph = capture(project_dir, config.paired_stack)
    run_id, run_dir = create_run_dir(workdir, stack, "drill")
    local_dir = Path(workdir).resolve() / "local" / run_id
    _announce(run_dir)
    run = {
        "run_id": run_id,
        "kind": KIND,
        "stack": stack,
        "paired_stack": config.paired_stack,
        "scale": scale,
        "local_dir": str(local_dir),
        "database": config.postgres.databases[0],
        "primary_account": _lake_account(primary_graph),
        "secondary_account": _lake_account(graph),
        "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s},
    }
    write_json_atomic(run_dir / "run.json", run)
    write_json_atomic(run_dir / "plan.json", plan_to_json(plan))
    return _drive(project_dir, run_dir, run, workers, fresh=True)


def resume_run(project_dir: Path, run_dir: Path, *, workers: int) -> dict[str, Any]:
    run = read_run(run_dir)
    if run["kind"] != KIND:
        raise BadInput(f"RUN: resuming a {run['kind']} run is not supported here (only {KIND})")
    run_dir = Path(run_dir).resolve()
    _check_resumable(run_dir, run)  # before anything is started or written
    _announce(run_dir)
    return _drive(project_dir, run_dir, run, workers, fresh=False)


def _announce(run_dir: Path) -> None:
    """The first line on stderr is exactly `run: <run_dir>` (no timestamp), for scripts to read."""
    print(f"run: {run_dir}", file=sys.stderr, flush=True)


def _check_resumable(run_dir: Path, run: dict[str, Any]) -> None:
    """BadInput naming what is wrong with a run directory that cannot be resumed as it is."""
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BadInput(f"RUN: {run_dir / 'run.json'} lacks {', '.join(missing)}")
    try:
        plan = plan_from_json(_read_json(run_dir / "plan.json"))
    except ValueError as exc:
        raise BadInput(f"RUN: {run_dir / 'plan.json'}: {exc}") from None
    try:
        state = Journal.open(run_dir).state
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
    if state.plan is not None:
        mine = {(s.id, tuple(s.depends_on), str(s.kind)) for s in plan.steps}
        theirs = {(s.get("id"), tuple(s.get("depends_on", ())), s.get("kind")) for s in state.plan.get("steps", [])}
        if mine != theirs:
            raise BadInput(f"RUN: {run_dir / 'journal.jsonl'} was written for another plan than plan.json")


def _drive(project_dir: Path, run_dir: Path, run: dict[str, Any], workers: int, fresh: bool) -> dict[str, Any]:
    plan = plan_from_json(_read_json(run_dir / "plan.json"))
    profiles = _profiles_by_key(project_dir, run["stack"])
    data = DrillData(local_dir=Path(run["local_dir"]), database=run["database"], scale=int(run["scale"]))
    pair = LocalRegionPair(data.local_dir, run["primary_account"], run["secondary_account"])
    REDACTOR.add_secret(pair.geo_copy_key())
    with _stopped_on_exit(pair):
        prelude_path = run_dir / PRELUDE_FILE
        if not prelude_path.exists():
            if not fresh:
                progress_line("the run died before the disaster was staged: staging it again from nothing")
                reset_local_data(pair, data)
            prelude = run_prelude(pair, data, run_dir, progress_line)
        else:
            progress_line("restarting the secondary region's services from their data directories")
            pair.restart_secondary()
            prelude = _read_json(prelude_path)
        journal = Journal.open(run_dir, redact=REDACTOR)
        try:
            engine = Engine(plan, LocalTarget(pair, data, run_dir, profiles), journal, max_workers=workers,
                            on_event=_Progress(os.environ.get(PAUSE_ENV)))
            result = engine.run()
        finally:
            journal.close()
    return _finish(run_dir, run, plan, profiles, prelude, result)


def _profiles_by_key(project_dir: Path, stack: str) -> dict[str, DRProfile]:
    from orchestrator.commands import capture

    return {profile.key: profile for profile in profiles_in(capture(project_dir, stack))}


def _finish(run_dir: Path, run: dict[str, Any], plan, profiles, prelude: dict[str, Any], result: RunResult) -> dict[str, Any]:
    journal_state = Journal.open(run_dir).state
    records = []
    for step in plan.steps:
        rec = journal_state.steps.get(step.id)
        records.append(
            StepRecord(
                id=step.id,
                component=step.component,
                kind=step.kind,
                state=str(rec.state) if rec else "pending",
                attempts=rec.attempts if rec else 0,
                duration_s=rec.duration_s if rec else None,
                outputs=rec.outputs if rec else None,
                evidence=rec.evidence if rec else None,
                exercised=rec.exercised if rec and rec.exercised is not None else True,
                error=_error_text(rec),
            )
        )
    handover = next((r for r in records if r.kind == "handover" and r.state == "succeeded"), None)
    handover_at = (handover.outputs or {}).get("handover_at") if handover else None
    timings = {
        "disaster_at": prelude["disaster_at"],
        "handover_at": handover_at,
        "rto_s": _seconds_between(prelude["disaster_at"], handover_at),
    }
    replays = [r.outputs for r in records if r.kind == "replay" and r.state == "succeeded" and r.exercised and r.outputs]
    rehydrated = [r for r in records if r.kind == "rehydrate" and r.exercised]
    rpo = {
        "rpo_s_before_replay": max((o["rpo_before_replay_s"] for o in replays), default=None),
        "rpo_s_after_replay": max((o["rpo_after_replay_s"] for o in replays), default=None)
        if len(replays) == len(rehydrated) and replays
        else None,
    }
    report = build_report(
        run_id=run["run_id"], stack=run["stack"], kind=KIND, outcome=str(result.outcome), records=records,
        profiles=profiles, timings=timings, targets=run["targets"], rpo=rpo,
    )
    report["backup"] = prelude.get("backup")
    write_report(run_dir, report)
    summary = {
        "outcome": report["outcome"],
        "rto_s": report["rto_s"],
        "rpo_s_before_replay": report["rpo_s_before_replay"],
        "rpo_s_after_replay": report["rpo_s_after_replay"],
        "components": [
            {k: c[k] for k in ("name", "stateful", "exercised", "smoke", "validation")} for c in report["components"]
        ],
        "run_dir": str(run_dir),
        "run_id": run["run_id"],
        "report": str(run_dir / "report.md"),
    }
    return REDACTOR(summary)


def _error_text(rec) -> str | None:
    if rec is None:
        return None
    if rec.error:
        return str(rec.error.get("error") if isinstance(rec.error, dict) else rec.error)
    return rec.reason


def _seconds_between(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    if not start or not end:
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return round((parse(end) - parse(start)).total_seconds(), 3)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"RUN: {path.name} is missing in {path.parent}") from None
    except json.JSONDecodeError:
        raise BadInput(f"RUN: {path} is not valid JSON") from None


def _progress(event: dict[str, Any]) -> None:
    name = event.get("event", "")
    step = event.get("step")
    if not step:
        return
    detail = ""
    if name == "step_failed":
        detail = f": {event.get('error')}"
    elif name == "step_skipped":
        detail = f": {event.get('reason')}"
    elif name == "step_succeeded" and event.get("exercised") is False:
        detail = " (declared, not exercised locally)"
    progress_line(REDACTOR.text(f"{step} {name.removeprefix('step_')}{detail}"))


class _Progress:
    """The engine's on_event: progress lines, plus the DRCTL_TEST_PAUSE_AFTER test hook."""

    def __init__(self, pause_after: str | None) -> None:
        self.pause_after, self._armed = pause_after or None, False

    def __call__(self, event: dict[str, Any]) -> None:
        _progress(event)
        if self.pause_after is None:
            return
        if event.get("event") == "step_succeeded" and event.get("step") == self.pause_after:
            self._armed = True
        elif self._armed and event.get("event") == "step_started" and threading.current_thread() is threading.main_thread():
            # Pausing on a start (not inside the success record's bookkeeping) keeps the engine
            # consistent when Ctrl-C ends the pause: the started step is recorded as abandoned.
            self._armed = False
            progress_line(f"paused after {self.pause_after} ({PAUSE_ENV})")
            deadline = time.monotonic() + PAUSE_MAX_S
            while time.monotonic() < deadline:
                time.sleep(0.1)


@contextmanager
def _stopped_on_exit(pair: LocalRegionPair) -> Iterator[None]:
    """Every process the drill started is stopped when it ends: success, failure, Ctrl-C or SIGTERM."""

    def _terminate(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        try:
            pair.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
            sys.stderr.flush()
