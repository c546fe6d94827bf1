"""PostgreSQL restore: drctl's restore path against a plain single-job pg_restore.

A database of about 1 GiB (pg_database_size; 32 MiB with --quick) is generated with SQL in the
local PostgreSQL (orchestrator/targets/local/servers/postgres.py): a few event tables with a primary key
and an index on the timestamp, filled from generate_series. It is dumped as drctl's backup dumps
(orchestrator/data/backup.py: pg_dump --format=custom), then restored twice into fresh databases:
by drctl's restore_postgres (the dump's sha256 checked, then pg_restore --jobs=2, its default),
and by a plain `pg_restore` with one job. Row counts are compared after each.

What bounds the ratio on two cores: pg_restore --jobs runs one job per table's data and per index,
so at most `jobs` of them at once, each a pg_restore worker decompressing and a backend parsing
COPY or sorting for an index; two jobs on two cores can at best halve the time, the largest
table's COPY cannot be split, and whatever else runs on the machine takes its share.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from bench.report import Result
from orchestrator.data.connect import client_command
from orchestrator.data.manifest import sha256_file
from orchestrator.data.postgres.recovery import restore_postgres
from orchestrator.targets.local.servers.postgres import PostgresServer

MIB, GIB = 1 << 20, 1 << 30
TABLES = 4
BYTES_PER_ROW = 190  # heap row plus its share of the two indexes, measured at 1 GiB on this schema
SOURCE, DRCTL_DB, PLAIN_DB = "bench_source", "bench_drctl", "bench_plain"


def generate(server: PostgresServer, total_bytes: int) -> int:
    """Fill SOURCE with about `total_bytes`; returns the rows written."""
    server.create_database(SOURCE)
    per_table = max(1000, total_bytes // BYTES_PER_ROW // TABLES)

    def fill(n: int) -> None:
        with psycopg.connect(server.dsn(SOURCE), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE events_{n} (id bigint PRIMARY KEY, ts timestamptz NOT NULL, "
                         "device text NOT NULL, reading double precision NOT NULL, payload text NOT NULL)")
            conn.execute(f"INSERT INTO events_{n} SELECT g, timestamptz '2026-01-01' + g * interval '1 second', "
                         "'device-' || (g % 1000), (g % 9973) / 7.0, md5(g::text) || md5((g * 7)::text) "
                         f"FROM generate_series(1, {per_table}) AS g")
            conn.execute(f"CREATE INDEX ON events_{n} (ts)")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(TABLES)))
    return per_table * TABLES


def _size(server: PostgresServer, database: str) -> int:
    with psycopg.connect(server.dsn("postgres")) as conn:
        return int(conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()[0])


def _rows(server: PostgresServer, database: str) -> int:
    with psycopg.connect(server.dsn(database)) as conn:
        return sum(int(conn.execute(f"SELECT count(*) FROM events_{n}").fetchone()[0]) for n in range(TABLES))


def dump(server: PostgresServer, directory: Path) -> dict:
    """pg_dump --format=custom, as drctl's backup takes it, and the manifest restore_postgres reads."""
    path = directory / f"{SOURCE}.dump"
    argv, env = client_command(server.pg_dump, server.dsn(SOURCE), "--format=custom", "--file", str(path))
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=3600)
    return {"kind": "postgres", "database": SOURCE, "manifest_dir": str(directory), "watermark": None,
            "tables": {f"events_{n}": {} for n in range(TABLES)},
            "dump": {"file": path.name, "format": "custom", "bytes": path.stat().st_size, "sha256": sha256_file(path)}}


def plain_restore(server: PostgresServer, dump_path: Path) -> None:
    server.drop_database(PLAIN_DB)
    server.create_database(PLAIN_DB)
    argv, env = client_command(server.pg_restore, server.dsn(PLAIN_DB), "--no-owner", "--no-privileges",
                               "--exit-on-error")
    subprocess.run([*argv, str(dump_path)], env=env, check=True, capture_output=True, timeout=3600)


def run(quick: bool, total_bytes: int | None = None) -> list[Result]:
    size = total_bytes or (32 * MIB if quick else GIB)
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    server = PostgresServer(root / "pg")
    try:
        server.start()
        rows = generate(server, size)
        source_bytes = _size(server, SOURCE)
        manifest = dump(server, root)

        started = time.perf_counter()
        evidence = restore_postgres(server, manifest, database=DRCTL_DB)
        drctl_s = time.perf_counter() - started
        started = time.perf_counter()
        plain_restore(server, root / manifest["dump"]["file"])
        plain_s = time.perf_counter() - started
        for database in (DRCTL_DB, PLAIN_DB):
            if _rows(server, database) != rows:
                raise RuntimeError(f"{database} does not hold the {rows} rows of {SOURCE}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    what = (f"{source_bytes / MIB:,.0f} MiB database ({TABLES} tables, {rows:,} rows, 2 indexes each), "
            f"{manifest['dump']['bytes'] / MIB:,.0f} MiB custom-format dump")
    return [
        Result("pg_restore.drctl_s", round(drctl_s, 2), "s", None,
               f"{evidence['method']}, sha256 of the dump checked first; {what}"),
        Result("pg_restore.single_job_s", round(plain_s, 2), "s", None, "plain pg_restore, one job"),
        Result("pg_restore.speedup", round(plain_s / drctl_s, 2), "x", "> 1",
               f"at most {evidence['jobs']} on {evidence['jobs']} cores: one job per table or index at a time "
               "(docs/performance-notes.md)"),
    ]

