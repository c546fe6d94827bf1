"""The local drill's PostgreSQL lets in only who holds the run's secret: SCRAM-SHA-256 with a per-run
password kept in the 0600 keys file. Loopback is open to every local user, so without this any of
them would connect as superuser (and run commands as the server's user with COPY ... TO PROGRAM).

Workdirs come from tempfile.mkdtemp, not pytest's tmp_path: postgres runs as another system user
when the tests run as root, and every pytest session resets /tmp/pytest-of-<user> to 0700.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from orchestrator.data.connect import client_command
from orchestrator.targets.local.keys import KEYS_FILE, POSTGRES_PASSWORD
from orchestrator.targets.local.servers.postgres import SUPERUSER, PostgresServer
from smoke_tests.hand import HandStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server():
    root = Path(tempfile.mkdtemp(prefix="drctl-pg-auth-"))
    server = PostgresServer(root / "postgres", root / KEYS_FILE)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_a_connection_without_the_runs_secret_is_refused(server):
    bare = f"host=127.0.0.1 port={server.port} user={SUPERUSER} dbname=postgres connect_timeout=5"
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(bare, passfile="/nonexistent")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bare, password="not-the-secret")
    with psycopg.connect(server.dsn("postgres")) as conn:
        method = conn.execute("SELECT auth_method FROM pg_hba_file_rules WHERE address = '127.0.0.1'").fetchone()
    assert method == ("scram-sha-256",)


def test_the_secret_is_in_the_0600_keys_file_and_wins_over_an_operators_own_pgpassword(server, monkeypatch):
    password = json.loads(server.keys_file.read_text())[POSTGRES_PASSWORD]
    assert len(password) >= 32 and server.keys_file.stat().st_mode & 0o777 == 0o600
    assert not list(server.data_dir.glob("*.pw"))  # initdb's password file is gone once it ran
    monkeypatch.setenv("PGPASSWORD", "the-operators-azure-break-glass")  # libpq would prefer it to a passfile
    with psycopg.connect(server.dsn("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_client_process_gets_the_password_in_its_environment_never_on_its_command_line(server):
    password = server.password()
    argv, env = client_command(server.psql, server.dsn("postgres"), "--no-password", "-tAc", "SELECT 1")
    assert not [arg for arg in argv if password in arg] and env["PGPASSWORD"] == password
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "1", result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="running a client as another local user needs root")
def test_another_local_user_cannot_connect_nor_read_the_secret(server):
    # psql of the wheel, as `nobody`: everything drctl's string says but the password, which is in a
    # file only the drill's owner reads
    nobody = pwd.getpwnam("nobody")
    argv, _ = client_command(server.psql, server.dsn("postgres"), "--no-password", "-c", "SELECT 1")
    as_nobody = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": [],
                 "env": {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"}}
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, **as_nobody)
    assert result.returncode != 0 and "no password supplied" in result.stderr
    peek = subprocess.run(["cat", str(server.keys_file)], capture_output=True, text=True, timeout=30, **as_nobody)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_the_hand_checks_read_the_password_from_the_keys_file_the_outputs_name(server):
    outputs = {"postgresFqdn": "127.0.0.1", "postgresDatabases": ["postgres"],
               "local": {"keysFile": str(server.keys_file), "account": "unused", "postgresPort": server.port,
                         "postgresUser": SUPERUSER, "postgresPasswordKey": POSTGRES_PASSWORD}}
    with psycopg.connect(HandStack(outputs).postgres_conninfo()) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (SUPERUSER,)


def test_a_data_directory_initialised_with_trust_is_not_started_again():
    root = Path(tempfile.mkdtemp(prefix="drctl-pg-trust-"))
    try:
        pgdata = root / "postgres" / "pgdata"
        pgdata.mkdir(parents=True)
        (pgdata / "PG_VERSION").write_text("18\n")
        (pgdata / "pg_hba.conf").write_text("# comment trust\nhost all all 127.0.0.1/32 trust\n")
        with pytest.raises(RuntimeError, match="trust authentication"):
            PostgresServer(root / "postgres").start()
    finally:
        shutil.rmtree(root, ignore_errors=True)
