"""The lake on the local region pair's Azurite: deploy (a new instance, after the disaster), rehydrate
from the geo copy's snapshots through drctl (the relay, as the secondary stack does on Azure: see
region.py), validate, re-process recreated zones, replay (the repository's ingestion pipeline, run by
the local pipeline runner), and the probe its checks run against."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from orchestrator.data.backup_catalog import lake_check
from orchestrator.data.errors import azure_errors
from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.generations import SOURCE, generation_window, prune_to_generation, snapshot_listing
from orchestrator.data.lake.recovery import validate_lake
from orchestrator.data.lake.relay import relay_lake
from orchestrator.data.manifest import validated
from orchestrator.data.pipeline_replay import replay_with_pipeline
from orchestrator.model import StepOutcome
from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.deploy import deploy_lake
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.stores.run import LocalRun
from smoke_tests.check import Check
from smoke_tests.lake import LakeProbe

RELAY_JOURNAL = "lake-relay.jsonl"  # in the run's manifests/, as the Azure target keeps it
RELAY_MAX_IN_FLIGHT = 8


def probe(pair: LocalRegionPair, region: str) -> LakeProbe:
    """What the lake's checks run against: the region's Azurite account and its zones."""
    return LakeProbe(pair.secondary_lake() if region == "secondary" else pair.primary_lake(), ZONES)


def errors(what: str) -> AbstractContextManager[None]:
    return azure_errors(f"lake {what}")


class LakeStore:
    def __init__(self, run: LocalRun) -> None:
        self.run, self.pair = run, run.pair

    def probe(self) -> LakeProbe:
        return probe(self.pair, "secondary")

    errors = staticmethod(errors)

    def deploy(self) -> StepOutcome:
        return deploy_lake(self.pair, self.run.declared.lake)

    def rehydrate(self) -> StepOutcome:
        geo_copy, copied = self.pair.geo_copy_lake(), self.run.copied
        choice = self.run.choose("lake", lake_check(geo_copy, copied))  # before anything is copied
        window = generation_window(choice.manifest)
        snapshots = snapshot_listing(geo_copy, window)
        pruned = prune_to_generation(self.pair.secondary_lake(), snapshots, copied)
        evidence = relay_lake(geo_copy, self.pair.secondary_lake(), copied, RELAY_MAX_IN_FLIGHT,
                              journal=RunDir(self.run.run_dir).manifest(RELAY_JOURNAL), listing=snapshots)
        watermark = LakeSink(self.pair.secondary_lake()).watermark()
        evidence = {**evidence, "source": SOURCE, "snapshot_window": window, "zones_copied": copied,
                    "zones_recreated": self.run.recreated, "blobs_pruned": pruned, **choice.evidence()}
        return StepOutcome(outputs={**self.run.recovered_to(watermark), **choice.outputs()}, evidence=evidence)

    def _manifest(self, zones: list[str]) -> dict[str, Any]:
        manifest = self.run.restored_manifest("lake.json")
        return {**manifest, "containers": {z: f for z, f in manifest["containers"].items() if z in zones}}

    def _compared_against(self) -> dict[str, Any]:
        """Which generation's manifest validation compared with, and its point, as rehydration restored it."""
        recovered = getattr(self.run.current, "recovered", {}) or {}
        return {"compared_against": {"manifest": recovered.get("manifest") or "lake.json",
                                     "backup_generation": recovered.get("backup_generation"),
                                     "backup_point": recovered.get("backup_point"),
                                     "recovery_point": recovered.get("recovery_point")}}

    def validate(self, checks: Sequence[Check]) -> StepOutcome:
        result = validate_lake(self.pair.secondary_lake(), self._manifest(self.run.copied), checks)
        return validated({**result.to_evidence(), **self._compared_against()})

    def reprocess(self, zone: str, recovered: int | None, checks: Sequence[Check]) -> StepOutcome:
        """Rebuild a zone from the source up to the recovered watermark; replay adds the delta.
        What it rebuilds must equal the backup's manifest for that zone, exactly."""
        sink = LakeSink(self.pair.secondary_lake())
        sink.ensure_containers()
        batches = [b for b in self.run.source.batches() if recovered is not None and b.index <= recovered]
        written = sink.rebuild_zone(zone, batches, self.run.source.devices())
        result = validate_lake(self.pair.secondary_lake(), self._manifest([zone]), checks).to_evidence()
        outcome = validated(result)
        outcome.outputs.update({"zone": zone, "batches_reprocessed": len(written)})
        outcome.evidence = {**result, "zone": zone, "batches_reprocessed": written}
        return outcome

    def replay(self, recovered: int | None) -> StepOutcome:
        """What the platform does: `ingest_events` over the event time after the recovered watermark,
        here run by the local pipeline runner (the factory runs it on Azure)."""
        if self.run.pipelines_dir is None:
            return StepOutcome(exercised=False, evidence={
                "note": "declared, not exercised: the stack has no Data Factory, so no pipeline of the repository "
                        "replays the lake"})
        evidence = replay_with_pipeline(self.pair.secondary_lake(), self.run.source, self.run.pipelines_dir, recovered)
        return self.run.replayed(evidence, recovered)
