"""PostgreSQL's physical base backup, one per backup generation, and checking it before a restore.

`pg_basebackup` (the embedded distribution's) copies the primary server's whole data directory into
`<generation>/postgres/base/` in plain format, with the WAL that makes it consistent (-X stream) and
PostgreSQL's own `backup_manifest` (every file's size and CRC-32C, and the WAL range the backup
needs). drctl's manifest beside it (`<generation>/postgres/manifest.json`) records the backup's size,
the sha256 of that backup_manifest, the start and stop LSN and time, and the watermark and table
facts of the drill's database read just before the backup started (the prelude writes nothing while
it runs, so they are the data as of the backup's stop LSN).

A generation is good when `pg_verifybackup` (also the distribution's) finds every file as the
backup_manifest says and the WAL it needs parses, and the backup_manifest is the one drctl recorded:
a flipped byte anywhere in the data directory fails it, and the restore falls back on an older one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from orchestrator.data.connect import client_command, pg_connect
from orchestrator.data.errors import pg_errors, redact
from orchestrator.data.manifest import load_manifest, sha256_file, table_facts, write_manifest
from orchestrator.data.rows import one_row
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, TransientError

BASE_DIR = "base"
BACKUP_MANIFEST = "backup_manifest"  # PostgreSQL's, inside the base backup


def postgres_generation_dir(generation_dir: Path) -> Path:
    return Path(generation_dir) / "postgres"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _facts(dsn: str) -> dict[str, Any]:
    with pg_errors("postgres backup facts"), pg_connect(dsn, site="postgres: backup") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        facts = table_facts(conn)
        watermark = data_end = None
        if one_row(conn.execute("SELECT to_regclass('public.ingestion_watermark')"))[0] is not None:
            row = conn.execute("SELECT batch, data_end FROM ingestion_watermark WHERE pipeline = 'events'").fetchone()
            if row is not None:
                watermark, data_end = int(row[0]), iso(row[1])
        version = conn.info.server_version
        conn.rollback()
    return {"tables": facts, "watermark": watermark, "data_end": data_end, "server_version": version}


def _tree_size(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            total += (Path(dirpath) / name).stat().st_size
    return files, total


def _wal_range(backup_manifest: Path) -> tuple[int, str, str]:
    ranges = json.loads(backup_manifest.read_text())["WAL-Ranges"]
    return int(ranges[0]["Timeline"]), ranges[0]["Start-LSN"], ranges[-1]["End-LSN"]


def take_base_backup(pg_basebackup: Path | str, dsn: str, database: str, out_dir: Path,
                     generation: str | None = None) -> dict:
    """pg_basebackup of the server `dsn` reaches into `out_dir`/base, and its manifest in `out_dir`.
    `database` is the drill's database, whose facts the manifest records. Returns the manifest as
    load_manifest reads it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = _facts(dsn)
    scratch, base = out_dir / f"{BASE_DIR}.tmp", out_dir / BASE_DIR
    shutil.rmtree(scratch, ignore_errors=True)
    started_at = _now()
    # the password reaches pg_basebackup through PGPASSWORD (client_command), never its argv
    argv, env = client_command(pg_basebackup, dsn, "--pgdata", str(scratch), "--format=plain",
                               "--wal-method=stream", "--checkpoint=fast", "--no-sync",
                               f"--label=drctl {generation or 'base backup'}")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        err = redact(result.stderr.strip()[-1500:])
        kind = TransientError if "could not connect" in err or "connection" in err else PermanentError
        raise kind(f"pg_basebackup failed: {err}")
    stopped_at = _now()
    shutil.rmtree(base, ignore_errors=True)
    os.replace(scratch, base)
    timeline, start_lsn, stop_lsn = _wal_range(base / BACKUP_MANIFEST)
    files, size = _tree_size(base)
    manifest = {"kind": "postgres", "method": "physical", "database": database, "taken_at": stopped_at,
                **facts, **({"generation": generation} if generation else {}),
                "base": {"dir": BASE_DIR, "format": "plain", "files": files, "bytes": size,
                         "backup_manifest_sha256": sha256_file(base / BACKUP_MANIFEST),
                         "timeline": timeline, "start_lsn": start_lsn, "stop_lsn": stop_lsn,
                         "start_time": started_at, "stop_time": stopped_at}}
    return load_manifest(write_manifest(out_dir / "manifest.json", manifest))


def base_dir(manifest: dict) -> Path:
    return Path(manifest.get("manifest_dir", ".")) / (manifest.get("base") or {}).get("dir", BASE_DIR)


def verify_base_backup(pg_verifybackup: Path | str, manifest: dict) -> dict[str, Any]:
    """PermanentError saying what is wrong unless the base backup is whole; evidence otherwise."""
    base, recorded = base_dir(manifest), manifest.get("base") or {}
    if not (base / BACKUP_MANIFEST).is_file():
        raise PermanentError(f"the base backup {base} named by the manifest is missing")
    digest = sha256_file(base / BACKUP_MANIFEST)
    if digest != recorded.get("backup_manifest_sha256"):
        raise PermanentError(f"the base backup {base} is corrupt: its backup_manifest's sha256 {digest} is not "
                             f"the manifest's {recorded.get('backup_manifest_sha256')}")
    result = subprocess.run([str(pg_verifybackup), "--quiet", "--exit-on-error", str(base)],
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise PermanentError(f"the base backup {base} is corrupt: pg_verifybackup: "
                             f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'failed'}")
    return {"base_backup": str(base), "verified_by": "pg_verifybackup (every file's checksum, the WAL it needs)",
            "bytes": recorded.get("bytes"), "stop_lsn": recorded.get("stop_lsn")}


def damage_base_backup(manifest: dict, how: str) -> str:
    """For rehearsals: `missing` deletes the base backup; `corrupt` inverts 16 bytes in the middle
    of its largest data file, keeping its size, so only checksums can tell. Returns what was done."""
    base = base_dir(manifest)
    if how == "missing":
        shutil.rmtree(base)
        return f"base backup {base.name}/ deleted"
    # among the files backup_manifest lists (pg_wal's segments are checked by parsing the WAL range,
    # so bytes past that range would go unnoticed, as they would by the restore)
    listed = json.loads((base / BACKUP_MANIFEST).read_text())["Files"]
    largest = base / max(listed, key=lambda f: f["Size"])["Path"]
    inverted, offset = invert_middle(largest)
    return (f"{inverted} bytes of {largest.relative_to(base.parent)} inverted at offset {offset} "
            "(size unchanged)")


def invert_middle(path: Path, count: int = 16) -> tuple[int, int]:
    """For rehearsals: invert `count` bytes in the middle of `path`, keeping its size, so that only
    a checksum can tell. Returns how many bytes were inverted, and where."""
    offset = max(0, path.stat().st_size // 2 - count // 2)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        chunk = handle.read(count)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in chunk))
        handle.flush()
        os.fsync(handle.fileno())
    return len(chunk), offset
