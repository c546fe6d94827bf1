"""Progress of a run on stderr: one timestamped line per step transition.

Also the DRCTL_TEST_PAUSE_AFTER test hook (tests/test_drill_integration.py only): with
DRCTL_TEST_PAUSE_AFTER=<step id>, once that step's success is journaled the run blocks just before
it would journal the next step start, and says so ("paused after <step id>"), so a test can kill
or interrupt it at a known point. The pause ends by itself after PAUSE_MAX_S. Unset, nothing changes.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from orchestrator.redact import REDACTOR
from orchestrator.render import progress_line

PAUSE_ENV = "DRCTL_TEST_PAUSE_AFTER"
PAUSE_MAX_S = 300.0


def describe_event(event: dict[str, Any]) -> str | None:
    """The progress line for a journal record, or None for records that are not about a step."""
    name = event.get("event", "")
    step = event.get("step")
    if not step:
        return None
    detail = ""
    if name == "step_failed":
        detail = f": {event.get('error')}"
    elif name == "step_skipped":
        detail = f": {event.get('reason')}"
    elif name == "step_retrying":
        detail = f" (attempt {event.get('attempt')} failed: {event.get('error')})"
    elif name == "step_succeeded" and event.get("exercised") is False:
        detail = " (declared, not exercised: nothing here to run it against)"
    return REDACTOR.text(f"{step} {name.removeprefix('step_')}{detail}")


class ProgressReporter:
    """The engine's on_event callback."""

    def __init__(self, pause_after: str | None = None) -> None:
        self.pause_after = pause_after if pause_after is not None else os.environ.get(PAUSE_ENV) or None
        self._armed = False

    def __call__(self, event: dict[str, Any]) -> None:
        line = describe_event(event)
        if line:
            progress_line(line)
        if self.pause_after is not None:
            self._maybe_pause(event)

    def _maybe_pause(self, event: dict[str, Any]) -> None:
        if event.get("event") == "step_succeeded" and event.get("step") == self.pause_after:
            self._armed = True
        elif (
            self._armed
            and event.get("event") == "step_started"
            and threading.current_thread() is threading.main_thread()
        ):
            # Pausing on a start (not inside the success record's bookkeeping) keeps the engine
            # consistent when Ctrl-C ends the pause: the started step is recorded as abandoned.
            self._armed = False
            progress_line(f"paused after {self.pause_after} ({PAUSE_ENV})")
            deadline = time.monotonic() + PAUSE_MAX_S
            while time.monotonic() < deadline:
                time.sleep(0.1)
