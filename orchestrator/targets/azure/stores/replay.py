"""Replay on Azure: re-run the platform's own ingestion pipeline over the event time a store is missing.

The platform ingests with Data Factory, so replay runs the repository's `ingest_events` pipeline
over an event-time window that starts at what the store's rehydrate step recovered (the same window
a local drill gives the local pipeline runner: orchestrator/data/event_time.py), and polls the run
until it ends:
https://learn.microsoft.com/rest/api/datafactory/pipelines/create-run
https://learn.microsoft.com/rest/api/datafactory/pipeline-runs/get

The window is event time, not Last-Modified: the pipeline copies the landing zone's hour
partitions (landing/events/yyyy/MM/dd/HH), whose names a server-side copy keeps, whereas Copy
Blob gives every rehydrated file a new Last-Modified (pipelines/ingest_events.json). It starts
INGEST_LOOKBACK_HOURS before the recovered timestamp (the hourly schedule may not have taken the
last files of those hours yet; copying an hour again overwrites the same names) and ends when the
run is created, so everything the landing zone holds after the recovered point is ingested.

A run is created once per step: its id and window are recorded in the run directory before
polling, so a retried (or resumed) step polls the same run instead of copying the same files again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from components.data_factory_triggers import INGEST_PIPELINE, WINDOW_END, WINDOW_START
from orchestrator.atomic import make_dirs, write_json_atomic
from orchestrator.data.event_time import ReplayWindow, as_utc, hour_of, iso_z, replay_window
from orchestrator.model import PermanentError, StepOutcome, TransientError
from orchestrator.run.rundir import RunDir
from orchestrator.targets.azure.errors import call, redact

PIPELINE = INGEST_PIPELINE
# Where the pipeline writes the hours it ingests: raw/events/yyyy/MM/dd/HH (pipelines/datasets/events_raw.json).
RAW_CONTAINER, RAW_EVENTS = "raw", "events"
# The stores that pipeline writes. PostgreSQL and Azure SQL are not loaded by any pipeline of the
# repository, so running it would not bring their delta back: their replay stays not exercised.
REPLAYED_BY_PIPELINE = {"lake": PIPELINE}

# Pipeline run statuses: https://learn.microsoft.com/azure/data-factory/monitor-programmatically
RUNNING = frozenset({"Queued", "InProgress", "Canceling"})
ENDED_BADLY = frozenset({"Failed", "Cancelled"})


def run_pipeline(adf: Any, resource_group: str, factory: str, pipeline: str, parameters: dict[str, str], *,
                 poll_interval_s: float = 15.0, timeout_s: float = 2 * 3600,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 run_id: str | None = None, on_started: Callable[[str], None] | None = None) -> dict:
    """Run `pipeline` with `parameters` (or keep polling `run_id`) until it succeeds.

    Succeeded: the run's evidence. Failed or Cancelled: PermanentError with the run's message.
    Still queued or running after `timeout_s`: TransientError (the run goes on in Azure; the
    retried step finds it by its recorded id). HTTP errors are classified by errors.call."""
    where = f"data factory {factory}, pipeline {pipeline}"
    if run_id is None:
        created = call(f"{where}: create run", adf.pipelines.create_run, resource_group, factory, pipeline,
                       parameters=parameters)
        run_id = created.run_id
        if not run_id:
            raise PermanentError(f"{where}: the service created a run without a runId")
        if on_started is not None:
            on_started(run_id)
    deadline = clock() + timeout_s
    while True:
        run = call(f"{where}: run {run_id}", adf.pipeline_runs.get, resource_group, factory, run_id)
        evidence = run_evidence(run, pipeline, parameters)
        status = evidence["status"]
        if status == "Succeeded":
            return evidence
        if status in ENDED_BADLY:
            raise PermanentError(f"{where}: run {run_id} ended {status}: {evidence['message'] or 'no message'}",
                                 evidence)
        if status not in RUNNING:
            raise PermanentError(f"{where}: run {run_id} has status {status!r}, which drctl does not know", evidence)
        left = deadline - clock()
        if left <= 0:
            raise TransientError(f"{where}: run {run_id} still {status} after {timeout_s:.0f}s")
        sleep(min(poll_interval_s, left))


def run_evidence(run: Any, pipeline: str, parameters: dict[str, str]) -> dict:
    """The run as the service reports it; `parameters` are the service's record of what the run was
    given (the requested ones where the answer has none)."""
    start, end = getattr(run, "run_start", None), getattr(run, "run_end", None)
    recorded = getattr(run, "parameters", None) or {}
    return {"run_id": run.run_id, "pipeline": getattr(run, "pipeline_name", None) or pipeline,
            "status": str(run.status), "run_start": iso_z(start) if start else None,
            "run_end": iso_z(end) if end else None, "duration_ms": getattr(run, "duration_in_ms", None),
            "parameters": {key: str(recorded.get(key, value)) for key, value in parameters.items()},
            "message": redact(run.message) if getattr(run, "message", None) else None}


def newest_event_hour(raw: Any, window: ReplayWindow) -> datetime | None:
    """The newest hour partition of `window` that holds an event file in the raw zone, or None.

    Walks raw/events/ down its year, month, day and hour folders, newest first, into those that can
    hold an hour of the window: a handful of listings, however long the window."""
    first = hour_of(as_utc(window.start))
    last = hour_of(as_utc(window.end) - timedelta(microseconds=1))  # the window's end is exclusive
    return _newest_under(raw, f"{RAW_EVENTS}/", first, last)


def _newest_under(raw: Any, prefix: str, first: datetime, last: datetime) -> datetime | None:
    children = call(f"lake: list raw/{prefix}", lambda: sorted(
        (item.name for item in raw.walk_blobs(name_starts_with=prefix, delimiter="/") if item.name.endswith("/")),
        reverse=True))
    for child in children:
        span = _span(child[len(RAW_EVENTS) + 1:].strip("/").split("/"))
        if span is None or span[1] < first or span[0] > last:
            continue
        if child.count("/") == 5:  # events/yyyy/MM/dd/HH/: an hour, if a file is in it
            if call(f"lake: list raw/{child}", lambda child=child: next(iter(raw.list_blobs(
                    name_starts_with=child, results_per_page=1)), None)) is not None:
                return span[0]
            continue
        found = _newest_under(raw, child, first, last)
        if found is not None:
            return found
    return None


def _span(parts: list[str]) -> tuple[datetime, datetime] | None:
    """The first and last hour a partition folder (yyyy[/MM[/dd[/HH]]]) covers; None if it is not one."""
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts] + [1, 1, 0][len(parts) - 1:]
    try:
        start = datetime(numbers[0], numbers[1], numbers[2], numbers[3], tzinfo=UTC)
    except ValueError:
        return None
    if len(parts) == 1:
        end = start.replace(year=start.year + 1)
    elif len(parts) == 2:
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    else:
        end = start + timedelta(days=1 if len(parts) == 3 else 0, hours=1 if len(parts) == 4 else 0)
    return start, end - timedelta(hours=1)


def replay_store(adf: Any, component: str, rehydrated: dict, *, resource_group: str, factory: str,
                 record_dir: Path, now: Callable[[], datetime], lake_raw: Callable[[], Any],
                 disaster_at: str | None = None, before_run: Callable[[], dict] | None = None,
                 **polling: Any) -> StepOutcome:
    """The replay step of `component`: run its pipeline over the event time after the recovered data
    timestamp that `<component>.rehydrate` recorded, and report the RPO before and after as the
    local drill does: event time missing at the disaster (`disaster_at`, else now), before and after.

    After the run, the store's data timestamp is the start of the newest event hour the raw zone
    (`lake_raw()`, its container client) holds in the window, or the recovered timestamp if that is
    later: what was replayed, read back, never assumed. An hour partition says its events are at
    least that recent, so the after-replay RPO is an upper bound, an hour coarse at most.

    `before_run` is called before a new run is created (not when polling a recorded one); it raises
    when the pipeline cannot run (the lake unreachable) and returns evidence."""
    pipeline = REPLAYED_BY_PIPELINE[component]
    recovered = rehydrated.get("recovered_data_timestamp")
    if not recovered:
        # Without a starting point, the only window is the whole landing history.
        raise PermanentError(f"{component}.rehydrate recorded no recovered data timestamp: drctl will not run "
                             f"{pipeline} over the whole landing history (it would re-ingest everything); "
                             "find the store's data timestamp and run the pipeline by hand",
                             {"rehydrate_outputs": sorted(rehydrated)})
    watermark = iso_z(recovered)
    reference = as_utc(disaster_at) if disaster_at else as_utc(now())
    record = record_dir / f"{component}.json"
    run_id, window = _recorded_run(record, watermark)
    reachability = None
    if run_id is None or window is None:
        run_id, window = None, replay_window(watermark, now())
        reachability = before_run() if before_run is not None else None
    evidence = run_pipeline(
        adf, resource_group, factory, pipeline, window.parameters(), run_id=run_id,
        on_started=lambda new_id: _record_run(record, new_id, watermark, window), **polling)
    # The window as the service recorded it: what the run was really asked to copy.
    ran = ReplayWindow(evidence["parameters"][WINDOW_START], evidence["parameters"][WINDOW_END])
    newest_hour = newest_event_hour(lake_raw(), ran)
    data_end = max(as_utc(watermark), newest_hour) if newest_hour is not None else as_utc(watermark)
    return StepOutcome(
        outputs={
            "data_timestamp": iso_z(data_end),
            "rpo_before_replay_s": _seconds(reference, as_utc(watermark)),
            # Event time between the newest the lake holds and the disaster: what the landing zone
            # never received (lost before the geo copy's last sync, not re-sent) stays missing.
            "rpo_after_replay_s": _seconds(reference, data_end),
            "pipeline_run_id": evidence["run_id"],
        },
        evidence={**evidence, "recovered_data_timestamp": watermark, "factory": factory,
                  "rpo_reference": iso_z(reference), "rpo_reference_is": "disaster_at" if disaster_at else "now",
                  "newest_event_hour": iso_z(newest_hour) if newest_hour is not None else None,
                  "rpo_resolution_s": 3600, "resumed_run": run_id is not None,
                  **({"lake_endpoints": reachability} if reachability is not None else {})})


def _seconds(later: datetime, earlier: datetime) -> float:
    return round(max(0.0, (later - earlier).total_seconds()), 3)


def disaster_at(run_dir: Path) -> str | None:
    """The run's disaster time (run.json, `disaster_at`), which the RPO is measured against; None
    without one (then the RPO is measured against now)."""
    try:
        run = json.loads(RunDir(run_dir).run_json.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    value = run.get("disaster_at") if isinstance(run, dict) else None
    return value if isinstance(value, str) and value else None


def _recorded_run(record: Path, watermark: str) -> tuple[str | None, ReplayWindow | None]:
    """The run an earlier attempt created for the same watermark, and its window, if any."""
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None, None
    if recorded.get("watermark") != watermark or not recorded.get("window_start") or not recorded.get("window_end"):
        return None, None  # another starting point, or a run of the Last-Modified pipeline: not this replay's
    return recorded.get("run_id"), ReplayWindow(recorded["window_start"], recorded["window_end"])


def _record_run(record: Path, run_id: str, watermark: str, window: ReplayWindow) -> None:
    make_dirs(record.parent)
    write_json_atomic(record, {"run_id": run_id, "watermark": watermark, "window_start": window.start,
                               "window_end": window.end})
