"""The local region's blob clients (AzuriteServer.service_client) talk to 127.0.0.1 directly,
whatever proxy the environment names: the project reaches nothing beyond loopback."""

from __future__ import annotations

import pytest
from azurite_support import azurite_in_tempdir

from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server():
    with azurite_in_tempdir("drctl-azurite-client-", lambda workdir: AzuriteServer(
            workdir / "azurite", {"loopback": generate_account_key()})) as (running, _):
        yield running


def test_a_proxy_in_the_environment_is_not_used_for_the_emulator(server, monkeypatch, tmp_path):
    # A proxy on a closed loopback port: a request sent through it fails to connect.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text("default login someone password not-for-azurite\n")
    client = server.service_client("loopback")
    client.create_container("reached")
    assert [c.name for c in client.list_containers()] == ["reached"]
