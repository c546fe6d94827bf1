"""What the measured RTO spans: from the disaster (a failover's declaration) to the handover, and
where each deploy step falls in it.

The RTO counts from the disaster, not from the run's start: a local drill stages the world before
the disaster, and its secondary region is deployed after it, so the redeploy is part of what is
measured. The report shows it step by step: each deploy step's start and end in seconds after the
disaster, and whether it lies inside the window.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.model import StepKind

if TYPE_CHECKING:
    from orchestrator.report.records import StepRecord


def _after(origin: str | None, instant: str | None) -> float | None:
    if not origin or not instant:
        return None
    return round((datetime.fromisoformat(instant) - datetime.fromisoformat(origin)).total_seconds(), 3)


def rto_window(records: list[StepRecord], disaster_at: str | None, handover_at: str | None) -> dict[str, Any]:
    """The window and its deploy steps. `deploy_inside`: every deploy step that ran started at or after
    the disaster and finished by the handover (None while there is no handover to measure to)."""
    end = _after(disaster_at, handover_at)
    steps = []
    for record in records:
        if record.kind != StepKind.DEPLOY or not record.started_at:
            continue
        started, finished = _after(disaster_at, record.started_at), _after(disaster_at, record.finished_at)
        inside = (None if end is None or started is None or finished is None
                  else 0 <= started <= finished <= end)
        steps.append({"step": record.id, "exercised": record.exercised, "state": record.state,
                      "started_after_disaster_s": started, "finished_after_disaster_s": finished, "inside": inside})
    verdicts = [s["inside"] for s in steps]
    return {"from": "disaster_at", "to": "handover_at", "seconds": end, "deploy_steps": steps,
            "deploy_inside": None if end is None or not steps or None in verdicts else all(verdicts)}


def rto_window_line(window: dict[str, Any] | None) -> str | None:
    """The report's line saying which deploy steps the measured RTO includes, or None."""
    if not window or not window.get("deploy_steps") or window.get("seconds") is None:
        return None
    shown = [s for s in window["deploy_steps"] if s["exercised"]]
    declared = len(window["deploy_steps"]) - len(shown)
    spans = ", ".join(f"{s['step']} +{s['started_after_disaster_s']:.2f} s to +{s['finished_after_disaster_s']:.2f} s"
                      for s in shown if s["finished_after_disaster_s"] is not None)
    where = "inside it" if window["deploy_inside"] else "NOT all inside it"
    return (f"- The measured RTO runs from the disaster to the handover; the deploy steps are {where}: "
            + (spans or "none exercised") + (f" (and {declared} declared only)" if declared else ""))
