"""The Network Watcher check through the real ARM client, on a hand-written watcher GET body (no example
of it is kept with the specs): found where Azure creates it, or as the stack adopted it."""

from __future__ import annotations

import pytest

from smoke_tests import network_watcher
from smoke_tests.check import PermanentError
from tests.azure_fixtures import SUBSCRIPTION, Route
from tests.smoke_tests.probe_support import deployed, service_probe

WATCHER_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/"
              "networkWatchers/NetworkWatcher_westus")


def _route(state="Succeeded"):
    body = {"id": WATCHER_ID, "name": "NetworkWatcher_westus", "type": "Microsoft.Network/networkWatchers",
            "location": "westus", "properties": {"provisioningState": state}}
    return Route("GET", f"(?i){WATCHER_ID}", body=body)


def test_the_regions_watcher_is_found_where_azure_creates_it():
    probe, transport = service_probe("network_watcher", [_route()], [])
    evidence = network_watcher.network_watcher_present(probe)
    assert evidence == {"check": "network-watcher-present", "ok": True, "id": WATCHER_ID, "adopted": False,
                        "location": "westus", "provisioningState": "Succeeded"}
    assert "/NetworkWatcherRG/" in transport.requests[0].url


def test_an_adopted_watcher_is_read_by_its_recorded_id():
    probe, _ = service_probe("network_watcher", [_route()], [deployed(network_watcher.WATCHER, WATCHER_ID)])
    assert network_watcher.network_watcher_present(probe)["adopted"] is True


def test_no_watcher_in_the_region_fails_saying_why():
    probe, _ = service_probe("network_watcher", [], [])
    with pytest.raises(PermanentError, match=r"no Network Watcher at .*NetworkWatcher_westus: Azure creates it"):
        network_watcher.network_watcher_present(probe)


def test_a_failed_watcher_fails():
    probe, _ = service_probe("network_watcher", [_route("Failed")], [])
    with pytest.raises(PermanentError, match="NetworkWatcher_westus: provisioningState Failed"):
        network_watcher.network_watcher_present(probe)
