"""pytest wiring for running the smoke checks by hand against a deployed stack:

    pulumi stack output --stack secondary --json > outputs.json
    PGUSER=<your Entra principal> .venv/bin/python -m pytest smoke_tests --outputs outputs.json

Credentials come from the environment, never from the outputs file: DefaultAzureCredential by
default; AZURE_STORAGE_CONNECTION_STRING for the lake and the libpq variables (PGUSER,
PGPASSWORD, PGPORT, PGSSLMODE) for PostgreSQL when set (emulators, break-glass accounts).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from components import lake, postgres


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--outputs", metavar="FILE", help="the stack's outputs: pulumi stack output --json")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("outputs"):
        raise pytest.UsageError("smoke_tests needs --outputs FILE (from: pulumi stack output --stack NAME --json)")


@pytest.fixture(scope="session")
def stack_outputs(pytestconfig: pytest.Config) -> dict:
    path = pytestconfig.getoption("outputs")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise pytest.UsageError(f"--outputs {path}: {exc}") from None


def _output(stack_outputs: dict, key: str):
    if key not in stack_outputs:
        pytest.skip(f"the stack exports no {key}: that service is not enabled in this stack")
    return stack_outputs[key]


@pytest.fixture(scope="session")
def lake_service(stack_outputs: dict):
    from azure.storage.blob import BlobServiceClient

    endpoint = _output(stack_outputs, lake.BLOB_ENDPOINT_OUTPUT)
    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        return BlobServiceClient.from_connection_string(connection_string)
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(endpoint, credential=DefaultAzureCredential())


@pytest.fixture(scope="session")
def postgres_conninfo(stack_outputs: dict) -> str:
    from psycopg.conninfo import make_conninfo

    host = _output(stack_outputs, postgres.FQDN_OUTPUT)
    database = _output(stack_outputs, postgres.DATABASES_OUTPUT)[0]
    if os.environ.get("PGPASSWORD") or host in ("127.0.0.1", "localhost"):
        return make_conninfo(host=host, dbname=database)  # libpq reads PGUSER/PGPASSWORD/PGPORT itself
    from azure.identity import DefaultAzureCredential

    # Entra authentication: the access token is the password; TLS is mandatory on Azure.
    token = DefaultAzureCredential().get_token("https://ossrdbms-aad.database.windows.net/.default").token
    return make_conninfo(host=host, dbname=database, password=token, sslmode="require")
