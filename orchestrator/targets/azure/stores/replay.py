"""Replay on Azure: re-run the platform's own ingestion pipeline from a store's recovered data timestamp.

Locally, replay re-ingests with drctl's ingestion code; on Azure the platform ingests with Data
Factory, so replay triggers the repository's pipeline with its `watermark` parameter set to what
the store's rehydrate step recovered, and polls the run until it ends:
https://learn.microsoft.com/rest/api/datafactory/pipelines/create-run
https://learn.microsoft.com/rest/api/datafactory/pipeline-runs/get

A run is created once per step: its id is recorded in the run directory before polling, so a
retried (or resumed) step polls the same run instead of copying the same files a second time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.model import PermanentError, StepOutcome, TransientError
from orchestrator.targets.azure.errors import call, redact
from orchestrator.targets.azure.stores.lake import as_utc, iso_z

# pipelines/ingest_events.json: copies the landing files modified after its `watermark`
# parameter into the lake's raw zone (pipelines/datasets/events_raw.json).
PIPELINE = "ingest_events"
# The stores that pipeline writes. PostgreSQL and Azure SQL are not loaded by any pipeline of the
# repository, so running it would not bring their delta back: their replay stays not exercised.
REPLAYED_BY_PIPELINE = {"lake": PIPELINE}

# Pipeline run statuses: https://learn.microsoft.com/azure/data-factory/monitor-programmatically
RUNNING = frozenset({"Queued", "InProgress", "Canceling"})
ENDED_BADLY = frozenset({"Failed", "Cancelled"})


def replay_from_watermark(adf: Any, resource_group: str, factory: str, pipeline: str, watermark_iso: str, *,
                          poll_interval_s: float = 15.0, timeout_s: float = 2 * 3600,
                          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                          run_id: str | None = None, on_started: Callable[[str], None] | None = None) -> dict:
    """Run `pipeline` with `watermark=watermark_iso` (or keep polling `run_id`) until it succeeds.

    Succeeded: the run's evidence. Failed or Cancelled: PermanentError with the run's message.
    Still queued or running after `timeout_s`: TransientError (the run goes on in Azure; the
    retried step finds it by its recorded id). HTTP errors are classified by errors.call."""
    where = f"data factory {factory}, pipeline {pipeline}"
    if run_id is None:
        created = call(f"{where}: create run", adf.pipelines.create_run, resource_group, factory, pipeline,
                       parameters={"watermark": watermark_iso})
        run_id = created.run_id
        if not run_id:
            raise PermanentError(f"{where}: the service created a run without a runId")
        if on_started is not None:
            on_started(run_id)
    deadline = clock() + timeout_s
    while True:
        run = call(f"{where}: run {run_id}", adf.pipeline_runs.get, resource_group, factory, run_id)
        evidence = run_evidence(run, pipeline, watermark_iso)
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


def run_evidence(run: Any, pipeline: str, watermark_iso: str) -> dict:
    start, end = getattr(run, "run_start", None), getattr(run, "run_end", None)
    return {"run_id": run.run_id, "pipeline": getattr(run, "pipeline_name", None) or pipeline,
            "status": str(run.status), "run_start": iso_z(start) if start else None,
            "run_end": iso_z(end) if end else None, "duration_ms": getattr(run, "duration_in_ms", None),
            "watermark": watermark_iso, "message": redact(run.message) if getattr(run, "message", None) else None}


def replay_store(adf: Any, component: str, rehydrated: dict, *, resource_group: str, factory: str,
                 record_dir: Path, now: Callable[[], datetime], **polling: Any) -> StepOutcome:
    """The replay step of `component`: run its pipeline from the recovered data timestamp that
    `<component>.rehydrate` recorded, and report the RPO before and after as the local drill does."""
    pipeline = REPLAYED_BY_PIPELINE[component]
    recovered = rehydrated.get("recovered_data_timestamp")
    if not recovered:
        # The pipeline's default watermark is 1970: replaying without one would re-copy every file.
        raise PermanentError(f"{component}.rehydrate recorded no recovered data timestamp: drctl will not run "
                             f"{pipeline} from its default watermark (it would re-ingest everything); "
                             "find the store's data timestamp and run the pipeline by hand",
                             {"rehydrate_outputs": sorted(rehydrated)})
    watermark = iso_z(recovered)
    rpo_before = (as_utc(now()) - as_utc(watermark)).total_seconds()
    record = record_dir / f"{component}.json"
    run_id = _recorded_run(record, watermark)
    evidence = replay_from_watermark(
        adf, resource_group, factory, pipeline, watermark, run_id=run_id,
        on_started=lambda new_id: _record_run(record, new_id, watermark), **polling)
    return StepOutcome(
        outputs={
            "data_timestamp": evidence["run_start"],
            "rpo_before_replay_s": round(rpo_before, 3),
            # The run copied every landing file modified after the watermark, up to its start: no
            # data is missing after it provided producers were paused for the failover (or the
            # pipeline's window ends at the run's start); files landing later are the next
            # scheduled run's, not a loss.
            "rpo_after_replay_s": 0.0,
            "pipeline_run_id": evidence["run_id"],
        },
        evidence={**evidence, "recovered_data_timestamp": watermark, "factory": factory,
                  "resumed_run": run_id is not None})


def _recorded_run(record: Path, watermark: str) -> str | None:
    """The run an earlier attempt created for the same watermark, if any."""
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return recorded.get("run_id") if recorded.get("watermark") == watermark else None


def _record_run(record: Path, run_id: str, watermark: str) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(record, {"run_id": run_id, "watermark": watermark})
