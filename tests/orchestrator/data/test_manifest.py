"""Error mapping, redaction, manifests and comparison, process ownership: no servers."""

from __future__ import annotations

import json
import os

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from orchestrator.data.errors import azure_errors, map_azure_error, map_pg_error, redact
from orchestrator.data.manifest import compare, load_manifest, sha256_file, verify_dump, write_manifest
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.local.servers.processes import owned_process, read_state, write_state
from smoke_tests import lake as lake_checks


class _Response:
    """Just enough of an HTTP response for HttpResponseError."""

    def __init__(self, status: int, headers: dict | None = None) -> None:
        self.status_code, self.reason, self.headers = status, "reason", headers or {}
        self.request = None

    def text(self, encoding=None) -> str:
        return ""

    def body(self) -> bytes:
        return b""


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_throttling_timeouts_and_5xx_are_transient(status):
    err = map_azure_error(HttpResponseError(message="busy", response=_Response(status, {"Retry-After": "7"})))
    assert isinstance(err, TransientError)
    assert err.retry_after_s == 7.0


def test_retry_after_in_milliseconds_is_honoured():
    err = map_azure_error(HttpResponseError(message="x", response=_Response(503, {"x-ms-retry-after-ms": "1500"})))
    assert err.retry_after_s == 1.5


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_other_statuses_are_permanent(status):
    assert isinstance(map_azure_error(HttpResponseError(message="no", response=_Response(status))), PermanentError)


def test_connection_failures_are_transient_and_their_urls_are_redacted():
    url = "http://127.0.0.1:1/acct/raw/x.jsonl?sv=2024&sp=r&sig=SECRETSIG%3D"
    with pytest.raises(TransientError) as caught, azure_errors("copy"):
        raise ServiceRequestError(f"Max retries exceeded with url: {url}")
    assert "SECRETSIG" not in str(caught.value)
    assert isinstance(map_azure_error(ConnectionResetError("reset by peer")), TransientError)


def test_redact_removes_keys_and_signatures():
    text = ("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=c2VjcmV0a2V5==;"
            " https://h/c/b?se=1&sig=abc%2F sig=zzz password=hunter2")
    out = redact(text)
    for secret in ("c2VjcmV0a2V5", "abc%2F", "zzz", "hunter2"):
        assert secret not in out


def test_psycopg_operational_errors_are_transient_others_permanent():
    assert isinstance(map_pg_error(psycopg.OperationalError("connection refused")), TransientError)
    assert isinstance(map_pg_error(psycopg.errors.UniqueViolation("dup")), PermanentError)
    assert isinstance(map_pg_error(psycopg.ProgrammingError("bad sql")), PermanentError)


def _fake_pg_manifest(tmp_path) -> tuple[dict, str]:
    dump = tmp_path / "app.dump"
    dump.write_bytes(os.urandom(4096))
    path = write_manifest(tmp_path / "manifest.json", {
        "kind": "postgres", "database": "app", "tables": {}, "watermark": 1,
        "dump": {"file": "app.dump", "bytes": 4096, "sha256": sha256_file(dump)}})
    return load_manifest(path), str(path)


def test_a_corrupted_dump_is_detected_before_use(tmp_path):
    manifest, path = _fake_pg_manifest(tmp_path)
    assert verify_dump(manifest) == tmp_path / "app.dump"
    data = bytearray((tmp_path / "app.dump").read_bytes())
    data[100] ^= 0xFF  # same size, one flipped byte
    (tmp_path / "app.dump").write_bytes(bytes(data))
    with pytest.raises(PermanentError, match="corrupt"):
        load_manifest(path)
    (tmp_path / "app.dump").write_bytes(bytes(data[:-1]))
    with pytest.raises(PermanentError, match="bytes"):
        verify_dump(manifest)
    (tmp_path / "app.dump").unlink()
    with pytest.raises(PermanentError, match="missing"):
        verify_dump(manifest)


def test_a_copied_manifest_still_finds_and_checks_its_dump(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    manifest, _ = _fake_pg_manifest(store)
    copy = write_manifest(tmp_path / "run" / "manifests" / "pg.json", manifest)  # as a run dir keeps it
    assert verify_dump(load_manifest(copy)) == store / "app.dump"
    (store / "app.dump").write_bytes(b"x" * 4096)
    with pytest.raises(PermanentError, match="corrupt"):
        load_manifest(copy)


def test_unreadable_manifests_are_permanent_errors(tmp_path):
    with pytest.raises(PermanentError):
        load_manifest(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PermanentError):
        load_manifest(tmp_path / "bad.json")
    (tmp_path / "odd.json").write_text(json.dumps({"version": 99, "kind": "lake"}))
    with pytest.raises(PermanentError):
        load_manifest(tmp_path / "odd.json")


def test_compare_is_exact_and_names_every_difference():
    expected = {"raw": {"blobs": 2, "bytes": 10, "digest": "d1"}, "curated": {"blobs": 1, "bytes": 5, "digest": "d2"}}
    same = compare("lake", expected, json.loads(json.dumps(expected)), lake_checks.DATA, 3, 3)
    assert same.exact and same.mismatches == []
    actual = {"raw": {"blobs": 2, "bytes": 10, "digest": "other"}, "curated": None}
    diff = compare("lake", expected, actual, lake_checks.DATA, 3, 2)
    assert not diff.exact
    assert diff.details["raw"]["exact"] is False and diff.details["curated"]["actual"] is None
    assert len(diff.mismatches) == 3  # digest, missing container, watermark
    assert diff.to_evidence()["watermark"] == {"expected": 3, "actual": 2}


def test_a_process_is_ours_only_if_its_command_line_names_our_data_dir(tmp_path):
    me = os.getpid()
    assert owned_process(me, "/no/such/data/dir/marker") is None
    assert owned_process(None, "x") is None
    assert owned_process(2 ** 22 + 12345, "x") is None  # no such pid
    write_state(tmp_path, {"pid": me, "port": 1})
    assert read_state(tmp_path)["pid"] == me
    (tmp_path / "service.json").write_text("{torn")
    assert read_state(tmp_path) is None
