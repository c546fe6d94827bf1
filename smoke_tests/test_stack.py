"""The smoke checks of the DR profiles, as pytest tests over a deployed stack's outputs."""

from __future__ import annotations

from smoke_tests import check_lake, check_postgres


def _failed(result: dict) -> list[str]:
    return [c["check"] for c in result["checks"] if not c["ok"]]


def test_lake_blob_write_read_delete(lake_service):
    result = check_lake(lake_service)
    assert result["ok"], f"failed checks: {_failed(result)}"


def test_postgres_select_1(postgres_conninfo):
    result = check_postgres(postgres_conninfo)
    assert result["ok"], f"failed checks: {_failed(result)}"
