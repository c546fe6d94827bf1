"""The world before the disaster, for a local drill: data, backups with manifests, more data.

Runs once per drill and records what it did in `prelude.json` (written last, atomically); a
resumed run whose prelude did not finish starts it again from empty data directories.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from orchestrator.data.backup import backup_lake, backup_postgres
from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.data.replay import catch_up, data_end
from orchestrator.data.source import SourceSystem, iso
from orchestrator.rundir import utc_now, write_json_atomic
from orchestrator.targets.local.region import LocalRegionPair

PRELUDE_FILE = "prelude.json"
BATCH_SIZE = 100
BATCH_INTERVAL_S = 900  # 15 minutes of simulated time per ingestion batch
BATCHES_BEFORE_BACKUP = 6
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
        return SourceSystem(
            self.source_dir, batch_size=BATCH_SIZE, seed=SOURCE_SEED, scale=self.scale, interval_s=BATCH_INTERVAL_S
        )


def run_prelude(
    pair: LocalRegionPair, data: DrillData, run_dir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Start both regions, ingest, back up, ingest the delta, then stop the primary (the disaster)."""
    say("starting the local region pair (Azurite and PostgreSQL per region, on 127.0.0.1)")
    pair.start_primary()
    pair.start_secondary()
    source = data.source()

    pair.primary_postgres.create_database(data.database)
    primary_dsn = pair.primary_postgres.dsn(data.database)
    lake, tables = LakeSink(pair.primary_lake()), PostgresSink(primary_dsn)
    lake.ensure_containers()
    tables.ensure_schema()

    source.produce(BATCHES_BEFORE_BACKUP)
    say(f"ingesting {BATCHES_BEFORE_BACKUP} batches of {source.events_per_batch} events into the primary")
    catch_up([lake, tables], source)

    say("backing up: lake to its geo copy (GRS's job on Azure), PostgreSQL with pg_dump; writing manifests")
    lake_manifest = backup_lake(pair.primary_lake(), pair.geo_copy_lake(), pair.backup_dir)
    pg_manifest = backup_postgres(primary_dsn, data.database, pair.backup_dir, pair.primary_postgres.pg_dump)
    manifests_dir = run_dir / "manifests"
    for name, manifest in (("lake.json", lake_manifest), (f"postgres-{data.database}.json", pg_manifest)):
        write_json_atomic(manifests_dir / name, manifest)

    source.produce(BATCHES_AFTER_BACKUP)
    say(f"ingesting {BATCHES_AFTER_BACKUP} more batches after the backup (the delta replay must recover)")
    catch_up([lake, tables], source)

    say("disaster: stopping the primary region")
    pair.stop_primary(abrupt=True)
    disaster_wall, disaster_mono = utc_now(), time.time()
    prelude = {
        "disaster_at": disaster_wall,
        "disaster_epoch_s": disaster_mono,
        "source_latest_batch": source.latest(),
        "source_data_end": iso(source.latest_end()),
        "backup": {
            "lake": {"watermark": lake_manifest.get("watermark"), "data_end": lake_manifest.get("data_end")},
            "postgres": {
                "watermark": pg_manifest.get("watermark"),
                "data_end": iso(data_end(source, pg_manifest.get("watermark"))),
            },
        },
        "batches": {"before_backup": BATCHES_BEFORE_BACKUP, "after_backup": BATCHES_AFTER_BACKUP},
        "events_per_batch": source.events_per_batch,
    }
    write_json_atomic(run_dir / PRELUDE_FILE, prelude)
    return prelude


def reset_local_data(pair: LocalRegionPair, data: DrillData) -> None:
    """Before redoing an unfinished prelude: stop whatever survived and start from nothing."""
    pair.stop()
    for server in (pair.primary_azurite, pair.secondary_azurite, pair.primary_postgres, pair.secondary_postgres):
        server.stop_orphans()
    for child in ("primary", "secondary", "backup", "source"):
        shutil.rmtree(data.local_dir / child, ignore_errors=True)
    pair.backup_dir.mkdir(parents=True, exist_ok=True)
