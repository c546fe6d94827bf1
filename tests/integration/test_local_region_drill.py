"""A failover of the data stores on a real local region pair (Azurite + PostgreSQL).

One region pair serves the module: ingest N batches, back up into the geo copy, ingest M more, kill
the primary, start the secondary region, rehydrate through the relay (the geo copy is another
Azurite instance, as it is another region on Azure), restore, validate, replay, smoke-test; the
tests then check the evidence. The server-side copy (the fallback's, inside the primary region's
instance) is checked too. The last test stops everything and checks that no process is left.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import psutil
import psycopg
import pytest

from orchestrator.data.backup import backup_lake, backup_postgres, load_manifest, postgres_manifest_path
from orchestrator.data.connect import pg_connect
from orchestrator.data.ingest import ZONES, LakeSink, PostgresSink, ingest_batches, render_batch
from orchestrator.data.lake.recovery import rehydrate_lake, validate_lake
from orchestrator.data.lake.relay import relay_lake
from orchestrator.data.manifest import lake_facts, table_facts
from orchestrator.data.postgres.recovery import restore_postgres, validate_postgres
from orchestrator.data.replay import catch_up, replay
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.servers.processes import stop_all
from reliability.leftovers import describe, processes_of
from smoke_tests.lake import LakeProbe, blob_write_read_delete
from smoke_tests.postgres import PostgresProbe, select_1

pytestmark = pytest.mark.integration

N_BEFORE, M_AFTER, INTERVAL_S = 4, 3, 3600
DB = "app"


def server_workdir(name: str) -> Path:
    """A workdir outside pytest's basetemp: every pytest session that starts resets
    /tmp/pytest-of-<user> to 0700, which would cut the unprivileged postgres user off from its
    data directory in the middle of our run whenever another session starts meanwhile."""
    return Path(tempfile.mkdtemp(prefix=f"drctl-{name}-"))


@pytest.fixture(scope="module")
def drill():
    workdir = server_workdir("drill")
    pair = LocalRegionPair(workdir, "lakeprimary", "lakesecondary")
    out: dict = {"pair": pair}
    try:
        pair.start_primary()
        pair.start_geo_copy()
        out["pids"] = pair.pids()
        source = out["source"] = SourceSystem(workdir / "source", batch_size=40, seed=42,
                                              interval_s=INTERVAL_S)
        pair.primary_postgres.create_database(DB)
        primary_sinks = [LakeSink(pair.primary_lake()), PostgresSink(pair.primary_postgres.dsn(DB))]
        source.produce(N_BEFORE)
        catch_up(primary_sinks, source)

        # idempotence: re-ingesting old batches changes nothing, and rewinds no watermark
        with psycopg.connect(pair.primary_postgres.dsn(DB)) as conn:
            before = (lake_facts(pair.primary_lake(), ZONES), table_facts(conn))
        for sink in primary_sinks:
            ingest_batches(sink, [source.batch(0), source.batch(1)], source.devices())
        with psycopg.connect(pair.primary_postgres.dsn(DB)) as conn:
            out["reingest"] = (before, (lake_facts(pair.primary_lake(), ZONES), table_facts(conn)),
                               [s.watermark() for s in primary_sinks])

        out["lake_manifest"] = backup_lake(pair.primary_lake(), pair.geo_copy_lake(), pair.backup_dir)
        out["pg_manifest"] = backup_postgres(pair.primary_postgres.dsn(DB), DB, pair.backup_dir,
                                             pair.primary_postgres.pg_dump)
        source.produce(M_AFTER)  # the delta the recovery must replay
        catch_up(primary_sinks, source)

        pair.stop_primary(abrupt=True)  # the disaster
        pair.start_secondary()  # the deploy steps' part
        out["pids"].update({name: pid for name, pid in pair.pids().items() if name.startswith("secondary.")})
        out["primary_alive_after_disaster"] = [
            psutil.pid_exists(out["pids"][k]) for k in ("primary.azurite", "primary.postgres")]

        lake_manifest = load_manifest(pair.backup_dir / "lake" / "manifest.json")
        pg_manifest = load_manifest(postgres_manifest_path(pair.backup_dir, DB))
        journal = workdir / "lake-relay.jsonl"
        out["rehydrate"] = relay_lake(pair.geo_copy_lake(), pair.secondary_lake(), ZONES, max_in_flight=4,
                                      journal=journal)
        # a resumed step: already-copied blobs are skipped, lost ones copied again
        out["rehydrate_again"] = relay_lake(pair.geo_copy_lake(), pair.secondary_lake(), ZONES, journal=journal)
        lost = next(b.name for b in pair.secondary_lake().get_container_client("enriched").list_blobs())
        pair.secondary_lake().get_blob_client("enriched", lost).delete_blob()
        out["rehydrate_resumed"] = relay_lake(pair.geo_copy_lake(), pair.secondary_lake(), ZONES, journal=journal)
        out["restore"] = restore_postgres(pair.secondary_postgres, pg_manifest, jobs=2)
        dsn = pair.secondary_postgres.dsn(DB)
        out["lake_validation"] = validate_lake(pair.secondary_lake(), lake_manifest)
        out["pg_validation"] = validate_postgres(dsn, pg_manifest)
        out["lake_replay"] = replay(LakeSink(pair.secondary_lake()), source)
        out["pg_replay"] = replay(PostgresSink(dsn), source)
        out["lake_smoke"] = blob_write_read_delete(LakeProbe(pair.secondary_lake(), ZONES))
        out["pg_smoke"] = select_1(PostgresProbe(lambda: pg_connect(dsn, site="postgres: smoke test")))
        yield out
    finally:
        pair.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_disaster_leaves_no_primary_process(drill):
    assert drill["primary_alive_after_disaster"] == [False, False]


def test_reingesting_a_batch_is_idempotent(drill):
    before, after, watermarks = drill["reingest"]
    assert before == after
    assert watermarks == [N_BEFORE - 1, N_BEFORE - 1]


def test_manifests_record_the_backup_watermark(drill):
    lake, pg = drill["lake_manifest"], drill["pg_manifest"]
    assert lake["watermark"] == pg["watermark"] == N_BEFORE - 1
    source, devices = drill["source"], {d["device_id"]: d for d in drill["source"].devices()}
    rendered = [render_batch(source.batch(k), devices) for k in range(N_BEFORE)]
    # each batch's landed files (one per device) and their copies in raw/events, and _watermark.json
    assert lake["containers"]["raw"]["blobs"] == 2 * sum(len(r["raw"]) for r in rendered) + 1 > 2 * N_BEFORE + 1
    # each batch's partitions (by date and site), and reference/devices.csv
    assert lake["containers"]["curated"]["blobs"] == sum(len(r["curated"]) for r in rendered) + 1
    assert all(c["missing_md5"] == 0 for c in lake["containers"].values())
    assert pg["tables"]["events"]["rows"] == N_BEFORE * 40
    assert pg["tables"]["events"]["max_ts"].startswith("2026-01-01T03:")
    assert set(pg["tables"]) == {"devices", "events", "ingestion_watermark"}


def test_the_lake_is_relayed_from_the_geo_copy_and_validates_exactly(drill):
    evidence, validation = drill["rehydrate"], drill["lake_validation"]
    manifest_blobs = sum(c["blobs"] for c in drill["lake_manifest"]["containers"].values())
    manifest_bytes = sum(c["bytes"] for c in drill["lake_manifest"]["containers"].values())
    assert evidence["blobs"] == evidence["copied"] == manifest_blobs
    assert evidence["bytes"] == evidence["bytes_copied"] == manifest_bytes
    assert evidence["max_in_flight"] == 4
    assert evidence["payload_bytes_through_drctl"] == manifest_bytes  # the bytes came through drctl
    assert validation.exact, validation.mismatches
    assert validation.watermark == {"expected": N_BEFORE - 1, "actual": N_BEFORE - 1}


def test_postgres_is_restored_and_validates_exactly(drill):
    validation = drill["pg_validation"]
    assert drill["restore"]["dump"]["verified"] is True
    assert validation.exact, validation.mismatches
    assert set(validation.details) == {"devices", "events", "ingestion_watermark"}


def test_replay_brings_each_store_to_the_source_latest_batch(drill):
    latest = drill["source"].latest()
    assert latest == N_BEFORE + M_AFTER - 1
    for key in ("lake_replay", "pg_replay"):
        ev = drill[key]
        assert ev["from_watermark"] == N_BEFORE - 1
        assert ev["batches_replayed"] == list(range(N_BEFORE, N_BEFORE + M_AFTER))
        assert ev["watermark"] == latest and ev["caught_up"]
        assert ev["rpo_before_replay_s"] == M_AFTER * INTERVAL_S
        assert ev["rpo_after_replay_s"] == 0
    pair = drill["pair"]
    # read back from the stores themselves
    assert LakeSink(pair.secondary_lake()).watermark() == latest
    assert PostgresSink(pair.secondary_postgres.dsn(DB)).watermark() == latest
    with psycopg.connect(pair.secondary_postgres.dsn(DB)) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == (latest + 1) * 40


def test_replaying_again_replays_nothing(drill):
    again = replay(LakeSink(drill["pair"].secondary_lake()), drill["source"])
    assert again["batches_replayed"] == [] and again["caught_up"]


def test_rehydrating_again_copies_only_what_is_missing(drill):
    total = drill["rehydrate"]["blobs"]
    again, resumed = drill["rehydrate_again"], drill["rehydrate_resumed"]
    assert (again["copied"], again["skipped"]) == (0, total)
    assert (resumed["copied"], resumed["skipped"]) == (1, total - 1)
    assert resumed["containers"]["enriched"]["copied"] == 1


def test_smoke_tests_pass(drill):
    assert drill["lake_smoke"]["ok"], drill["lake_smoke"]
    assert drill["pg_smoke"]["ok"], drill["pg_smoke"]


def test_a_tampered_blob_is_not_exact(drill):
    pair, manifest = drill["pair"], drill["lake_manifest"]
    geo = pair.geo_copy_lake()  # still the backup's content: tamper there, then put it back
    assert validate_lake(geo, manifest).exact
    name = next(b.name for b in geo.get_container_client("curated").list_blobs(name_starts_with="daily/"))
    blob = geo.get_blob_client("curated", name)
    original = blob.download_blob().readall()
    tampered = original.replace(b"dev-", b"DEV-", 1)
    assert len(tampered) == len(original)  # same count, same bytes: only the digest can tell
    try:
        LakeSink(geo)._put("curated", name, tampered, "text/csv")
        result = validate_lake(geo, manifest)
        assert not result.exact
        assert result.details["curated"]["actual"]["bytes"] == manifest["containers"]["curated"]["bytes"]
        assert any("curated: digest" in m for m in result.mismatches)
    finally:
        LakeSink(geo)._put("curated", name, original, "text/csv")
    assert validate_lake(geo, manifest).exact


def test_a_tampered_row_is_not_exact(drill):
    pair, manifest = drill["pair"], drill["pg_manifest"]
    restore_postgres(pair.secondary_postgres, manifest, database="tampered")
    restore_postgres(pair.secondary_postgres, manifest, database="tampered")  # idempotent
    dsn = pair.secondary_postgres.dsn("tampered")
    assert validate_postgres(dsn, manifest).exact
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE events SET value = value + 0.001 WHERE id = 7")
    result = validate_postgres(dsn, manifest)
    assert not result.exact
    assert [t for t, d in result.details.items() if not d["exact"]] == ["events"]
    assert result.details["events"]["actual"]["rows"] == manifest["tables"]["events"]["rows"]
    pair.secondary_postgres.drop_database("tampered")


def test_a_corrupted_dump_is_refused(drill, tmp_path):
    pair = drill["pair"]
    copy = tmp_path / "store"
    shutil.copytree(postgres_manifest_path(pair.backup_dir, DB).parent, copy)
    dump = copy / f"{DB}.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    with pytest.raises(PermanentError, match="corrupt"):
        load_manifest(copy / "manifest.json")
    manifest = dict(drill["pg_manifest"], manifest_dir=str(copy))
    with pytest.raises(PermanentError):
        restore_postgres(pair.secondary_postgres, manifest, database="never")


def test_a_server_side_copy_between_instances_is_refused_as_from_a_private_source(drill):
    # Azurite cannot reach another instance, as a new Azure account cannot reach the private-only
    # primary lake: CannotVerifyCopySource either way, which is why recovery relays.
    pair = drill["pair"]
    geo, dest = pair.geo_copy_lake(), pair.secondary_lake()
    geo.create_container("elsewhere")
    geo.get_blob_client("elsewhere", "a.txt").upload_blob(b"payload")
    try:
        with pytest.raises(PermanentError, match="CannotVerifyCopySource"):
            rehydrate_lake(geo, dest, pair.geo_copy_key(), ["elsewhere"])
    finally:
        geo.delete_container("elsewhere")
        dest.delete_container("elsewhere")


def test_a_refused_copy_is_a_permanent_error_without_secrets(drill):
    # The fallback's server-side copy, inside the primary region's instance: the secondary
    # account's geo copy into the primary account.
    pair = drill["pair"]
    pair.restart_primary()
    geo, dest = pair.secondary_geo_copy_lake(), pair.primary_lake()
    geo.create_container("refused")
    geo.get_blob_client("refused", "a.txt").upload_blob(b"payload")
    wrong_key = pair.primary_azurite.account_key(pair.primary_account)  # not the geo copy's
    try:
        with pytest.raises(PermanentError) as caught:
            rehydrate_lake(geo, dest, wrong_key, ["refused"])
        assert "refused/a.txt" in str(caught.value)
        assert "sig=" not in str(caught.value) or "sig=<redacted>" in str(caught.value)
        with pytest.raises(PermanentError):
            rehydrate_lake(geo, dest, pair.secondary_geo_copy_key(), ["nosuchcontainer"])
        copied = rehydrate_lake(geo, dest, pair.secondary_geo_copy_key(), ["refused"], poll_interval_s=0.01)
        assert copied["copied"] == 1 and copied["payload_bytes_through_drctl"] == 0  # the right key: copied
    finally:
        geo.delete_container("refused")
        dest.delete_container("refused")
        pair.stop_primary()


def test_no_secret_reaches_evidence(drill):
    pair = drill["pair"]
    keys = pair.account_keys()
    evidence = json.dumps({k: drill[k] for k in ("rehydrate", "restore", "lake_replay", "pg_replay",
                                                  "lake_smoke", "pg_smoke", "lake_manifest", "pg_manifest")})
    evidence += json.dumps([drill["lake_validation"].to_evidence(), drill["pg_validation"].to_evidence(),
                            pair.describe()])
    evidence += repr(pair.secondary_azurite) + repr(pair.primary_azurite) + repr(pair.geo_azurite)
    for key in keys:
        assert key not in evidence and key[:20] not in evidence
    assert "sig=" not in evidence
    for log in pair.workdir.rglob("*.log"):
        text = log.read_text(errors="replace")
        assert "sig=" not in text and not any(k[:20] in text for k in keys)
    assert oct((pair.workdir / "account-keys.json").stat().st_mode & 0o777) == "0o600"


def test_stop_leaves_no_process_behind(drill):
    pair, pids = drill["pair"], drill["pids"]
    pair.stop()
    pair.stop()  # twice is fine
    stop_all()
    assert all(p is not None for p in pids.values())
    alive = {name: pid for name, pid in pids.items() if psutil.pid_exists(pid)}
    assert alive == {}
    assert describe(processes_of(pair.workdir)) == []  # neither postgres nor azurite-blob
