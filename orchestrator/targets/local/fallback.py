"""The local target of a fallback: performs the fallback plan's steps on the local region pair.

By the time it runs, the secondary has been live (it ingested the batches of `secondary_window`)
and the primary region is back with the data it held at the disaster. Stores with a local
emulator (the lake on Azurite, PostgreSQL) are brought back for real; the rest are declared, not
exercised. What the primary must hold in the end is what the secondary holds: validation compares
the two stores directly, and separately the records written during the secondary's time.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from typing import Any

import psycopg
from azure.core.exceptions import ResourceNotFoundError

from components.profile import DRProfile
from orchestrator.atomic import write_json_atomic
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.event_time import RAW_EVENTS, hour_path, raw_event_name
from orchestrator.data.ingest import ZONES, LakeSink, PostgresSink, Sink, device_events
from orchestrator.data.lake.recovery import rehydrate_lake
from orchestrator.data.manifest import lake_facts, md5_text, table_facts
from orchestrator.data.replay import catch_up, data_end, replay, rpo_seconds
from orchestrator.data.rows import one_row
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, Step, StepContext, StepKind, StepOutcome
from orchestrator.run.approvals import auto_approval
from orchestrator.run.rundir import utc_now
from orchestrator.targets.local.checks import NOT_EXERCISED, run_smoke
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.stores import lake as local_lake
from orchestrator.targets.local.stores import postgres as local_postgres


def _raw_facts(service: Any, prefix: str) -> dict[str, tuple[int, str | None]]:
    """Blob name -> (size, Content-MD5) under `prefix` of the raw container; empty if it is not there."""
    try:
        return {b.name: (b.size, md5_text(b.content_settings.content_md5))
                for b in service.get_container_client("raw").list_blobs(name_starts_with=prefix)}
    except ResourceNotFoundError:
        return {}


TRAFFIC_FILE = "traffic.json"  # the local stand-in for Traffic Manager priorities / the DNS record


class LocalFallbackTarget:
    def __init__(self, pair: LocalRegionPair, data: DrillData, profiles: dict[str, DRProfile], *,
                 secondary_window: tuple[int, int], parallel_run_s: float, strategy: str,
                 say: Callable[[str], None] = lambda line: None) -> None:
        self.pair, self.data, self.profiles = pair, data, profiles
        self.source = data.source()
        self.window, self.parallel_run_s, self.strategy, self.say = secondary_window, parallel_run_s, strategy, say

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        platform = {StepKind.DRIFT: self.drift, StepKind.PARALLEL_RUN: self.parallel_run,
                    StepKind.GATE: self.gate, StepKind.SWITCH: self.switch, StepKind.DECOMMISSION: self.decommission,
                    StepKind.HANDOVER: lambda: StepOutcome(outputs={"handover_at": utc_now()},
                                                           evidence={"handover": "primary handed back to its users"})}
        if step.kind in platform:
            return platform[step.kind]()
        profile = self.profiles.get(step.component)
        if profile is None or step.component not in ("lake", "postgres"):
            return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
        if step.kind == StepKind.SMOKE:
            if step.component == "lake":
                return run_smoke(profile, lambda: local_lake.probe(self.pair, "primary"), local_lake.errors)
            return run_smoke(profile, lambda: local_postgres.probe(self.pair, self.data.database, "primary"),
                             local_postgres.errors)
        lake = step.component == "lake"
        sink = LakeSink(self.pair.primary_lake()) if lake else PostgresSink(self._dsn("primary"))
        return {StepKind.REHYDRATE: self.lake_rehydrate if lake else self.postgres_establish,
                StepKind.REPLAY: lambda: self._replay(sink, context, step),
                StepKind.VALIDATE: self.lake_validate if lake else self.postgres_validate}[step.kind]()

    def _dsn(self, region: str) -> str:
        server = self.pair.primary_postgres if region == "primary" else self.pair.secondary_postgres
        return server.dsn(self.data.database)

    # -- configuration against the code ---------------------------------------------------------------
    def drift(self) -> StepOutcome:
        """Locally the program's lake zones and tables are the configuration: any the primary lacks
        is a delta, redeployed. On Azure this is `pulumi preview --expect-no-changes`, then `up`."""
        lake = self.pair.primary_lake()
        with azure_errors("primary lake: containers"):
            present = {c.name for c in lake.list_containers()}
        missing_zones = [z for z in ZONES if z not in present]
        with pg_errors("primary postgres: tables"), psycopg.connect(self._dsn("primary")) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        missing_tables = sorted({"devices", "events", "ingestion_watermark"} - tables)
        if missing_zones:
            LakeSink(lake).ensure_containers()
        if missing_tables:
            PostgresSink(self._dsn("primary")).ensure_schema()
        return StepOutcome(outputs={"deltas": len(missing_zones) + len(missing_tables)},
                           evidence={"lake_zones_redeployed": missing_zones, "tables_redeployed": missing_tables,
                                     "note": "on Azure: pulumi preview --expect-no-changes on the primary stack, "
                                             "then pulumi up for the deltas"})

    # -- bring the primary up to date -------------------------------------------------------------
    def lake_rehydrate(self) -> StepOutcome:
        """System date first (the primary's own watermark), then a server-side copy from the
        secondary account's geo copy in the primary region of whatever the primary lacks."""
        primary = LakeSink(self.pair.primary_lake())
        before = primary.watermark()
        evidence = rehydrate_lake(self.pair.secondary_geo_copy_lake(), self.pair.primary_lake(),
                                  self.pair.secondary_geo_copy_key(), containers=list(ZONES))
        after = primary.watermark()
        return StepOutcome(outputs={"watermark": after, "system_date": iso(data_end(self.source, before)),
                                    "recovered_data_timestamp": iso(data_end(self.source, after))},
                           evidence={**evidence, "system_date_watermark": before, "watermark_after_copy": after})

    def postgres_establish(self) -> StepOutcome:
        watermark = PostgresSink(self._dsn("primary")).watermark()
        stamp = iso(data_end(self.source, watermark))
        return StepOutcome(outputs={"watermark": watermark, "system_date": stamp, "recovered_data_timestamp": stamp},
                           evidence={"system_date_watermark": watermark, "method": "the store's own watermark; "
                                     "replay brings the delta"})

    def _replay(self, sink: Any, context: StepContext, step: Step) -> StepOutcome:
        recovered = context.outputs_of(f"{step.component}.{StepKind.REHYDRATE}").get("watermark")
        evidence = replay(sink, self.source)
        if not evidence["caught_up"]:
            raise PermanentError(f"{sink.name} replay stopped at batch {evidence['watermark']}", evidence)
        return StepOutcome(outputs={"data_timestamp": evidence["data_end_after"],
                                    "rpo_before_replay_s": rpo_seconds(self.source, recovered),
                                    "rpo_after_replay_s": evidence["rpo_after_replay_s"],
                                    "batches_replayed": evidence["count"]}, evidence=evidence)

    # -- the primary against the secondary ----------------------------------------------------------
    def lake_validate(self) -> StepOutcome:
        with azure_errors("lake: primary against secondary"):
            primary, secondary = lake_facts(self.pair.primary_lake(), ZONES), lake_facts(self.pair.secondary_lake(), ZONES)
            window = self._lake_window()
        mismatches = [f"{zone}: primary {primary[zone]} != secondary {secondary[zone]}"
                      for zone in ZONES if primary[zone] != secondary[zone]]
        mismatches += [f"raw/{name} written during the secondary's time: {why}" for name, why in window["missing"]]
        return _compared("lake", mismatches, {"zones": {"primary": primary, "secondary": secondary},
                                              "secondary_time": window["facts"]})

    def _lake_window(self) -> dict:
        """Each event file of the secondary's batches (one per device), from listings of their hours."""
        first, last = self.window
        rows, missing = [], []
        listings: dict[str, tuple[dict, dict]] = {}
        for k in range(first, last + 1):
            batch = self.source.batch(k)
            hour = f"{RAW_EVENTS}/{hour_path(batch.start)}/"
            if hour not in listings:
                listings[hour] = (_raw_facts(self.pair.primary_lake(), hour), _raw_facts(self.pair.secondary_lake(), hour))
            primary, secondary = listings[hour]
            for device in device_events(batch):
                name = raw_event_name(k, batch.start, device)
                in_primary, in_secondary = primary.get(name), secondary.get(name)
                if in_primary is None or in_primary != in_secondary:
                    missing.append((name, "absent from the primary" if in_primary is None else "differs from the secondary"))
                rows.append({"blob": f"raw/{name}", "bytes": in_secondary[0] if in_secondary else None,
                             "md5": in_secondary[1] if in_secondary else None, "in_primary": in_primary == in_secondary})
        return {"facts": {"batches": [first, last], "blobs": rows}, "missing": missing}

    def postgres_validate(self) -> StepOutcome:
        with pg_errors("postgres: primary against secondary"):
            with psycopg.connect(self._dsn("primary")) as conn:
                primary, primary_window = table_facts(conn), self._pg_window(conn)
            with psycopg.connect(self._dsn("secondary")) as conn:
                secondary, secondary_window = table_facts(conn), self._pg_window(conn)
        mismatches = [f"{table}: primary {primary.get(table)} != secondary {secondary[table]}"
                      for table in secondary if primary.get(table) != secondary[table]]
        if primary_window != secondary_window:
            mismatches.append(f"events written during the secondary's time: primary {primary_window} != "
                              f"secondary {secondary_window}")
        return _compared("postgres", mismatches, {"tables": {"primary": primary, "secondary": secondary},
                                                  "secondary_time": {**secondary_window, "in_primary": primary_window}})

    def _pg_window(self, conn: psycopg.Connection) -> dict:
        """Count and checksum of the events of the secondary's batches (by their time window)."""
        start, end = self.source.window(self.window[0])[0], self.source.window(self.window[1])[1]
        conn.execute("SET TIME ZONE 'UTC'")
        count, checksum = one_row(conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(e::text, E'\\n' ORDER BY e.id), '')) FROM events e "
            "WHERE e.ts >= %s AND e.ts < %s", (start, end)))
        return {"from": iso(start), "to": iso(end), "events": count, "checksum": f"md5:{checksum}"}

    # -- the parallel run, the switch, the secondary -----------------------------------------------
    def parallel_run(self) -> StepOutcome:
        """Both regions ingest for the window; at its end they must hold the same data."""
        deadline, batches = time.monotonic() + self.parallel_run_s, []
        sinks: list[Sink] = [LakeSink(self.pair.primary_lake()), PostgresSink(self._dsn("primary")),
                 LakeSink(self.pair.secondary_lake()), PostgresSink(self._dsn("secondary"))]
        while True:
            self.source.produce(1)
            catch_up(sinks, self.source)
            batches.append(self.source.latest())
            if time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        lake, pg = self.lake_validate(), self.postgres_validate()
        return StepOutcome(outputs={"batches_in_both": len(batches), "window_s": self.parallel_run_s},
                           evidence={"batches": batches, "lake": lake.evidence, "postgres": pg.evidence})

    def gate(self) -> StepOutcome:
        return auto_approval("drctl (local drill)", "an unattended local fallback records its gate as approved")

    def switch(self) -> StepOutcome:
        record = {"active_region": "primary", "standby_region": "secondary", "switched_at": utc_now(),
                  "lake_endpoint": self.pair.primary_azurite.blob_endpoint(self.pair.primary_account)}
        write_json_atomic(self.data.local_dir / TRAFFIC_FILE, record)
        return StepOutcome(outputs={"active_region": "primary"},
                           evidence={**record, "note": "locally a record of which region serves; on Azure the "
                                     "Traffic Manager endpoint priorities or the DNS record (fallback.trafficSwitch)"})

    def decommission(self) -> StepOutcome:
        pair, removed = self.pair, []
        if self.strategy == "strip-back":
            with azure_errors("secondary lake: strip back"):
                for zone in ZONES:
                    pair.secondary_lake().delete_container(zone)
                    removed.append(f"container {zone}")
            with pg_errors("secondary postgres: strip back"):
                pair.secondary_postgres.drop_database(self.data.database)
                removed.append(f"database {self.data.database}")
        pair.stop_secondary()
        if self.strategy == "decommission":
            shutil.rmtree(pair.workdir / "secondary", ignore_errors=True)
            removed.append("the secondary region's servers and data")
        return StepOutcome(outputs={"strategy": self.strategy}, evidence={
            "strategy": self.strategy, "removed": removed, "servers": "stopped",
            "kept": "the secondary's foundation and network (Pulumi stack)" if self.strategy == "strip-back" else None})


def _compared(store: str, mismatches: list[str], evidence: dict) -> StepOutcome:
    evidence = {"store": store, "exact": not mismatches, "mismatches": mismatches, **evidence}
    if mismatches:
        raise PermanentError(f"{store}: the primary does not match the secondary: " + "; ".join(mismatches[:3]), evidence)
    return StepOutcome(outputs={"exact": True}, evidence=json.loads(json.dumps(evidence, default=str)))
