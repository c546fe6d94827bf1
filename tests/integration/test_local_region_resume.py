"""Local servers survive the death of the drctl that started them, and a resumed drctl takes
them over: it stops the orphans (only ours) and restarts on the same data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import psycopg
import pytest

from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.processes import ServerStartError, is_gone, write_state

REPO = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    # an orphan's zombie waits for init to reap it: exited is what matters
    try:
        return is_gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return True

# a drctl that starts the secondary region, writes some data, then dies without cleaning up
CRASHING_DRCTL = textwrap.dedent("""
    import json, os, signal, sys
    sys.path.insert(0, sys.argv[2])
    import psycopg
    from orchestrator.targets.local.region import LocalRegionPair
    pair = LocalRegionPair(sys.argv[1], "lakeprimary", "lakesecondary")
    pair.start_secondary()
    lake = pair.secondary_lake()
    lake.create_container("keep")
    lake.get_blob_client("keep", "a.txt").upload_blob(b"survives the crash")
    pair.secondary_postgres.create_database("app")
    with psycopg.connect(pair.secondary_postgres.dsn("app"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
    print(json.dumps(pair.pids()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.fixture
def workdir():
    # outside pytest's basetemp, which another pytest session may reset to 0700 meanwhile
    path = Path(tempfile.mkdtemp(prefix="drctl-resume-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.integration
def test_a_resumed_run_takes_over_orphans_and_keeps_the_data(workdir):
    crashed = subprocess.run([sys.executable, "-c", CRASHING_DRCTL, str(workdir), str(REPO)],
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    old = json.loads(crashed.stdout.strip().splitlines()[-1])
    orphans = [old["secondary.azurite"], old["secondary.postgres"]]
    assert not any(gone(pid) for pid in orphans)  # the crash left them running

    pair = LocalRegionPair(workdir, "lakeprimary", "lakesecondary")  # keys read back from the workdir
    try:
        pair.restart_secondary()
        assert all(gone(pid) for pid in orphans)
        new = pair.pids()
        assert new["secondary.azurite"] not in orphans and new["secondary.postgres"] not in orphans
        blob = pair.secondary_lake().get_blob_client("keep", "a.txt")
        assert blob.download_blob().readall() == b"survives the crash"
        with psycopg.connect(pair.secondary_postgres.dsn("app")) as conn:
            assert conn.execute("SELECT x FROM t").fetchone()[0] == 42
    finally:
        pair.stop()
    # our own children are reaped: their pids do not even exist any more
    assert not any(psutil.pid_exists(pid) for pid in (new["secondary.azurite"], new["secondary.postgres"]))


def test_a_recorded_pid_that_is_not_ours_is_left_alone(tmp_path):
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        server = AzuriteServer(tmp_path / "az", {"acct": generate_account_key()})
        server.data_dir.mkdir(parents=True)
        created = psutil.Process(stranger.pid).create_time()
        write_state(server.data_dir, {"pid": stranger.pid, "port": 1, "create_time": created})
        assert server.stop_orphans() == []
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_server_that_dies_at_start_reports_its_log(tmp_path, monkeypatch):
    fake = tmp_path / "fake-azurite"
    fake.write_text("#!/bin/sh\necho 'boom: cannot start'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("AZURITE_BLOB_BIN", str(fake))
    server = AzuriteServer(tmp_path / "az", {"acct": generate_account_key()})
    with pytest.raises(ServerStartError, match="boom: cannot start") as caught:
        server.start()
    assert "exited with code 3" in str(caught.value)
    assert not server.running
    server.stop()  # harmless


def test_account_names_and_keys_are_checked():
    with pytest.raises(ValueError):
        AzuriteServer("/nonexistent", {"Bad_Name": generate_account_key()})
    with pytest.raises(ValueError):
        AzuriteServer("/nonexistent", {"good": "not base64!"})


def test_the_key_file_is_private_and_reused(tmp_path):
    a = LocalRegionPair(tmp_path, "lakeprimary", "lakesecondary")
    b = LocalRegionPair(tmp_path, "lakeprimary", "lakesecondary")
    assert a.geo_copy_key() == b.geo_copy_key()
    assert (tmp_path / "account-keys.json").stat().st_mode & 0o077 == 0
    assert a.geo_copy_key() not in repr(a.secondary_azurite)
    assert os.environ.get("AZURITE_ACCOUNTS") is None  # keys go to the child's env only
