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
from orchestrator.targets.local.servers.postgres import PostgresServer
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


@pytest.mark.integration
def test_a_resumed_run_restarts_only_what_a_deploy_step_had_started(workdir):
    # Killed after the lake's deploy started its Azurite, before PostgreSQL's deploy ran: the
    # resumed run restarts the geo copy's store and that Azurite, and leaves PostgreSQL to its step.
    first = LocalRegionPair(workdir, "lakeprimary", "lakesecondary")
    try:
        first.start_geo_copy()
        first.secondary_azurite.start()
        first.secondary_lake().create_container("deployed")
    finally:
        first.stop()
    pair = LocalRegionPair(workdir, "lakeprimary", "lakesecondary")
    try:
        assert pair.restart_secondary() == ["geo.azurite", "secondary.azurite"]
        assert pair.geo_azurite.running and pair.secondary_azurite.running
        assert not pair.secondary_postgres.running and not (workdir / "secondary" / "postgres").exists()
        assert [c.name for c in pair.secondary_lake().list_containers()] == ["deployed"]
    finally:
        pair.stop()


@pytest.mark.integration
def test_an_initdb_left_by_a_killed_deploy_is_stopped_before_the_server_is_initialised_again(workdir):
    # A drctl killed inside postgres.deploy leaves its initdb writing into the scratch directory;
    # the step run again must not share that directory with it. The stray stands in for that initdb:
    # a process whose command line names the scratch directory.
    server = PostgresServer(workdir / "secondary" / "postgres")
    scratch = server.data_dir / "pgdata.init"
    scratch.mkdir(parents=True)
    (scratch / "half-written").write_text("from the killed initdb")
    # started through a shell that exits at once: an orphan, as the killed drctl's initdb is
    launcher = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "import time; time.sleep(60)" "{scratch}" '
                               ">/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True)
    stray = int(launcher.stdout.strip())
    assert not gone(stray)
    try:
        server.start()
        assert gone(stray)  # stopped, not left to write on
        assert server.running and not scratch.exists() and (server.pgdata / "PG_VERSION").exists()
    finally:
        server.stop()
        if not gone(stray):
            os.kill(stray, 9)
