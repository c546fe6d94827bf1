"""Backups with manifests, taken before the disaster.

Lake: replicate the primary account into its geo copy (locally this plays what GRS does inside
Azure, so streaming through the client is fine here: it is not on the recovery path), then record
per container the count, bytes and listing digest, and the lake's own watermark.
PostgreSQL: `pg_dump -Fc` of one database into the backup store, and per table the row count, an
SQL checksum and max(ts), all read from the very snapshot the dump was taken from. (The local
drill's generations are physical base backups now, orchestrator/data/postgres/basebackup.py; the dump
stays the logical path that bench/pg_restore.py measures and pg_physical compares against.)
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContentSettings

from orchestrator.data.connect import client_command
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.listing import LISTING_PAGE
from orchestrator.data.lake.recovery import merge_by_name, run_pool
from orchestrator.data.manifest import (
    container_facts,
    lake_facts,
    load_manifest,
    md5_text,
    sha256_file,
    table_facts,
    write_manifest,
)
from orchestrator.data.rows import one_row
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, TransientError

__all__ = [
    "backup_lake",
    "backup_postgres",
    "lake_manifest_path",
    "load_manifest",
    "postgres_manifest_path",
    "replicate_lake",
]


# Blobs replicated at once: the lake's small files make this request-bound, and Azurite answers
# requests on one thread, so more threads than this mostly add Python overhead on a small machine.
REPLICATION_WORKERS = 8


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def lake_manifest_path(backup_dir: Path) -> Path:
    return Path(backup_dir) / "lake" / "manifest.json"


def postgres_manifest_path(backup_dir: Path, database: str) -> Path:
    return Path(backup_dir) / "postgres" / database / "manifest.json"



def _same(src: Any, dst: Any | None) -> bool:
    """The destination blob is already the source's: same size and Content-MD5."""
    return dst is not None and dst.size == src.size and \
        md5_text(dst.content_settings.content_md5) == md5_text(src.content_settings.content_md5)


def _copy_blob(source: BlobServiceClient, dest: BlobServiceClient, container: str, blob: Any) -> None:
    # one GET and one Put Blob for the small blobs a lake is mostly made of
    data = source.get_blob_client(container, blob.name).download_blob(max_concurrency=1).readall()
    cs = blob.content_settings
    dest.get_blob_client(container, blob.name).upload_blob(
        data, length=len(data), overwrite=True, max_concurrency=1,
        content_settings=ContentSettings(content_type=cs.content_type, content_md5=cs.content_md5))


def replicate_lake(source: BlobServiceClient, dest: BlobServiceClient,
                   containers: tuple[str, ...] = ZONES, workers: int = REPLICATION_WORKERS) -> dict:
    """Make `dest` a mirror of `source` for `containers`: copy new or changed blobs (keeping
    Content-MD5), delete blobs the source no longer has. Both listings are walked together, page by
    page, feeding a bounded pool, so no listing is held. Returns counts."""
    counts = {"copied": 0, "deleted": 0, "unchanged": 0}

    def jobs() -> Iterator[tuple[str, Any]]:
        for container in containers:
            with contextlib.suppress(ResourceExistsError):
                dest.create_container(container)
            pairs = merge_by_name(source.get_container_client(container).list_blobs(results_per_page=LISTING_PAGE),
                                  dest.get_container_client(container).list_blobs(results_per_page=LISTING_PAGE),
                                  f"the primary's listing of {container}", f"the geo copy's listing of {container}",
                                  right_only=True)
            for src, dst in pairs:
                if src is None:
                    counts["deleted"] += 1
                    yield container, ("delete", dst)
                elif _same(src, dst):
                    counts["unchanged"] += 1
                else:
                    counts["copied"] += 1
                    yield container, ("copy", src)

    def work(container: str, job: tuple[str, Any]) -> None:
        action, blob = job
        if action == "copy":
            _copy_blob(source, dest, container, blob)
        else:
            dest.get_blob_client(container, blob.name).delete_blob()

    with azure_errors("lake replication"):
        run_pool(work, jobs(), workers, "lake-replication")
    return counts


def backup_lake(primary: BlobServiceClient, geo_copy: BlobServiceClient, backup_dir: Path,
                containers: tuple[str, ...] = ZONES) -> dict:
    """Replicate, check the copy matches the primary's listing, write the lake manifest."""
    replication = replicate_lake(primary, geo_copy, containers)
    with azure_errors("lake manifest"):
        facts = lake_facts(geo_copy, containers)
        primary_facts = {c: container_facts(primary, c) for c in containers}
    if facts != primary_facts:
        # the primary changed while we copied; another pass will converge
        raise TransientError("the geo copy does not match the primary after replication")
    record = LakeSink(geo_copy).watermark_record()
    manifest = {"kind": "lake", "account": geo_copy.account_name, "taken_at": _now(),
                "containers": facts, "watermark": record and record["batch"],
                "data_end": record and record["data_end"], "replication": replication}
    return load_manifest(write_manifest(lake_manifest_path(backup_dir), manifest))


def _watermark(conn: psycopg.Connection) -> tuple[int | None, str | None]:
    if one_row(conn.execute("SELECT to_regclass('public.ingestion_watermark')"))[0] is None:
        return None, None
    row = conn.execute("SELECT batch, data_end FROM ingestion_watermark WHERE pipeline = 'events'").fetchone()
    return (None, None) if row is None else (int(row[0]), iso(row[1]))


def backup_postgres(dsn: str, database: str, backup_dir: Path, pg_dump: Path | str) -> dict:
    """`pg_dump -Fc` of `database` (reached through `dsn`) plus its manifest, in the backup store.

    The dump and the facts read the same exported snapshot, so they agree even if ingestion
    keeps writing meanwhile."""
    out_dir = postgres_manifest_path(backup_dir, database).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    dump_path = out_dir / f"{database}.dump"
    with pg_errors("postgres backup"), psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = one_row(conn.execute("SELECT pg_export_snapshot()"))[0]
        with tempfile.NamedTemporaryFile(dir=out_dir, suffix=".dump.tmp", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        try:
            argv, env = client_command(pg_dump, dsn, "--format=custom", f"--snapshot={snapshot}",
                                       "--file", str(tmp_path))
            result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
            if result.returncode != 0:
                err = result.stderr.strip()[-1500:]
                kind = TransientError if "could not connect" in err or "connection" in err else PermanentError
                raise kind(f"pg_dump of {database} failed: {err}")
            tmp_path.replace(dump_path)
        finally:
            tmp_path.unlink(missing_ok=True)
        facts = table_facts(conn)
        watermark, data_end = _watermark(conn)
        server_version = conn.info.server_version
        conn.rollback()
    manifest = {"kind": "postgres", "database": database, "taken_at": _now(), "tables": facts,
                "watermark": watermark, "data_end": data_end, "server_version": server_version,
                "dump": {"file": dump_path.name, "format": "custom",
                         "bytes": dump_path.stat().st_size, "sha256": sha256_file(dump_path)}}
    # read back through load_manifest: the caller gets exactly what a recovery will load
    return load_manifest(write_manifest(postgres_manifest_path(backup_dir, database), manifest))
