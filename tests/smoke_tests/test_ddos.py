"""The DDoS plan's check through the real ARM client, on a hand-written plan GET body (no example of it
is kept with the specs)."""

from __future__ import annotations

import pytest

from smoke_tests import ddos
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

PLAN_ID = arm_id("Microsoft.Network/ddosProtectionPlans", "ddos-dp-sec", "rg-dp-connectivity-sec")
VNET_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-dp-sec", "rg-dp-connectivity-sec")


def _probe(state):
    body = {"id": PLAN_ID, "name": "ddos-dp-sec", "type": "Microsoft.Network/ddosProtectionPlans", "location": "westus",
            "properties": {"provisioningState": state, "virtualNetworks": [{"id": VNET_ID}]}}
    return service_probe("ddos", [Route("GET", f"(?i){PLAN_ID}", body=body)], [deployed(ddos.PLAN, PLAN_ID)])[0]


def test_the_plan_is_provisioned_and_lists_what_it_protects():
    evidence = ddos.ddos_plan_provisioned(_probe("Succeeded"))
    assert evidence["provisioningState"] == "Succeeded" and evidence["virtual_networks"] == [VNET_ID]


@pytest.mark.parametrize(("state", "error"), [("Failed", PermanentError), ("Updating", TransientError)])
def test_a_plan_not_succeeded_fails_or_waits(state, error):
    with pytest.raises(error, match=f"ddos-dp-sec: provisioningState {state}"):
        ddos.ddos_plan_provisioned(_probe(state))
