"""What every local store shares during one drill: the region pair, the dataset, the run directory,
what the program's graph declares for the secondary, the backup catalogue, the repository's pipeline
definitions, and which backup generation the step being run restored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.data.backup_catalog import INDEX, Choice, choose
from orchestrator.data.ingest import ZONES
from orchestrator.data.manifest import load_manifest
from orchestrator.data.replay import data_end, rpo_seconds
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, Plan, StepOutcome
from orchestrator.plan.zones import zone_of
from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.declared import SecondaryDeclarations
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair


class LocalRun:
    def __init__(self, pair: LocalRegionPair, data: DrillData, run_dir: Path, plan: Plan,
                 declared: SecondaryDeclarations, pipelines_dir: Path | None = None, *,
                 recovery_point: datetime | None = None) -> None:
        self.pair, self.data, self.run_dir, self.declared = pair, data, Path(run_dir), declared
        # `--recovery-point`: restore the newest data at or before it, on the drill's data clock (UTC);
        # None: the newest there is
        self.recovery_point = recovery_point
        # The repository's Data Factory definitions, which the local pipeline runner runs; None when
        # the stack has no factory (then no pipeline of the repository replays the lake).
        self.pipelines_dir = pipelines_dir
        self.source = data.source()
        # The zone policies as the plan has them: a zone with a re-processing step is not copied.
        self.recreated = [zone for zone in (zone_of(step) for step in plan.steps) if zone]
        self.copied = [zone for zone in ZONES if zone not in self.recreated]
        # Per worker thread, the rehydrate outputs of the step being run: which backup generation was
        # restored, so validation compares against that generation's manifest and no other.
        self.current = threading.local()

    def manifest(self, name: str) -> dict[str, Any]:
        return load_manifest(RunDir(self.run_dir).manifest(name))

    def restored_manifest(self, newest: str) -> dict[str, Any]:
        """The manifest of the generation the rehydrate step restored, as its outputs name it (a
        journal from before generations names none: the newest's)."""
        return self.manifest(getattr(self.current, "recovered", {}).get("manifest") or newest)

    def choose(self, store: str, check: Callable[[Path], dict]) -> Choice:
        """The newest good backup generation of `store`, from the run's copy of the catalogue."""
        return choose(RunDir(self.run_dir).manifest(INDEX), store, check)

    def recovered_to(self, watermark: int | None) -> dict[str, Any]:
        return {"watermark": watermark, "recovered_data_timestamp": iso(data_end(self.source, watermark))}

    def replayed(self, evidence: dict[str, Any], recovered: int | None) -> StepOutcome:
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
