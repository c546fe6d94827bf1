"""The smoke checks drctl runs on Azure, as pytest tests over a deployed stack's outputs: the same
Check functions (smoke_tests/<stem>.py), given probes built from the outputs (conftest.py)."""

from __future__ import annotations

import psycopg

from components.lake import ZONES
from smoke_tests.lake import LakeProbe, blob_write_read_delete
from smoke_tests.postgres import PostgresProbe, select_1


def _failed(result: dict) -> list[str]:
    return [c["check"] for c in result["checks"] if not c["ok"]]


def test_lake_blob_write_read_delete(lake_service):
    result = blob_write_read_delete(LakeProbe(lake_service, ZONES))
    assert result["ok"], f"failed checks: {_failed(result)}"


def test_postgres_select_1(postgres_conninfo):
    result = select_1(PostgresProbe(lambda: psycopg.connect(postgres_conninfo)))
    assert result["ok"], f"failed checks: {_failed(result)}"
