"""The world before the disaster, for a local drill: data, backups with manifests, more data.

Backups are taken in generations (orchestrator/data/backup_catalog.py), as a backup schedule keeps
them: the newest is what a failover restores when all is well, an older one is what it falls back
on when the newest turns out damaged or lost. `drctl drill --corrupt-latest-backup` damages the
newest (or every) generation here, once taken, so a rehearsal can practise exactly that.

Runs once per drill and records what it did in `prelude.json` (written last, atomically); a
resumed run whose prelude did not finish starts it again from empty data directories.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.data.backup_catalog import (
    backup_postgres_generation,
    copy_to_run,
    damage_backups,
    generation_dir,
    next_generation,
    record_generation,
)
from orchestrator.data.ingest import LakeSink
from orchestrator.data.lake.generations import backup_lake_generation
from orchestrator.data.postgres.wal import WalIndexedSink, archive_end, wal_archive_dir, wal_index_path
from orchestrator.data.replay import catch_up, data_end
from orchestrator.data.source import SourceSystem, iso
from orchestrator.model import PermanentError
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.targets.local import host_changes
from orchestrator.targets.local.cosmos_prelude import stage_cosmos
from orchestrator.targets.local.region import LocalRegionPair

# The default drill's dataset (scale 1), chosen to be a real load yet leave the drill under a minute
# on a 2-core machine: 9 batches of 5,000 events from 100 devices, each batch landing as one file per
# device: ~2,750 blobs and ~25 MB in the lake, 45,000 events in PostgreSQL. `--scale N` multiplies
# events and devices (docs/how-to/run-a-drill.md lists the sizes and times per setting).
BATCH_SIZE = 7000
DEVICES = 75
# A test suite runs dozens of drills and checks what they do, not how much they carry: with
# DRCTL_DRILL_DATASET=small (tests/conftest.py sets it) a drill's batches are 100 events from 3 devices.
DATASET_ENV = "DRCTL_DRILL_DATASET"
DATASETS = {"default": (BATCH_SIZE, DEVICES), "small": (100, 3)}  # name -> (events per batch, devices) at scale 1
BATCH_INTERVAL_S = 900  # 15 minutes of simulated time per ingestion batch
# Batches ingested in all when each backup generation is taken, oldest first: the newest at 6
# (the backup a failover restores), an older one at 4 to fall back on, two batches further back.
GENERATIONS_AT_BATCHES = (4, 6)
BATCHES_BEFORE_BACKUP = GENERATIONS_AT_BATCHES[-1]
BATCHES_AFTER_BACKUP = 3  # the delta that only replay can bring back
SOURCE_SEED = 7


@dataclass(frozen=True)
class DrillData:
    """Where a drill's local data lives, and the parameters that make it deterministic."""

    local_dir: Path
    database: str
    scale: int

    @property
    def source_dir(self) -> Path:
        return self.local_dir / "source"

    def source(self) -> SourceSystem:
        batch_size, devices = dataset()
        return SourceSystem(
            self.source_dir, batch_size=batch_size, seed=SOURCE_SEED, scale=self.scale, interval_s=BATCH_INTERVAL_S,
            devices=devices,
        )


def dataset() -> tuple[int, int]:
    """(events per batch, devices) at scale 1: the default dataset unless DRCTL_DRILL_DATASET names another."""
    name = os.environ.get(DATASET_ENV) or "default"
    if name not in DATASETS:
        raise PermanentError(f"{DATASET_ENV}={name!r}: not one of {', '.join(DATASETS)}")
    return DATASETS[name]


def run_prelude(
    pair: LocalRegionPair, data: DrillData, run_dir: Path, say: Callable[[str], None], *,
    corrupt_latest_backup: str | None = None,
) -> dict[str, Any]:
    """Start the primary region and the geo copy's store, ingest and back up in generations, ingest
    the delta, then stop the primary (the disaster). The secondary region's servers are not started:
    its deploy steps start them, after the disaster. `corrupt_latest_backup` (STORE[:HOW],
    backup_catalog.DAMAGE_CHOICES) damages backup generations once they are all taken."""
    say("starting the primary region (Azurite and PostgreSQL) and the geo copy's Azurite, on 127.0.0.1; "
        "the secondary region is deployed after the disaster")
    pair.start_primary()
    pair.start_geo_copy()
    source = data.source()

    pair.primary_postgres.create_database(data.database)
    primary_dsn = pair.primary_postgres.dsn(data.database)
    # PostgreSQL's sink records each batch's commit LSN in the backup store's WAL index (recovery points)
    lake, tables = LakeSink(pair.primary_lake()), WalIndexedSink(primary_dsn, wal_index_path(pair.backup_dir))
    lake.ensure_containers()
    tables.ensure_schema()

    generations = []
    for at_batches in GENERATIONS_AT_BATCHES:
        more = at_batches - source.count
        source.produce(more)
        say(f"ingesting {more} batches of {source.events_per_batch} events into the primary")
        catch_up([lake, tables], source)
        generation = next_generation(pair.backup_dir)
        say(f"backup generation {generation}: lake replicated to its geo copy (GRS's job on Azure) and "
            "snapshotted, PostgreSQL with pg_basebackup (its WAL archived all along); writing manifests")
        # the two stores' backups share nothing (Azurite and pg_basebackup): taken side by side
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-basebackup") as beside:
            pg_backup = beside.submit(backup_postgres_generation, primary_dsn, data.database, pair.backup_dir,
                                      pair.primary_postgres.pg_basebackup, generation)
            lake_manifest = backup_lake_generation(pair.primary_lake(), pair.geo_copy_lake(),
                                                   generation_dir(pair.backup_dir, generation), generation)
            pg_manifest = pg_backup.result()
        record_generation(pair.backup_dir, generation, {"lake": lake_manifest, "postgres": pg_manifest})
        generations.append(_generation_record(source, generation, lake_manifest, pg_manifest))
        # its point on the drill's data clock: what --recovery-point is compared with
        say(f"backup generation {generation} taken: its point (data through) is {lake_manifest.get('data_end')}")
    copy_to_run(pair.backup_dir, RunDir(run_dir).manifests)  # the run's record of what was taken, before any damage
    damaged = damage_backups(pair.backup_dir, corrupt_latest_backup, pair.geo_copy_lake())
    for damage in damaged:
        say(f"rehearsal (--corrupt-latest-backup {corrupt_latest_backup}): {damage['store']} backup generation "
            f"{damage['generation']} damaged: {damage['what']}")

    source.produce(BATCHES_AFTER_BACKUP)
    say(f"ingesting {BATCHES_AFTER_BACKUP} more batches after the backup (the delta replay must recover)")
    catch_up([lake, tables], source)
    stage_cosmos(pair, source, run_dir, say)  # where the stack has Cosmos DB: its two regions, replicated

    say("disaster: stopping the primary region")
    pair.stop_primary(abrupt=True)
    disaster_wall, disaster_mono = utc_now(), time.time()
    prelude = {
        "disaster_at": disaster_wall,
        "disaster_epoch_s": disaster_mono,
        "source_latest_batch": source.latest(),
        "source_data_end": iso(source.latest_end()),
        # the newest generation, as before generations; then every generation, and any damage done
        "backup": {**generations[-1]["stores"], "generations": generations,
                   "damaged": damaged, "corrupt_latest_backup": corrupt_latest_backup},
        "batches": {"before_backup": BATCHES_BEFORE_BACKUP, "after_backup": BATCHES_AFTER_BACKUP,
                    "at_generations": list(GENERATIONS_AT_BATCHES)},
        "events_per_batch": source.events_per_batch,
        # PostgreSQL's WAL archive as the disaster left it: what a restore can replay
        "postgres_wal_archive": archive_end(wal_archive_dir(pair.backup_dir)),
        # what starting the servers changed on the host beyond the run's folders (as root), said as it happened
        "host_changes": host_changes.made(),
    }
    write_json_atomic(RunDir(run_dir).prelude_json, prelude)
    return prelude


def _generation_record(source: SourceSystem, generation: str, lake: dict, postgres: dict) -> dict[str, Any]:
    return {"generation": generation, "stores": {
        "lake": {"watermark": lake.get("watermark"), "data_end": lake.get("data_end")},
        "postgres": {"watermark": postgres.get("watermark"),
                     "data_end": iso(data_end(source, postgres.get("watermark")))}}}


def reset_local_data(pair: LocalRegionPair, data: DrillData) -> None:
    """Before redoing an unfinished prelude: stop whatever survived and start from nothing."""
    pair.stop()
    for server in pair.servers().values():
        server.stop_orphans()
    for child in ("primary", "geo", "secondary", "backup", "source"):
        shutil.rmtree(data.local_dir / child, ignore_errors=True)
    pair.backup_dir.mkdir(parents=True, exist_ok=True)
