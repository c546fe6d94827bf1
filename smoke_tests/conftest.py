"""pytest wiring for running the checks by hand against a deployed stack:

    pulumi stack output --stack secondary --json --show-secrets=false > outputs.json
    .venv/bin/python -m pytest smoke_tests --outputs outputs.json

Every implemented check of every component the outputs show deployed runs, one test each (the
same Check objects drctl runs: smoke_tests/<stem>.py). The stack exports what it deployed under
`resources` ({component: [{type, id}]}, stacks/program.py), which is what the checks' probes read.

Credentials come from the environment, never from the outputs file: DefaultAzureCredential by
default; AZURE_STORAGE_CONNECTION_STRING for the lake and the libpq variables (PGUSER,
PGPASSWORD, PGPORT, PGSSLMODE) for PostgreSQL when set (emulators, break-glass accounts). A local
drill's region left up by `drctl drill --local --keep-running` writes an outputs file whose `local`
entry names the 0600 keys file the emulators' credentials are read from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoke_tests.hand import HandStack, deployed_components, hand_checks


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--outputs", metavar="FILE", help="the stack's outputs: pulumi stack output --json")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("outputs"):
        raise pytest.UsageError("smoke_tests needs --outputs FILE (from: pulumi stack output --stack NAME --json)")
    if not deployed_components(_read_outputs(config)):
        raise pytest.UsageError(f"--outputs {config.getoption('outputs')}: no deployed component in it (no "
                                "resources, lakeBlobEndpoint or postgresFqdn): is it this program's stack?")


def _read_outputs(config: pytest.Config) -> dict:
    path = config.getoption("outputs")
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise pytest.UsageError(f"--outputs {path}: {exc}") from None
    if not isinstance(document, dict):
        raise pytest.UsageError(f"--outputs {path}: not a JSON object of stack outputs")
    return document


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "check" in metafunc.fixturenames:
        checks = hand_checks(_read_outputs(metafunc.config))
        metafunc.parametrize("check", checks, ids=[f"{c.component}:{c.name}" for c in checks])


@pytest.fixture(scope="session")
def stack_outputs(pytestconfig: pytest.Config) -> dict:
    return _read_outputs(pytestconfig)


@pytest.fixture(scope="session")
def hand_stack(stack_outputs: dict) -> HandStack:
    return HandStack(stack_outputs)
