"""Validate PostgreSQL restored to a point: what it must hold, from the system of record.

A physical restore reaches a watermark W (the newest batch whose commit the replayed WAL holds,
wal.batch_at_lsn) that is rarely a backup's: the archive's end, or a recovery point between two
backups. No manifest recorded the facts at W, and the restored database must not judge itself. The
source system is deterministic (orchestrator/data/source.py: batch k is a function of the seed and
k alone), so the expected facts are those of batches 0..W ingested by the same pipeline into a
reference database of their own, next to the restored one on the recovered server (a scratch
database, dropped after): the same row counts, md5 over the rows in key order and max(ts) per
table (manifest.table_facts) as a backup's manifest records. A row altered, lost or extra in the
restored database, or a watermark that is not W, is a mismatch. The check names are those of
smoke_tests/postgres.py DATA, as coverage declares them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors
from orchestrator.data.ingest import PostgresSink, ingest_batches
from orchestrator.data.manifest import ValidationResult, compare, table_facts
from orchestrator.data.source import SourceSystem
from smoke_tests import postgres as postgres_checks
from smoke_tests.check import Check

REFERENCE_SUFFIX = "_expected"


class ReferenceServer(Protocol):
    def dsn(self, database: str) -> str: ...
    def create_database(self, name: str) -> bool: ...
    def drop_database(self, name: str) -> None: ...


class _OnConnection(PostgresSink):
    """The ingestion sink on a connection already open (kept open between its calls)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        super().__init__("")
        self._conn = conn

    def _connect(self) -> Any:
        return contextlib.nullcontext(self._conn)


def reference_name(database: str) -> str:
    return database[: 63 - len(REFERENCE_SUFFIX)] + REFERENCE_SUFFIX


def expected_facts(server: ReferenceServer, database: str, source: SourceSystem, watermark: int | None) -> dict:
    """table_facts of batches 0..`watermark` (none when None) of `source`, ingested into a scratch
    reference database on `server` as the pipeline ingests them."""
    reference = reference_name(database)
    with pg_errors("postgres expected facts"):
        server.drop_database(reference)  # a previous attempt's
        server.create_database(reference)
        try:
            # one connection for the whole scratch build: a connection per batch gave a flaky
            # network (the faults suite) a dozen chances per attempt to fail a step that only
            # computes what to expect
            with pg_connect(server.dsn(reference), site="postgres: validation", autocommit=True) as conn:
                sink = _OnConnection(conn)
                sink.ensure_schema()
                batches = (source.batch(k) for k in range(0 if watermark is None else watermark + 1))
                ingest_batches(sink, batches, source.devices())
                return table_facts(conn)
        finally:
            server.drop_database(reference)


def validate_restored_point(server: ReferenceServer, database: str, source: SourceSystem, watermark: int | None,
                            checks: Sequence[Check] = postgres_checks.DATA) -> ValidationResult:
    """The restored `database` against the source's batches 0..`watermark`: every table's facts
    and the database's own watermark."""
    expected = expected_facts(server, database, source, watermark)
    dsn = server.dsn(database)
    with pg_errors("postgres validation"), pg_connect(dsn, site="postgres: validation") as conn:
        actual = table_facts(conn)
    return compare("postgres", expected, actual, checks, watermark, PostgresSink(dsn).watermark())
