"""PostgreSQL smoke check (`select-1`): the server answers and the platform's tables are readable.

Callers pass a libpq connection string: on Azure with an Entra token as the password (scope
https://ossrdbms-aad.database.windows.net/.default) and sslmode=require; locally the region
pair's loopback server.
"""

from __future__ import annotations

from psycopg import sql

from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors

PLATFORM_TABLES = ("devices", "events", "ingestion_watermark")


def check_postgres(conninfo: str, tables: tuple[str, ...] | list[str] = PLATFORM_TABLES) -> dict:
    """SELECT 1, and each expected table exists and can be read."""
    checks = []
    with pg_errors("postgres smoke test"), pg_connect(conninfo, site="postgres: smoke test") as conn:
        checks.append({"check": "SELECT 1", "ok": conn.execute("SELECT 1").fetchone()[0] == 1})
        for table in tables:
            present = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()[0] is not None
            if present:
                conn.execute(sql.SQL("SELECT 1 FROM public.{} LIMIT 1").format(sql.Identifier(table)))
            checks.append({"check": f"table {table} present and readable", "ok": present})
    return {"ok": all(c["ok"] for c in checks), "checks": checks}
