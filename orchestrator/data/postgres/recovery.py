"""Recover PostgreSQL logically: restore a verified dump, validate against its manifest.

The local drill restores physically (orchestrator/data/postgres/physical.py); this is the logical path
that bench/pg_restore.py and bench/pg_physical.py measure against."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Protocol

from orchestrator.data.connect import client_command, pg_connect
from orchestrator.data.errors import pg_errors, redact
from orchestrator.data.ingest import PostgresSink
from orchestrator.data.manifest import ValidationResult, compare, table_facts, verify_dump
from orchestrator.model import PermanentError, TransientError
from smoke_tests import postgres as postgres_checks
from smoke_tests.check import Check

_CONNECT_FAILURES = ("could not connect", "connection refused", "connection to server",
                     "server closed the connection", "timeout expired")


class RestoreTarget(Protocol):
    """What restore needs from a server (the local PostgresServer provides it)."""

    @property
    def pg_restore(self) -> os.PathLike[str]: ...  # read only: a Path (class attribute) is one

    def dsn(self, database: str) -> str: ...
    def create_database(self, name: str) -> bool: ...
    def drop_database(self, name: str) -> None: ...


def restore_postgres(server: RestoreTarget, manifest: dict, jobs: int = 2,
                     database: str | None = None) -> dict:
    """Restore the manifest's dump into a fresh database (its own name unless `database`).

    Idempotent: whatever a previous attempt left under that name is dropped first, so a
    half-restored database can never pass for a restored one. The dump's sha256 is checked
    again right before use. Returns evidence (no connection strings)."""
    dump_path = verify_dump(manifest)
    database = database or manifest["database"]
    with pg_errors(f"postgres restore {database}"):
        server.drop_database(database)
        server.create_database(database)
    argv, env = client_command(server.pg_restore, server.dsn(database), f"--jobs={jobs}", "--no-owner",
                               "--no-privileges", "--exit-on-error")
    result = subprocess.run([*argv, str(dump_path)], env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        err = redact(result.stderr.strip()[-1500:])
        kind = TransientError if any(s in err.lower() for s in _CONNECT_FAILURES) else PermanentError
        raise kind(f"pg_restore into {database} failed: {err}")
    return {"method": f"pg_restore --jobs={jobs} from a custom-format dump",
            "database": database, "source_database": manifest["database"],
            "dump": {"file": dump_path.name, "bytes": manifest["dump"]["bytes"],
                     "sha256": manifest["dump"]["sha256"], "verified": True},
            "jobs": jobs, "tables": sorted(manifest["tables"]),
            "manifest_watermark": manifest.get("watermark")}


def validate_postgres(dsn: str, manifest: dict, checks: Sequence[Check] = postgres_checks.DATA) -> ValidationResult:
    """PostgreSQL's data checks (row counts, checksums and max(ts) per table) and the store's
    watermark, exactly as the manifest recorded them."""
    with pg_errors("postgres validation"), pg_connect(dsn, site="postgres: validation") as conn:
        actual = table_facts(conn)
    return compare("postgres", manifest["tables"], actual, checks,
                   manifest.get("watermark"), PostgresSink(dsn).watermark())
