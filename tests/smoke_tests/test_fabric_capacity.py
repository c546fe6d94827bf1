"""The Fabric capacity's check through the real azure-mgmt-resource client. Microsoft.Fabric has no
example payload in the specs kept here: the capacity's GET is a thin double at the transport, a
hand-written minimal body in the shape ARM returns."""

from __future__ import annotations

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.fabric_capacity import CAPACITY_TYPE, fabric_capacity_active
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

CAPACITY_ID = arm_id("Microsoft.Fabric/capacities", "dpfabricsec")


def probe_in(state: str):
    body = {"id": CAPACITY_ID, "name": "dpfabricsec", "type": "Microsoft.Fabric/capacities", "location": "West US",
            "sku": {"name": "F2", "tier": "Fabric"},
            "properties": {"provisioningState": "Succeeded", "state": state,
                           "administration": {"members": ["admin@contoso.com"]}}}
    return service_probe("fabric_capacity", [Route("GET", f"(?i){CAPACITY_ID}", body=body)],
                         [deployed(CAPACITY_TYPE, CAPACITY_ID, "2023-11-01")])[0]


def test_an_active_capacity_passes():
    assert fabric_capacity_active(probe_in("Active")) == {"id": CAPACITY_ID, "state": "Active"}


def test_a_paused_capacity_fails_naming_its_state():
    with pytest.raises(PermanentError, match="dpfabricsec: state Paused, not Active"):
        fabric_capacity_active(probe_in("Paused"))


@pytest.mark.parametrize("state", ["Resuming", "Provisioning", "Preparing"])
def test_a_capacity_on_its_way_is_waited_for(state):
    with pytest.raises(TransientError, match=state):
        fabric_capacity_active(probe_in(state))
