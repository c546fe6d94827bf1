"""One step of a run as the reports read it: from the journal and the step's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.model import StepKind


@dataclass(frozen=True)
class StepRecord:
    id: str
    component: str
    kind: StepKind
    state: str
    attempts: int = 0
    duration_s: float | None = None
    outputs: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    exercised: bool = True
    error: str | None = None
    # For report.html's timeline: when the step last started and finished (journal, ISO 8601), and
    # what the plan says it does.
    started_at: str | None = None
    finished_at: str | None = None
    description: str = ""
    # The attempts that failed and were retried (journal step_retrying events), for evidence/<step>.json.
    retries: tuple[dict[str, Any], ...] = ()
