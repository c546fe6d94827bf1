"""PostgreSQL's checks: the server answers and the platform's tables are readable (smoke); every
table's row count, checksum and newest timestamp equal to the backup's manifest (data).

The caller builds the probe: on Azure a connection signed in with an Entra token (scope
https://ossrdbms-aad.database.windows.net/.default) over TLS, locally the region pair's loopback server.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smoke_tests.check import LOCAL_AND_AZURE, LOCAL_SERVER, CheckKind, SameFact, data, smoke

if TYPE_CHECKING:  # the driver is imported when a check runs: preview and plan declare checks, run none
    import psycopg

EMBEDDED_POSTGRES = LOCAL_SERVER + " (embedded PostgreSQL)"
COMPONENT = "postgres"
PLATFORM_TABLES = ("devices", "events", "ingestion_watermark")


@dataclass(frozen=True)
class PostgresProbe:
    connect: Callable[[], AbstractContextManager[psycopg.Connection]]  # to the recovered database
    tables: tuple[str, ...] = PLATFORM_TABLES


def select_1(probe: PostgresProbe) -> dict:
    """SELECT 1, and each expected table exists and can be read."""
    from psycopg import sql

    checks = []
    with probe.connect() as conn:
        row = conn.execute("SELECT 1").fetchone()
        checks.append({"check": "SELECT 1", "ok": row is not None and row[0] == 1})
        for table in probe.tables:
            found = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            present = found is not None and found[0] is not None
            if present:
                conn.execute(sql.SQL("SELECT 1 FROM public.{} LIMIT 1").format(sql.Identifier(table)))
            checks.append({"check": f"table {table} present and readable", "ok": present})
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


CHECKS = (
    smoke(COMPONENT, "select-1", select_1, LOCAL_AND_AZURE, tested_against=EMBEDDED_POSTGRES),
    # By SQL on the server: row count, md5 over the rows in key order, max(ts) (manifest.table_facts).
    data(COMPONENT, "row-counts", SameFact("rows"), LOCAL_AND_AZURE, tested_against=EMBEDDED_POSTGRES),
    data(COMPONENT, "table-checksums", SameFact("checksum"), LOCAL_AND_AZURE, tested_against=EMBEDDED_POSTGRES),
    data(COMPONENT, "max-timestamp", SameFact("max_ts"), LOCAL_AND_AZURE, tested_against=EMBEDDED_POSTGRES),
)

# The data checks drctl's validation runs against the backup's manifest (orchestrator/data/manifest.py).
DATA = tuple(check for check in CHECKS if check.kind == CheckKind.DATA)
