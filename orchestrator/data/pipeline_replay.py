"""The lake's replay in a local drill: the repository's `ingest_events` pipeline, run by the local
pipeline runner (orchestrator/pipelines/) over the event time after the recovered watermark, as the
factory runs it on Azure (orchestrator/targets/azure/stores/replay.py), with the same window
(orchestrator/data/event_time.py).

Before the run, the producers drop the files they keep into the recovered lake's landing zone
(orchestrator/data/landing.py): the pipeline's window is then the only filter between landing and
raw. After it, the run is held to its window (each hour that holds landed files copied, none other,
raw equal to landing there), and the lake's data timestamp is read back from the raw zone: the newest
batch up to which every event file is there with the source's bytes. A wrong filter fails the step.

Locally event time is simulated, so "now" is the simulated clock: the source's newest event time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from components.data_factory_pipelines import LAKE_LINKED_SERVICE
from components.data_factory_triggers import INGEST_PIPELINE
from orchestrator.data.event_time import replay_window
from orchestrator.data.landing import deliver, raw_watermark, retained, window_copied
from orchestrator.data.replay import data_end, rpo_seconds
from orchestrator.data.source import SourceSystem, iso
from orchestrator.model import PermanentError
from orchestrator.pipelines import RUNNER
from orchestrator.pipelines.definitions import load_definitions
from orchestrator.pipelines.runner import PipelineRunner

NOW_IS = "the simulated clock: the source's newest event time"


def replay_with_pipeline(lake: BlobServiceClient, source: SourceSystem, pipelines_dir: Path,
                         recovered: int | None) -> dict[str, Any]:
    """Run `ingest_events` over the window after the batch `recovered` (the lake's watermark as its
    rehydrate step recovered it) against `lake`; evidence as orchestrator/data/replay.py's replay gives it,
    with the run's. Raises PermanentError when the run failed or copied other than its window."""
    definitions = load_definitions(pipelines_dir)  # before anything is written: an unsupported pipeline stops here
    definitions.pipeline(INGEST_PIPELINE)
    landing = deliver(lake, retained(source))
    before = raw_watermark(lake, source)
    recovered_at, now = data_end(source, recovered), source.latest_end()
    evidence: dict[str, Any] = {"store": "lake", "runner": RUNNER, "pipeline": INGEST_PIPELINE, "landing": landing,
                                "from_watermark": recovered, "raw_watermark_before": before,
                                "now": iso(now), "now_is": NOW_IS}
    if now > recovered_at:
        window = replay_window(recovered_at, now)
        runner = PipelineRunner(definitions, {LAKE_LINKED_SERVICE: lake})
        run = runner.run(INGEST_PIPELINE, window.parameters())
        check = window_copied(lake, window, run["copies"])
        evidence.update(window={"start": window.start, "end": window.end}, run=run, window_check=check)
    else:
        check = {"exact": True, "mismatches": []}
        evidence["window"] = None  # the recovered point is the source's newest: no event time to replay, no run
    after, latest = raw_watermark(lake, source), source.latest()
    evidence.update({
        "watermark": after, "source_latest": latest, "caught_up": after == latest,
        "data_end_before": iso(data_end(source, recovered)), "data_end_after": iso(data_end(source, after)),
        "rpo_before_replay_s": rpo_seconds(source, recovered), "rpo_after_replay_s": rpo_seconds(source, after),
    })
    if not check["exact"]:
        shown = "; ".join(check["mismatches"][:3]) + (f" and {len(check['mismatches']) - 3} more"
                                                      if len(check["mismatches"]) > 3 else "")
        raise PermanentError(f"lake replay: {INGEST_PIPELINE} (run by the {RUNNER}) did not copy its window "
                             f"exactly: {shown}", evidence)
    return evidence
