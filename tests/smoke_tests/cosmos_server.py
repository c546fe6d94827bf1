"""A Cosmos DB SQL API server on loopback for the Cosmos checks' tests: the product's own launcher
(orchestrator/targets/local/servers/cosmos.py: @vercel/cosmosdb-server run by node over TLS with a
certificate made for 127.0.0.1 in its data directory), as a write region, so azure-cosmos verifies it
(`client_kwargs`) instead of switching TLS checks off.

Absent (the package or node), the tests that need it are skipped, saying how to install it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.targets.local.servers.cosmos import MISSING, CosmosServer, package_dir

__all__ = ["CosmosServer", "serve"]


def serve(folder: Path) -> Iterator[CosmosServer]:
    """The server for one test module: started, then stopped (its process, by its id)."""
    if package_dir() is None:
        pytest.skip(MISSING + ". The tests that run against it are skipped")
    server = CosmosServer(folder / "cosmos", region="East US")
    server.start()
    try:
        yield server
    finally:
        server.stop()
