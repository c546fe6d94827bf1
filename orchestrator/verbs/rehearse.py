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

import json
import signal
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.progress import progress_line
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.model import StepKind
from orchestrator.plan.recovery import critical_path, plan_from_json
from orchestrator.redact import REDACTOR
from orchestrator.run.lease import StackLease
from orchestrator.run.ownership import iso, owner_fields
from orchestrator.run.rundir import RunDir
from orchestrator.stack import StackModel
from orchestrator.verbs.cleanup import MARKER, teardown_local_dir

DEFAULT_TTL_HOURS = 4.0


def marker_document(name: str, ttl_hours: float, now: datetime | None = None, **extra: Any) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    return {"name": name, "created_at": iso(now), "expires_at": iso(now + timedelta(hours=ttl_hours)),
            "ttl_hours": ttl_hours, **extra}


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
    with interrupts_as_keyboard_interrupt():
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


def ended_by(exc: BaseException) -> str:
    """The outcome of a rehearsal that raised instead of returning a summary."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {type(exc).__name__}"


def _say_teardown(teardown: dict[str, Any]) -> None:
    stopped = len(teardown["processes_stopped"])
    state = "removed" if teardown["data_removed"] else f"NOT removed ({teardown['error']})"
    progress_line(f"teardown: emulator data {state}; {stopped} leftover process(es) stopped")


# -- timings -------------------------------------------------------------------------------------


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
                "ratio": _ratio(rto_s, estimated_s), "within_target": None if rto_s is None else rto_s <= plan.rto_target_s,
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


# -- the record ------------------------------------------------------------------------------------


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


# -- signals ---------------------------------------------------------------------------------------


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


interrupts_as_keyboard_interrupt = sigterm_as_interrupt  # SIGTERM reaches the teardown like Ctrl-C


@contextmanager
def teardown_shielded(say: Callable[[str], None] = progress_line) -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored while tearing down: a teardown cut short is exactly the leftover
    a rehearsal promises not to leave. (Ignored signals stay ignored in the children it starts, so
    `pulumi destroy` is not cancelled by the same keypress either.) SIGKILL still works."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    say("tearing down the rehearsal (Ctrl-C is ignored until it is done)")
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
