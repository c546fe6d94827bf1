"""A rehearsal's record: each step's measured time against the plan's estimate, the run against the
RTO, and how it ended; kept as rehearsal.json in the run directory and as a section of report.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.model import StepKind
from orchestrator.plan.recovery import critical_path, plan_from_json
from orchestrator.redact import REDACTOR
from orchestrator.run.rundir import RunDir


def ended_by(exc: BaseException) -> str:
    """The outcome of a rehearsal that raised instead of returning a summary."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {type(exc).__name__}"


def step_timings(run_dir: Path, rto_s: float | None) -> dict[str, Any]:
    """Each step's measured duration against the plan's estimate, and the run against the RTO."""
    try:
        plan = plan_from_json(json.loads(RunDir(run_dir).plan_json.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {"steps": [], "rto": None}
    steps = Journal.open(run_dir).state.steps
    rows = []
    for step in plan.steps:
        record = steps.get(step.id)
        measured = round(record.duration_s, 3) if record is not None and record.duration_s is not None else None
        exercised = record.exercised is not False if record is not None else None
        rows.append({
            "step": step.id, "kind": str(step.kind), "state": str(record.state) if record else "pending",
            "exercised": exercised, "estimate_s": step.estimate_s, "measured_s": measured,
            # A step declared but not exercised ran nothing: its time says nothing about the estimate.
            "ratio": _ratio(measured, step.estimate_s) if exercised else None,
        })
    estimated_s, path = critical_path(plan)
    return {
        "steps": rows,
        "rto": {"target_s": plan.rto_target_s, "estimated_s": estimated_s, "measured_s": rto_s,
                "ratio": _ratio(rto_s, estimated_s),
                "within_target": None if rto_s is None else rto_s <= plan.rto_target_s,
                "critical_path": path},
        # Gates are people's time on the day; a rehearsal approves them itself.
        "note": "gates are approved by drctl in a rehearsal: their times are not a person's"
                if any(s.kind == StepKind.GATE for s in plan.steps) else None,
    }


def _ratio(measured: float | None, estimate: float | None) -> float | None:
    if measured is None or not estimate:
        return None
    return float(f"{measured / estimate:.3g}")  # significant digits: local steps are tiny fractions of Azure's


def timings_markdown(timings: dict[str, Any]) -> str:
    lines = ["| step | estimate | measured | ratio |", "| --- | ---: | ---: | ---: |"]
    for row in timings["steps"]:
        measured = fmt_seconds(row["measured_s"]) + ("" if row["exercised"] is not False else " (not exercised)")
        lines.append(f"| {row['step']} | {fmt_seconds(row['estimate_s'])} | {measured} | {fmt_ratio(row['ratio'])} |")
    rto = timings.get("rto")
    if rto:
        lines += ["", rto_line(rto)]
    return "\n".join(lines)


def rto_line(rto: dict[str, Any]) -> str:
    return (f"RTO: measured {fmt_seconds(rto['measured_s'])} against {fmt_seconds(rto['estimated_s'])} estimated "
            f"({fmt_ratio(rto['ratio'])}); target {fmt_seconds(rto['target_s'])}")


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}x"


def record_rehearsal(run_dir: Path, record: dict[str, Any]) -> None:
    """rehearsal.json in the run directory, and the same as a section of report.md (when there is one)."""
    record = REDACTOR(record)
    write_json_atomic(RunDir(run_dir).rehearsal_json, record)
    report = RunDir(run_dir).report_md
    if report.exists():
        teardown = record["teardown"]
        section = [
            "", "## Rehearsal", "",
            f"{record['name']}: created {record['created_at']}, expires {record['expires_at']}; "
            f"outcome {record['outcome']}.", "",
            timings_markdown(record["timings"]), "",
            f"Teardown: {'complete' if teardown['complete'] else 'INCOMPLETE'} — "
            + ", ".join(f"{k} {v}" for k, v in teardown.items() if k != "complete"), "",
        ]
        with open(report, "a", encoding="utf-8") as handle:
            handle.write("\n".join(section))
