"""The one row of a query that always returns one (an aggregate, a function call, `SELECT 1`).

psycopg types `fetchone()` as a row or None; for these queries None would mean the server broke
its own rules, so it is an error here rather than a case every caller handles.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import Row

from orchestrator.model import PermanentError


def one_row(cursor: psycopg.Cursor[Row]) -> Row:
    row = cursor.fetchone()
    if row is None:
        raise PermanentError("postgres: no row from a query that always returns one")
    return row
