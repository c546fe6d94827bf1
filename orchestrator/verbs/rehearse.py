"""`drctl rehearse --local`: the local drill, run as a rehearsal that always cleans up after itself.

A rehearsal is a drill with three more promises: it is marked before anything starts (a unique
name and an expiry, so `drctl cleanup` can find it if this process dies), it measures every step
against the plan's estimate and the whole against the RTO, and it tears down whatever happens
(success, failure, exception, Ctrl-C, SIGTERM). Locally the mark is
`<workdir>/local/<run-id>/.drctl-rehearsal.json`, the counterpart of the Azure tags, and teardown
stops the emulators and removes their data, recovered or not (a drill keeps a failed run's data
for `drctl resume`; a rehearsal is not resumed). The run directory stays: it is the evidence, now
with `rehearsal.json` (marker, timings, teardown) and a "Rehearsal" section in report.md.

The flow is orchestrator/verbs/drill.py's `run_local_drill`, called, not copied: its `on_start` hook is
where the marker is written, once the run id exists and before any emulator starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.progress import progress_line
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.redact import REDACTOR
from orchestrator.rehearsal.marks import DEFAULT_TTL_HOURS, MARKER, marker_document
from orchestrator.rehearsal.record import ended_by, record_rehearsal, step_timings
from orchestrator.rehearsal.teardown import teardown_local_dir, teardown_shielded
from orchestrator.run.lease import StackLease
from orchestrator.run.ownership import owner_fields
from orchestrator.stack import StackModel


def rehearse_local(stack: StackModel, primary: StackModel, workdir: Path, *, scale: int, workers: int,
                   ttl_hours: float = DEFAULT_TTL_HOURS, corrupt_latest_backup: str | None = None,
                   lease: StackLease | None = None) -> dict[str, Any]:
    """The drill's summary plus `rehearsal`: name, marker, timings, teardown. `lease`: the stack's,
    taken by the drill once its input is checked (orchestrator/run/lease.py)."""
    from orchestrator.verbs.drill import run_local_drill

    started: dict[str, Any] = {}

    def mark(run_dir: Path, run: dict[str, Any]) -> None:
        local_dir = Path(run["local_dir"])
        marker = marker_document(f"rehearsal-{run['run_id']}", ttl_hours, kind="local", stack=stack.name,
                                 run_dir=str(run_dir), **owner_fields())
        started.update(run_dir=run_dir, run=run, marker=marker, local_dir=local_dir)
        local_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(local_dir / MARKER, marker)
        run["rehearsal"] = marker["name"]  # in run.json: the run's data does not outlive it
        progress_line(f"rehearsal {marker['name']}: marked, expires {marker['expires_at']}")

    summary: dict[str, Any] | None = None
    record: dict[str, Any] = {}
    with sigterm_as_interrupt():  # SIGTERM reaches the teardown like Ctrl-C
        try:
            # keep_data: the drill would remove the data only when recovered; the rehearsal removes
            # it always, itself, marker last (teardown_local_dir).
            summary = run_local_drill(stack, primary, workdir, scale=scale, workers=workers, keep_data=True,
                                      on_start=mark, corrupt_latest_backup=corrupt_latest_backup, lease=lease)
        except BaseException as exc:
            record["outcome"] = ended_by(exc)
            raise
        finally:
            if started:  # nothing was marked or started otherwise: nothing to tear down
                with teardown_shielded():
                    teardown = teardown_local_dir(started["local_dir"])
                    _say_teardown(teardown)
                    record.update(started["marker"], outcome=summary["outcome"] if summary else record["outcome"],
                                  timings=step_timings(started["run_dir"], (summary or {}).get("rto_s")),
                                  teardown={**teardown, "complete": teardown["data_removed"] and not teardown["error"]})
                    record_rehearsal(started["run_dir"], record)
    # Reached only when the drill returned (an exception leaves through the finally above).
    return {**(summary or {}), "rehearsal": REDACTOR(record)}


def _say_teardown(teardown: dict[str, Any]) -> None:
    stopped = len(teardown["processes_stopped"])
    state = "removed" if teardown["data_removed"] else f"NOT removed ({teardown['error']})"
    progress_line(f"teardown: emulator data {state}; {stopped} leftover process(es) stopped")
