"""The handover report: what was recovered, to which data timestamp, in how long, against targets.

Built from the run's step records only (state, outputs, evidence), so a resumed run and a fresh
one report the same way. Writes report.json and report.md into the run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.atomic import write_atomic
from orchestrator.model import StepKind
from orchestrator.redact import REDACTOR
from orchestrator.report.html import render_html
from orchestrator.report.junit import run_junit, to_text
from orchestrator.report.records import StepRecord
from orchestrator.report.restore_point import generation_line, restored_points, rpo_basis_line
from orchestrator.report.rto_window import rto_window_line
from orchestrator.run.rundir import RunDir

# The rehydrate outputs of a physical restore that the report shows (orchestrator/targets/local/stores/postgres.py).
POINT_IN_TIME = ("recovery_point", "recovery_target", "restored_lsn", "restored_batch", "restored_batch_data_end",
                 "last_recovered_commit_at", "archive_lag_s")


def _smoke_status(steps: list[StepRecord]) -> str:
    smoke = [s for s in steps if s.kind == StepKind.SMOKE]
    if not smoke:
        return "none"
    step = smoke[0]
    if step.state != "succeeded":
        return {"failed": "failed", "skipped": "skipped"}.get(step.state, "not run")
    return "passed" if step.exercised else "not exercised"


def _validation_status(profile: DRProfile | None, steps: list[StepRecord]) -> str:
    validate = [s for s in steps if s.kind == StepKind.VALIDATE]
    if not validate:
        if profile is None or not profile.stateful or profile.recovery_action == RecoveryAction.SAAS:
            return "n/a"  # stateless, or the service's own provider recovers its data
        replayed = [s for s in steps if s.kind == StepKind.REPLAY and s.state == "succeeded"]
        return "by replay only" if any(s.exercised for s in replayed) else "not exercised"
    step = validate[0]
    if step.state == "succeeded":
        if not step.exercised:
            return "not exercised"
        return "exact" if (step.evidence or {}).get("exact") else "mismatch"
    return {"failed": "mismatch" if (step.evidence or {}).get("exact") is False else "failed", "skipped": "skipped"}.get(
        step.state, "not run"
    )


def _recovery(steps: list[StepRecord], smoke: str, validation: str, outputs: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether the component is recovered (None: not exercised, so not proven either way), and one
    sentence saying so with the reason: the step that failed and its error, or what was skipped and why."""
    failed = [s for s in steps if s.state == "failed"]
    skipped: dict[str, list[str]] = {}
    for s in steps:
        if s.state == "skipped":
            skipped.setdefault(s.error or "a step it depends on did not succeed", []).append(s.id)
    other = [f"{s.id} {s.state}" for s in steps if s.state not in ("succeeded", "failed", "skipped")]
    if failed or skipped or other:
        reasons = [f"{s.id} failed ({s.error or 'no error recorded'})" for s in failed]
        reasons += [f"{', '.join(ids)} skipped ({why})" for why, ids in skipped.items()]
        return False, "NOT recovered: " + "; ".join(reasons + other)
    if not any(s.exercised for s in steps):
        return None, "declared, not exercised: not proven recovered"
    proofs = {"exact": "validated exact against its backup", "by replay only": "rebuilt by replay"}
    said = [proofs.get(validation), "smoke test passed" if smoke == "passed" else None]
    if outputs.get("recovered_data_timestamp"):
        said.append(f"data recovered to {outputs['recovered_data_timestamp']}, "
                    f"after replay {outputs.get('data_timestamp') or '-'}")
    return True, "recovered" + "".join(f"; {s}" for s in said if s)



RECOVERED, FAILED, NOT_EXERCISED, INCOMPLETE = "recovered", "failed", "not_exercised", "incomplete"


def component_counts(outcome: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    """How much of the outcome drctl did: components exercised, and those only declared, in one line
    ("recovered: 2 of 13 components exercised, 11 declared only") that every output repeats."""
    exercised = sum(1 for c in components if c["status"] != NOT_EXERCISED)
    declared = len(components) - exercised
    return {"components_exercised": exercised, "components_declared": declared,
            "outcome_line": f"{outcome}: {exercised} of {len(components)} components exercised, {declared} declared only"}


def component_status(steps: list[StepRecord]) -> str:
    """recovered: every step succeeded, and its checks ran (each smoke and validate step exercised):
    drctl did the work and proved it; failed: a step failed; not_exercised: its steps succeeded,
    but some of its checks only as declared (a deploy that ran proves nothing until its checks
    run); incomplete: the run stopped before its steps ended."""
    states = {s.state for s in steps}
    if "failed" in states:
        return FAILED
    if states != {"succeeded"}:
        return INCOMPLETE
    checked = [s for s in steps if s.kind in (StepKind.SMOKE, StepKind.VALIDATE)]
    if any(s.exercised for s in steps) and all(s.exercised for s in checked):
        return RECOVERED
    return NOT_EXERCISED


def component_reports(records: list[StepRecord], profiles: dict[str, DRProfile]) -> list[dict[str, Any]]:
    by_component: dict[str, list[StepRecord]] = {}
    for record in records:
        if record.component != "platform":
            by_component.setdefault(record.component, []).append(record)
    reports = []
    for name, steps in by_component.items():
        profile = profiles.get(name)
        status = component_status(steps)
        outputs: dict[str, Any] = {}
        for step in steps:
            outputs.update(step.outputs or {})
        smoke, validation = _smoke_status(steps), _validation_status(profile, steps)
        recovered, recovery = _recovery(steps, smoke, validation, outputs)
        reports.append(
            {
                "name": name,
                "title": profile.title if profile else name,
                "stateful": bool(profile and profile.stateful),
                "recovery_action": str(profile.recovery_action) if profile else None,
                "exercised": status != NOT_EXERCISED and any(s.exercised for s in steps if s.state == "succeeded"),
                "status": status,
                "smoke": smoke,
                "validation": validation,
                "recovered": recovered,  # None: declared, not exercised
                "recovery": recovery,
                "recovered_data_timestamp": outputs.get("recovered_data_timestamp"),
                "data_timestamp": outputs.get("data_timestamp"),
                "endpoints": outputs.get("endpoints", {}),
                # which backup generation its rehydration restored, and how many newer ones it skipped as bad
                "backup_generation": outputs.get("backup_generation"),
                "backup_generations_skipped": outputs.get("backup_generations_skipped"),
                # the restored generation's point (the end of its data) and the --recovery-point asked for
                "backup_point": outputs.get("backup_point"),
                "recovery_point": outputs.get("recovery_point"),
                "restore_note": outputs.get("restore_note"),  # e.g. what of the way it was restored was not exercised
                # a physical restore (PostgreSQL): the WAL position reached, and the archive's lag behind the disaster
                "restored_to": {k: outputs.get(k) for k in POINT_IN_TIME} if "restored_lsn" in outputs else None,
                "steps": [s.id for s in steps],
            }
        )
    return reports


def build_report(
    *,
    run_id: str,
    stack: str,
    kind: str,
    outcome: str,
    records: list[StepRecord],
    profiles: dict[str, DRProfile],
    timings: dict[str, Any],
    targets: dict[str, float],
    rpo: dict[str, Any],
) -> dict[str, Any]:
    components = component_reports(records, profiles)
    failures = [
        {"step": r.id, "state": r.state, "error": r.error}
        for r in records
        if r.state in ("failed", "skipped") or (r.state not in ("succeeded",) and r.error)
    ]
    unfinished = [r.id for r in records if r.state != "succeeded"]
    rto_s = timings.get("rto_s")
    rpo_after = rpo.get("rpo_s_after_replay")
    report = {
        "run_id": run_id,
        "stack": stack,
        "kind": kind,
        "outcome": outcome,
        **timings,
        "rto_target_s": targets["rto_s"],
        "rto_met": rto_s is not None and rto_s <= targets["rto_s"],
        "rpo_target_s": targets["rpo_s"],
        "rpo_met": rpo_after is not None and rpo_after <= targets["rpo_s"],
        **rpo,
        "handover": {"complete": not unfinished, "blocked_by": unfinished},
        **component_counts(outcome, components),
        "components": components,
        "steps": [
            {
                "id": r.id,
                "component": r.component,
                "kind": str(r.kind),
                "state": r.state,
                "attempts": r.attempts,
                "duration_s": r.duration_s,
                "exercised": r.exercised,
                "error": r.error,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "description": r.description,
            }
            for r in records
        ],
        "failures": failures,
    }
    return REDACTOR(report)


def write_report(run_dir: Path, report: dict[str, Any]) -> None:
    write_atomic(RunDir(run_dir).report_json, json.dumps(report, indent=2) + "\n")
    write_atomic(RunDir(run_dir).report_md, render_markdown(report))


def write_formats(run_dir: Path, report: dict[str, Any]) -> None:
    """report.html (the report with its timeline, opening offline) and junit.xml (the smoke and data
    checks for CI reporters), from the report and the evidence/ files already written."""
    write_atomic(RunDir(run_dir).report_html, REDACTOR.text(render_html(report)))
    write_atomic(RunDir(run_dir).junit_xml, REDACTOR.text(to_text(run_junit(report, Path(run_dir)))))


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} s"


def _cell(text: str) -> str:
    # An error may hold a | or a line break; either would end the table cell (and the row) early.
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Handover report: {report['kind']} of stack `{report['stack']}`",
        "",
        f"- Run: `{report['run_id']}`",
        f"- Outcome: **{report['outcome']}**; handover "
        + ("complete" if report["handover"]["complete"] else "blocked by " + ", ".join(report["handover"]["blocked_by"])),
        # A fallback's clock starts when the fallback does: there is no disaster to count from.
        f"- {'Fallback started' if str(report['kind']).startswith('fallback') else 'Disaster declared'}: "
        f"{report.get('disaster_at', '-')}; handover: {report.get('handover_at', '-')}",
        f"- RTO measured {_seconds(report.get('rto_s'))} against a target of {_seconds(report['rto_target_s'])}: "
        + ("met" if report["rto_met"] else "NOT met"),
        *([line] if (line := rto_window_line(report.get("rto_window"))) else []),
        f"- Estimated RTO from the plan (critical path, Azure timings): {_seconds(report.get('estimated_rto_s'))}",
        f"- RPO before replay {_seconds(report.get('rpo_s_before_replay'))}, after replay "
        f"{_seconds(report.get('rpo_s_after_replay'))}, target {_seconds(report['rpo_target_s'])}: "
        + ("met" if report["rpo_met"] else "NOT met"),
        *([f"- {line}"] if (line := rpo_basis_line(report)) else []),
        "",
        "## Components",
        "",
        "| component | stateful | exercised | status | smoke | validation | recovered to | after replay |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in report["components"]:
        lines.append(
            f"| {c['title']} | {'yes' if c['stateful'] else 'no'} | "
            f"{'yes' if c['exercised'] else 'declared, not exercised locally'} | {c['status']} | {c['smoke']} | "
            f"{c['validation']} | {c['recovered_data_timestamp'] or '-'} | {c['data_timestamp'] or '-'} |"
        )
    lines += ["", "## What is and is not recovered", ""]
    lines += [f"- {c['title']} (`{c['name']}`): {c['recovery']}" for c in report["components"] if "recovery" in c]
    endpoints = [(c["title"], k, v) for c in report["components"] for k, v in (c["endpoints"] or {}).items()]
    if endpoints:
        lines += ["", "## Endpoints of the recovered platform", ""]
        lines += [f"- {title}: {key} = `{value}`" for title, key, value in endpoints]
    restored = restored_points(report)
    if restored:
        lines += ["", "## Backup generations restored", ""]
        if report.get("recovery_point"):
            lines += [f"Recovery point asked for (`--recovery-point`): {report['recovery_point']}", ""]
        lines += [f"- {generation_line(c, report.get('recovery_point'))}" for c in restored]
    points = [c for c in report["components"] if c.get("restored_to")]
    if points:
        lines += ["", "## Restored to a point in its WAL", ""]
        lines += [f"- {c['title']}: {p['recovery_target']}"
                  + (f" (recovery point {p['recovery_point']})" if p.get("recovery_point") else "")
                  + f"; reached LSN {p['restored_lsn']}: batch {p['restored_batch']}, data to "
                  f"{p['restored_batch_data_end']}; last recovered commit {p['last_recovered_commit_at']}, "
                  f"archive lag {p['archive_lag_s']} s before the disaster (wall clock: the RPO before replay)"
                  for c in points for p in (c["restored_to"],)]
    lines += ["", "## Steps", "", "| step | state | attempts | duration | detail |", "| --- | --- | --- | --- | --- |"]
    for s in report["steps"]:
        detail = s["error"] or ("" if s["exercised"] else "declared, not exercised locally")
        lines.append(f"| {s['id']} | {s['state']} | {s['attempts']} | {_seconds(s['duration_s'])} | {_cell(detail)} |")
    if report["failures"]:
        lines += ["", "## Failures", ""]
        lines += [f"- `{f['step']}` {f['state']}: {f['error'] or ''}" for f in report["failures"]]
    return "\n".join(lines) + "\n"
