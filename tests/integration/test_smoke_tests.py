"""The smoke tests a person runs with pytest (`pytest smoke_tests --outputs FILE`), run here for
real against a local Azurite and PostgreSQL standing in for a deployed stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from components import lake as lake_service
from components import postgres as postgres_service
from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.postgres import PostgresServer
from stacks import outputs as keys

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "contosolakease"


def run_smoke_tests(outputs_file: Path | None, env: dict[str, str]) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "smoke_tests"]
    if outputs_file is not None:
        args += ["--outputs", str(outputs_file)]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def deployed_stack():
    """A lake account and a database shaped like the secondary stack's, plus its outputs file."""
    root = Path(tempfile.mkdtemp(prefix="drctl-smoke-"))
    key = generate_account_key()
    azurite = AzuriteServer(root / "azurite", {ACCOUNT: key})
    postgres = PostgresServer(root / "postgres")
    try:
        azurite.start()
        postgres.start()
        LakeSink(azurite.service_client(ACCOUNT)).ensure_containers()
        postgres.create_database("platform")
        PostgresSink(postgres.dsn("platform")).ensure_schema()
        outputs = {
            keys.REGION: "australiasoutheast",
            lake_service.BLOB_ENDPOINT_OUTPUT: azurite.blob_endpoint(ACCOUNT),
            postgres_service.FQDN_OUTPUT: "127.0.0.1",
            postgres_service.DATABASES_OUTPUT: ["platform"],
        }
        outputs_file = root / "outputs.json"
        outputs_file.write_text(json.dumps(outputs))
        env = dict(os.environ)
        env["AZURE_STORAGE_CONNECTION_STRING"] = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={azurite.blob_endpoint(ACCOUNT)};"
        )
        # a break-glass login as libpq reads it from the environment (the local server asks for a password)
        env.update(PGUSER="postgres", PGPORT=str(postgres.port), PGPASSWORD=postgres.password())
        yield outputs_file, env, postgres
    finally:
        azurite.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.integration
def test_smoke_tests_pass_against_a_healthy_stack(deployed_stack):
    outputs_file, env, _ = deployed_stack
    result = run_smoke_tests(outputs_file, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.integration
def test_smoke_tests_fail_when_a_table_is_missing(deployed_stack):
    outputs_file, env, postgres = deployed_stack
    import psycopg

    with psycopg.connect(postgres.dsn("platform"), autocommit=True) as conn:
        conn.execute("ALTER TABLE events RENAME TO events_lost")
    try:
        result = run_smoke_tests(outputs_file, env)
        assert result.returncode == 1
        assert "table events present and readable" in result.stdout
    finally:
        with psycopg.connect(postgres.dsn("platform"), autocommit=True) as conn:
            conn.execute("ALTER TABLE events_lost RENAME TO events")


def test_an_outputs_file_with_no_deployed_component_is_a_usage_error(tmp_path):
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps({keys.REGION: "australiasoutheast"}))
    result = run_smoke_tests(outputs_file, dict(os.environ))
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "no deployed component in it" in result.stderr


def test_every_implemented_check_of_each_deployed_component_is_a_test(tmp_path):
    """The stack's `resources` output decides which components' checks run: here Azure ones, listed
    (collected, not run: there is no Azure here)."""
    vault = f"/subscriptions/{'0' * 8}-0000-0000-0000-{'0' * 12}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps({keys.REGION: "australiasoutheast", keys.RESOURCES: {
        "foundation": [{"type": "azure-native:keyvault:Vault", "id": vault}]}}))
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only", "smoke_tests",
            "--outputs", str(outputs_file)]
    result = subprocess.run(args, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    from components.registry import profile_by_key

    implemented = [c.name for c in profile_by_key("foundation").checks if c.implemented]
    collected = [line.split("[", 1)[1].rstrip("]") for line in result.stdout.splitlines()
                 if "test_check[" in line and "NOTSET" not in line]  # NOTSET: pytest's id for no parameter
    assert collected == [f"foundation:{name}" for name in implemented]


def test_smoke_tests_refuse_to_run_without_outputs():
    result = run_smoke_tests(None, dict(os.environ))
    assert result.returncode == 4  # pytest's usage error
    assert "needs --outputs FILE" in result.stderr
