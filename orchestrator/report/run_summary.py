"""From a finished (or stopped) run's journal to its report, evidence files and JSON summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from components.profile import DRProfile
from orchestrator.atomic import make_dirs, write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.progress import progress_line
from orchestrator.model import Plan, StepKind
from orchestrator.plan.recovery import critical_path
from orchestrator.redact import REDACTOR
from orchestrator.report.bundle import seal, write_versions
from orchestrator.report.handover import StepRecord, build_report, write_formats, write_report
from orchestrator.report.rto_window import rto_window
from orchestrator.run.rundir import RunDir

SUMMARY_COMPONENT_KEYS = ("name", "stateful", "exercised", "status", "smoke", "validation")


def records_from_journal(plan: Plan, run_dir: Path) -> list[StepRecord]:
    """Every plan step as the journal last saw it (pending when it never started)."""
    state = Journal.open(run_dir).state
    records = []
    for step in plan.steps:
        rec = state.steps.get(step.id)
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
                started_at=rec.started_at if rec else None,
                finished_at=rec.finished_at if rec else None,
                description=step.description,
                retries=tuple(rec.retries) if rec else (),
            )
        )
    return records


def _error_text(rec: Any) -> str | None:
    if rec is None:
        return None
    if rec.error:
        return str(rec.error.get("error") if isinstance(rec.error, dict) else rec.error)
    return rec.reason


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def measured_rpo(records: list[StepRecord]) -> dict[str, float | None]:
    """Data missing after rehydration and after replay, the worst exercised store counting.

    After-replay is only known when every rehydrated store has replayed; until then it is None."""
    # Only the stores' replay steps measure RPO (a zone's re-processing step is a replay too).
    replayed = [r for r in records if r.kind == StepKind.REPLAY and r.state == "succeeded" and r.exercised
                and r.outputs and "rpo_before_replay_s" in r.outputs]
    replays = [r.outputs or {} for r in replayed]
    # The stores whose recovery was exercised: by their rehydrate step, or by their deploy step where a
    # service failover recovers the data there (Cosmos DB's has no rehydrate step).
    recovered = {r.component for r in records if r.exercised and (r.kind == StepKind.REHYDRATE or (
        r.kind == StepKind.DEPLOY and "recovered_data_timestamp" in (r.outputs or {})))}
    complete = bool(replays) and recovered <= {r.component for r in replayed}
    return {
        "rpo_s_before_replay": max((o["rpo_before_replay_s"] for o in replays), default=None),
        "rpo_s_after_replay": max(o["rpo_after_replay_s"] for o in replays) if complete else None,
    }


def write_step_evidence(run_dir: Path, records: list[StepRecord]) -> None:
    """evidence/<step>.json per step that ran: inputs' results, checks, timings (already redacted)."""
    make_dirs(RunDir(run_dir).evidence)
    for record in records:
        if record.state == "pending":
            continue
        write_json_atomic(
            RunDir(run_dir).step_evidence(record.id),
            REDACTOR(
                {
                    "step": record.id,
                    "component": record.component,
                    "kind": str(record.kind),
                    "state": record.state,
                    "attempts": record.attempts,
                    # each retried attempt: its error and the wait before the next (bounded by retry.py)
                    "retries": list(record.retries),
                    "duration_s": record.duration_s,
                    "exercised": record.exercised,
                    "outputs": record.outputs,
                    "evidence": record.evidence,
                    "error": record.error,
                }
            ),
        )


def finish_run(
    *,
    run_dir: Path,
    run: dict[str, Any],
    kind: str,
    plan: Plan,
    profiles: dict[str, DRProfile],
    outcome: str,
    disaster_at: str,
    extra: dict[str, Any] | None = None,
    appendix: str | None = None,
) -> dict[str, Any]:
    """Write report.json, report.md (with `appendix`, markdown, at its end) and evidence/, then the
    versions and the SHA256SUMS seal as the run's last write; return the run's JSON summary."""
    records = records_from_journal(plan, run_dir)
    handover = next((r for r in records if r.kind == StepKind.HANDOVER and r.state == "succeeded"), None)
    handover_at = (handover.outputs or {}).get("handover_at") if handover else None
    estimated_s, path = critical_path(plan)
    timings = {
        "disaster_at": disaster_at,
        "handover_at": handover_at,
        "rto_s": seconds_between(disaster_at, handover_at),
        "estimated_rto_s": estimated_s,
        "estimated_critical_path": path,
        "run_started_at": Journal.open(run_dir).state.started_at,  # the timeline's zero
        "rto_window": rto_window(records, disaster_at, handover_at),  # the deploy steps inside rto_s
    }
    report = build_report(
        run_id=run["run_id"], stack=run["stack"], kind=kind, outcome=outcome, records=records,
        profiles=profiles, timings=timings, targets=run["targets"], rpo=measured_rpo(records),
    )
    report.update(REDACTOR(extra or {}))
    write_step_evidence(run_dir, records)
    write_report(run_dir, report)
    write_formats(run_dir, report)  # report.html and junit.xml, before anything that seals the run
    if appendix:
        with open(RunDir(run_dir).report_md, "a", encoding="utf-8") as handle:
            handle.write(REDACTOR.text(appendix))
    _record_history(run_dir, run, report["outcome"])
    write_versions(run_dir, run)
    seal(run_dir)  # last: every file the run wrote is covered
    summary = {
        "outcome": report["outcome"],
        "outcome_line": report["outcome_line"],
        "components_exercised": report["components_exercised"],
        "components_declared": report["components_declared"],
        "rto_s": report["rto_s"],
        "rto_window": report["rto_window"],
        "rpo_s_before_replay": report["rpo_s_before_replay"],
        "rpo_s_after_replay": report["rpo_s_after_replay"],
        "components": [{k: c[k] for k in SUMMARY_COMPONENT_KEYS} for c in report["components"]],
        "run_dir": str(run_dir),
        "run_id": run["run_id"],
        "report": str(RunDir(run_dir).report_md),
    }
    waiting = [r.id for r in records if r.state == "waiting"]
    if waiting:  # gates a person must approve before `drctl resume` can go on
        summary["waiting_for"] = waiting
    return REDACTOR(summary)


def _record_history(run_dir: Path, run: dict[str, Any], outcome: str) -> None:
    """Every run that ends feeds `drctl plan`'s estimates. The recovery itself is done and reported
    by now: a history that cannot be written is said on stderr, not turned into a failed run."""
    from orchestrator.plan.history import record_run

    try:
        record_run(run_dir, run, outcome)
    except OSError as exc:
        progress_line(f"step durations not recorded in the history: {exc}")
