"""`drctl cleanup`: rehearsal leftovers found by their marks and removed, nothing else touched.

Local: marked data directories under <workdir>/local/, decided by expiry and by whether the
drctl that owns them still runs; the emulators still serving one are real (Azurite, PostgreSQL)
and must be stopped. Azure: resource groups listed with the drctl-rehearsal tag filter through the
real SDK pipeline, answered from the ResourceGroups_Get example of the REST API specs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psutil
import pytest
from azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

from orchestrator.errors import BadInput
from orchestrator.rehearsal.marks import MARKER
from orchestrator.rehearsal.teardown import teardown_local_dir
from orchestrator.run.ownership import owner_fields
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.verbs.cleanup import cleanup_azure, cleanup_local, local_leftovers

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GROUP_GET = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/ResourceGroups_Get.json"


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def leftover(workdir: Path, run_id: str, marker: dict | str | None) -> Path:
    """A rehearsal's data directory as a dead drctl leaves it: data, keys, and (maybe) its marker."""
    local_dir = workdir / "local" / run_id
    (local_dir / "secondary" / "azurite").mkdir(parents=True)
    (local_dir / "secondary" / "azurite" / "__blobstorage__").write_text("blob data")
    (local_dir / "account-keys.json").write_text("{}")
    if marker is not None:
        (local_dir / MARKER).write_text(marker if isinstance(marker, str) else json.dumps(marker))
    return local_dir


def gone_pid() -> tuple[int, float]:
    """The pid and start time of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return proc.pid, started


def test_local_leftovers_are_decided_by_expiry_and_by_their_owner(tmp_path):
    elsewhere = {"host": "another-host", "pid": 1, "pid_started": 0.0}
    pid, started = gone_pid()
    expired = leftover(tmp_path, "drill-expired", {"name": "r-expired", "expires_at": stamp(NOW - timedelta(minutes=1)),
                                                   **elsewhere})
    fresh = leftover(tmp_path, "drill-fresh", {"name": "r-fresh", "expires_at": stamp(NOW + timedelta(hours=1)),
                                               **elsewhere})
    orphan = leftover(tmp_path, "drill-orphan", {"name": "r-orphan", "expires_at": stamp(NOW + timedelta(hours=1)),
                                                 "host": socket.gethostname(), "pid": pid, "pid_started": started})
    running = leftover(tmp_path, "drill-running", {"name": "r-running", "expires_at": stamp(NOW - timedelta(hours=1)),
                                                   **owner_fields()})
    unreadable = leftover(tmp_path, "drill-torn", '{"name": "r-to')
    unmarked = leftover(tmp_path, "drill-kept", None)  # a drill's data kept on purpose: not a rehearsal's

    decisions = {Path(e["local_dir"]).name: e for e in local_leftovers(tmp_path, NOW)}

    assert set(decisions) == {"drill-expired", "drill-fresh", "drill-orphan", "drill-running", "drill-torn"}
    assert decisions["drill-expired"]["remove"] and "expired at" in decisions["drill-expired"]["reason"]
    assert not decisions["drill-fresh"]["remove"] and "expires at" in decisions["drill-fresh"]["reason"]
    assert decisions["drill-orphan"]["remove"] and f"(pid {pid}) is gone" in decisions["drill-orphan"]["reason"]
    # Expired, but the drctl that owns it still runs (this very process): never pulled from under it.
    assert not decisions["drill-running"]["remove"] and "still running" in decisions["drill-running"]["reason"]
    assert not decisions["drill-torn"]["remove"] and "unreadable" in decisions["drill-torn"]["reason"]

    dry = cleanup_local(tmp_path, dry_run=True, now=NOW)
    assert [Path(e["local_dir"]).name for e in dry["leftovers"] if e["remove"]] == ["drill-expired", "drill-orphan"]
    assert all(d.is_dir() for d in (expired, fresh, orphan, running, unreadable, unmarked))  # dry run: nothing removed

    done = cleanup_local(tmp_path, dry_run=False, now=NOW)
    assert not expired.exists() and not orphan.exists()
    assert all(d.is_dir() for d in (fresh, running, unreadable, unmarked))
    removed = [e for e in done["leftovers"] if e["remove"]]
    assert all(e["teardown"]["data_removed"] and e["teardown"]["error"] is None for e in removed)


def test_a_removal_cut_short_keeps_the_marker_so_cleanup_finds_it_again(tmp_path, monkeypatch):
    import orchestrator.rehearsal.teardown as teardown

    local_dir = leftover(tmp_path, "drill-stuck", {"name": "r", "expires_at": stamp(NOW)})

    def refused(path, *args, **kwargs):  # as a file held by another user would be (we run as root here)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(teardown.shutil, "rmtree", refused)
    record = teardown_local_dir(local_dir)

    assert not record["data_removed"] and record["error"].startswith("PermissionError")
    assert (local_dir / MARKER).is_file()  # still marked: never unmarked data
    assert [e["remove"] for e in local_leftovers(tmp_path, NOW)] == [True]


def drctl(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_command_lists_on_dry_run_and_removes_otherwise(tmp_path):
    expired = leftover(tmp_path, "drill-old", {"name": "rehearsal-drill-old", "expires_at": "2000-01-01T00:00:00Z"})

    listed = drctl("cleanup", "--local", "--workdir", str(tmp_path), "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert f"local: {expired} (rehearsal-drill-old): would remove; expired at 2000-01-01T00:00:00Z" in listed.stdout
    assert expired.is_dir()

    removed = drctl("cleanup", "--local", "--workdir", str(tmp_path), "--json")
    assert removed.returncode == 0, removed.stderr
    entry = json.loads(removed.stdout)["local"]["leftovers"][0]
    assert entry["remove"] and entry["teardown"]["data_removed"] and not expired.exists()


@pytest.mark.parametrize("args, message", [
    ([], "drctl: cleanup needs --local (leftovers under --workdir) and/or --subscription ID (Azure)"),
    (["--subscription", "not-a-guid", "--local"], "drctl: --subscription: 'not-a-guid' is not a subscription id (a GUID)"),
])
def test_bad_input_is_one_line_and_touches_nothing(tmp_path, args, message):
    marked = leftover(tmp_path, "drill-old", {"name": "r", "expires_at": "2000-01-01T00:00:00Z"})
    result = drctl("cleanup", "--workdir", str(tmp_path), *args)
    assert result.returncode == 2 and result.stderr == message + "\n" and result.stdout == ""
    assert marked.is_dir()


@pytest.mark.integration
def test_emulators_still_running_from_a_leftover_are_stopped():
    from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
    from orchestrator.targets.local.servers.postgres import PostgresServer

    # mkdtemp, not tmp_path: PostgreSQL runs as another user and needs a path it can traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drctl-cleanup-")).resolve()
    try:
        local_dir = workdir / "local" / "drill-killed"
        local_dir.mkdir(parents=True)
        (local_dir / MARKER).write_text(json.dumps({"name": "r", "expires_at": "2000-01-01T00:00:00Z"}))
        servers = [AzuriteServer(local_dir / "secondary" / "azurite", {"lakesecondary": generate_account_key()}),
                   PostgresServer(local_dir / "secondary" / "postgres")]
        pids = []
        for server in servers:
            server.start()
            pids.append(server.pid)
            server._popen = None  # forgotten, as by a drctl killed with SIGKILL: only the record knows it

        document = cleanup_local(workdir, dry_run=False)

        teardown = document["leftovers"][0]["teardown"]
        assert sorted(p["pid"] for p in teardown["processes_stopped"]) == sorted(pids)
        assert {p["service"] for p in teardown["processes_stopped"]} == {"azurite", "postgres"}
        for pid in pids:
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert teardown["data_removed"] and not local_dir.exists()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- Azure ---------------------------------------------------------------------------------------


def group(name: str, tags: dict | None) -> dict:
    """The ResourceGroups_Get example's group under another name, with tags (the example has none)."""
    body = example_body(GROUP_GET)
    body = {**body, "name": name, "id": body["id"].replace("my-resource-group", name)}
    return {**body, "tags": tags} if tags is not None else body


def azure(groups: list[dict]) -> tuple[AzureSession, ExampleTransport]:
    operation = f"https://management.azure.com/subscriptions/{SUBSCRIPTION}/operationresults/delete-1"
    routes = [
        # A list example is not in the fixtures: the list response is the Get example's group,
        # several times over, in ARM's list shape ({"value": [...]}).
        Route("GET", f"/subscriptions/{SUBSCRIPTION}/resourcegroups", body={"value": groups}),
        Route("DELETE", f"/subscriptions/{SUBSCRIPTION}/resourcegroups/[^/]+", status=202,
              headers={"Location": operation, "Retry-After": "0"}),
        Route("GET", f"/subscriptions/{SUBSCRIPTION}/operationresults/delete-1", status=200),
    ]
    transport = ExampleTransport(routes)
    session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0, polling_interval=0)
    return session, transport


def rehearsal_groups() -> list[dict]:
    tag = "drctl-rehearsal"
    return [
        group("rg-contoso-data-a1b2c3", {tag: "secondary-a1b2c3", "drctl-expires": stamp(NOW - timedelta(hours=2))}),
        group("rg-contoso-foundation-a1b2c3", {tag: "secondary-a1b2c3", "drctl-expires": stamp(NOW)}),
        group("rg-contoso-data-d4e5f6", {tag: "secondary-d4e5f6", "drctl-expires": stamp(NOW + timedelta(minutes=5))}),
        group("rg-contoso-data-0f0f0f", {tag: "secondary-0f0f0f", "drctl-expires": "next tuesday"}),
        group("rg-contoso-data-1a1a1a", {tag: "secondary-1a1a1a"}),
    ]


def test_azure_deletes_only_the_tagged_groups_whose_expiry_passed():
    session, transport = azure(rehearsal_groups())

    document = cleanup_azure(SUBSCRIPTION, dry_run=False, now=NOW, session=session)

    listing = transport.requests[0]
    assert listing.method == "GET" and urlparse(listing.url).path.lower().endswith("/resourcegroups")
    assert parse_qs(urlparse(listing.url).query)["$filter"] == ["tagName eq 'drctl-rehearsal'"]
    deleted = [urlparse(r.url).path.rsplit("/", 1)[-1] for r in transport.requests if r.method == "DELETE"]
    assert deleted == ["rg-contoso-data-a1b2c3", "rg-contoso-foundation-a1b2c3"]  # expired, or expiring right now
    groups = {g["name"]: g for g in document["resource_groups"]}
    assert all(groups[name].get("deleted") for name in deleted)
    assert groups["rg-contoso-data-d4e5f6"]["remove"] is False and "expires at" in groups["rg-contoso-data-d4e5f6"]["reason"]
    for name in ("rg-contoso-data-0f0f0f", "rg-contoso-data-1a1a1a"):
        assert groups[name]["remove"] is False and "no valid drctl-expires tag" in groups[name]["reason"]
    assert groups["rg-contoso-data-a1b2c3"]["rehearsal"] == "secondary-a1b2c3"
    assert groups["rg-contoso-data-a1b2c3"]["location"] == "westus2"  # read from the example payload
    assert document["error"] is None


def test_azure_dry_run_lists_and_deletes_nothing():
    session, transport = azure(rehearsal_groups())
    document = cleanup_azure(SUBSCRIPTION, dry_run=True, now=NOW, session=session)
    assert [r.method for r in transport.requests] == ["GET"]
    assert [g["name"] for g in document["resource_groups"] if g["remove"]] == [
        "rg-contoso-data-a1b2c3", "rg-contoso-foundation-a1b2c3"]


def test_azure_listing_refused_is_reported_not_raised():
    transport = ExampleTransport([Route("GET", f"/subscriptions/{SUBSCRIPTION}/resourcegroups", status=403,
                                        body={"error": {"code": "AuthorizationFailed", "message": "no access"}})])
    session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0)
    document = cleanup_azure(SUBSCRIPTION, dry_run=False, now=NOW, session=session)
    assert document["error"].startswith("listing the resource groups failed: AuthorizationFailed")
    assert document["resource_groups"] == []


def test_azure_without_credentials_is_bad_input_before_any_request(monkeypatch):
    import orchestrator.targets.azure.preconditions as preconditions

    def no_login() -> None:
        raise BadInput("no Azure credentials: set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET")

    monkeypatch.setattr(preconditions, "check_azure_credentials", no_login)
    with pytest.raises(BadInput, match="no Azure credentials"):
        cleanup_azure(SUBSCRIPTION, dry_run=False, now=NOW)
