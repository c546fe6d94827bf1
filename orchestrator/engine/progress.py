"""Progress of a run on stderr: a live progress bar on a terminal, else one timestamped line per
step transition (logs, CI, a pipe: plain lines a person or a log search can read later).

Also the DRCTL_TEST_PAUSE_AFTER test hook (tests/integration/test_drill.py only): with
DRCTL_TEST_PAUSE_AFTER=<step id>, once that step's success is journaled the run blocks just before
it would journal the next step start, and says so ("paused after <step id>"), so a test can kill
or interrupt it at a known point. The pause ends by itself after PAUSE_MAX_S. Unset, nothing changes.
And the DRCTL_TEST_KILL_AT hook (orchestrator/engine/crashpoint.py), which SIGKILLs the run at a chosen point.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from orchestrator.engine.crashpoint import kill_switch_from_env
from orchestrator.redact import REDACTOR

PAUSE_ENV = "DRCTL_TEST_PAUSE_AFTER"
PAUSE_MAX_S = 300.0


def progress_line(message: str) -> None:
    """Plain timestamped progress on stderr (stdout is kept for results)."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"{stamp} {message}", file=sys.stderr, flush=True)


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


# Journal events after which a step will not run again in this run.
_ENDED = frozenset({"step_succeeded", "step_skipped", "step_waiting", "step_abandoned"})


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


class ProgressReporter:
    """The engine's on_event callback. With `total_steps` and a terminal (or `live=True`), a rich
    progress bar: steps done of the plan, the ones running, and each transition logged above it."""

    def __init__(self, total_steps: int | None = None, *, done: int = 0, live: bool | None = None,
                 console: Console | None = None, pause_after: str | None = None) -> None:
        self.pause_after = pause_after if pause_after is not None else os.environ.get(PAUSE_ENV) or None
        self._armed = False
        self.total, self.done = total_steps, done
        self.live = (total_steps is not None and stderr_is_terminal()) if live is None else live
        self.console = console
        self._bar: Progress | None = None
        self._task: Any = None
        self._running: list[str] = []
        self._kill = kill_switch_from_env()

    def __call__(self, event: dict[str, Any]) -> None:
        line = describe_event(event)
        if self.live:
            self._show(event, line)
        elif line:
            progress_line(line)
        if self.pause_after is not None:
            self._maybe_pause(event)
        if self._kill is not None:
            self._kill(event)  # last: the line above is on stderr when the kill lands

    def _show(self, event: dict[str, Any], line: str | None) -> None:
        if self._bar is None:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console or Console(stderr=True))
            self._task = self._bar.add_task("recovery", total=self.total, completed=self.done)
            self._bar.start()
        name, step = event.get("event", ""), event.get("step")
        if line:
            self._bar.console.log(line)
        if name == "step_started" and step is not None and step not in self._running:
            self._running.append(step)
        elif step in self._running and (name in _ENDED or (name == "step_failed" and event.get("final"))):
            self._running.remove(step)
        if name in _ENDED or (name == "step_failed" and event.get("final")):
            self._bar.advance(self._task)
        running = ", ".join(self._running[:3]) + (f" +{len(self._running) - 3}" if len(self._running) > 3 else "")
        self._bar.update(self._task, description=f"running: {running}" if running else "recovery", refresh=True)
        if name in ("run_finished", "run_interrupted"):
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

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


def progress_for(plan: Any, journal: Any) -> ProgressReporter:
    """The reporter for a run of `plan`; a resumed run's bar starts at the steps already done."""
    done = sum(1 for record in journal.state.steps.values() if str(record.state) in ("succeeded", "skipped"))
    return ProgressReporter(len(plan.steps), done=done)
