"""Connectivity's checks through the real ARM client: the private DNS links from the spec example; the
VNet, firewall and policy from hand-written GET bodies (no example of them is kept with the specs)."""

from __future__ import annotations

import copy

import pytest

from smoke_tests import connectivity
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

LINK_EXAMPLE = "privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/examples/VirtualNetworkLinkGet.json"
GROUP = "rg-dp-connectivity-sec"
VNET_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-dp-sec", GROUP)
FW_ID = arm_id("Microsoft.Network/azureFirewalls", "afw-dp-sec", GROUP)
POLICY_ID = arm_id("Microsoft.Network/firewallPolicies", "afwp-dp-sec", GROUP)
FIXED = ["data", "private-endpoints", "AzureFirewallSubnet", "GatewaySubnet"]


def _vnet_body(subnets=FIXED, state="Succeeded", subnet_states=None):
    # Hand-written: a VNet GET as ARM returns it, subnets inline with their own provisioningState.
    return {"id": VNET_ID, "name": "vnet-dp-sec", "type": "Microsoft.Network/virtualNetworks", "location": "westus",
            "properties": {"provisioningState": state, "addressSpace": {"addressPrefixes": ["10.20.0.0/22"]},
                           "subnets": [{"name": name, "id": f"{VNET_ID}/subnets/{name}",
                                        "properties": {"addressPrefix": f"10.20.{i}.0/24",
                                                       "provisioningState": (subnet_states or {}).get(name, "Succeeded")}}
                                       for i, name in enumerate(subnets)]}}


def _vnet_record(outputs=None):
    return {**deployed(connectivity.VNET, VNET_ID), "outputs": outputs or {}}


def _probe(routes, resources):
    return service_probe("connectivity", routes, resources)[0]


def test_every_declared_subnet_is_present():
    evidence = connectivity.vnet_subnets_present(_probe([Route("GET", f"(?i){VNET_ID}", body=_vnet_body())],
                                                        [_vnet_record()]))
    assert evidence["declared"] == sorted(FIXED) and set(evidence["subnets"]) == set(FIXED)


def test_a_subnet_the_deploy_recorded_but_azure_lacks_fails():
    record = _vnet_record({"subnets": [{"name": name} for name in [*FIXED, "runner"]]})
    with pytest.raises(PermanentError, match=r"declared subnet\(s\) missing: runner"):
        connectivity.vnet_subnets_present(_probe([Route("GET", f"(?i){VNET_ID}", body=_vnet_body())], [record]))


def test_a_fixed_subnet_missing_fails_even_without_recorded_outputs():
    body = _vnet_body(subnets=FIXED[:3])
    with pytest.raises(PermanentError, match="missing: GatewaySubnet"):
        connectivity.vnet_subnets_present(_probe([Route("GET", f"(?i){VNET_ID}", body=body)], [_vnet_record()]))


@pytest.mark.parametrize(("state", "error"), [("Updating", TransientError), ("Failed", PermanentError)])
def test_a_subnet_not_succeeded_fails_or_waits(state, error):
    body = _vnet_body(subnet_states={"data": state})
    with pytest.raises(error, match=f"subnet data: provisioningState {state}"):
        connectivity.vnet_subnets_present(_probe([Route("GET", f"(?i){VNET_ID}", body=body)], [_vnet_record()]))


def _firewall_routes(state="Succeeded", policy=True, policy_state="Succeeded"):
    # Hand-written firewall and policy GET bodies: no Azure Firewall example is kept with the specs.
    firewall = {"id": FW_ID, "name": "afw-dp-sec", "type": "Microsoft.Network/azureFirewalls", "location": "westus",
                "properties": {"provisioningState": state,
                               "ipConfigurations": [{"name": "ipconfig",
                                                     "properties": {"privateIPAddress": "10.20.2.4"}}],
                               **({"firewallPolicy": {"id": POLICY_ID}} if policy else {})}}
    policy_body = {"id": POLICY_ID, "name": "afwp-dp-sec", "type": "Microsoft.Network/firewallPolicies",
                   "properties": {"provisioningState": policy_state, "threatIntelMode": "Alert"}}
    return [Route("GET", f"(?i){FW_ID}", body=firewall), Route("GET", f"(?i){POLICY_ID}", body=policy_body)]


FIREWALL_RECORDS = [_vnet_record(), deployed(connectivity.FIREWALL, FW_ID),
                    deployed(connectivity.FIREWALL_POLICY, POLICY_ID)]


def test_the_firewall_and_its_policy_are_provisioned_and_the_threat_intel_mode_recorded():
    evidence = connectivity.firewall_provisioned(_probe(_firewall_routes(), FIREWALL_RECORDS))
    assert evidence["threat_intel_mode"] == "Alert" and evidence["private_ip"] == "10.20.2.4"


def test_a_stack_without_a_firewall_says_so():
    evidence = connectivity.firewall_provisioned(_probe([], [_vnet_record()]))
    assert evidence["firewall"] is None and "declares no Azure Firewall" in evidence["note"]
    with pytest.raises(PermanentError, match="recorded no VirtualNetwork"):
        connectivity.firewall_provisioned(_probe([], []))


@pytest.mark.parametrize(("routes", "message"), [
    (_firewall_routes(state="Failed"), "afw-dp-sec: provisioningState Failed"),
    (_firewall_routes(policy=False), "no firewall policy attached"),
    (_firewall_routes(policy_state="Failed"), "policy afwp-dp-sec: provisioningState Failed"),
    (_firewall_routes()[:1], "afwp-dp-sec"),  # the policy is gone from Azure: a 404
])
def test_a_firewall_not_ready_fails(routes, message):
    with pytest.raises(PermanentError, match=message):
        connectivity.firewall_provisioned(_probe(routes, FIREWALL_RECORDS))


ZONES = ["privatelink.blob.core.windows.net", "privatelink.vaultcore.azure.net"]


def _zone_id(zone):
    return arm_id("Microsoft.Network/privateDnsZones", zone, GROUP)


def _link_id(zone):
    return f"{_zone_id(zone)}/virtualNetworkLinks/vnl-dp-{zone.split('.')[1]}-sec"


def _links_probe(vnet=VNET_ID, state="Completed", linked=ZONES):
    body = copy.deepcopy(example_body(LINK_EXAMPLE))
    if vnet is not None:
        body["properties"]["virtualNetwork"]["id"] = vnet
    body["properties"]["virtualNetworkLinkState"] = state
    routes = [Route("GET", r"(?i).*/privateDnsZones/[^/]+/virtualNetworkLinks/[^/]+", body=body)]
    records = [_vnet_record(), *(deployed(connectivity.PRIVATE_ZONE, _zone_id(z)) for z in ZONES),
               *(deployed(connectivity.VNET_LINK, _link_id(z)) for z in linked)]
    return _probe(routes, records)


def test_every_zone_is_linked_to_the_hub():
    evidence = connectivity.private_dns_zones_linked(_links_probe())
    assert set(evidence["zones"]) == set(ZONES)
    assert {z["virtualNetworkLinkState"] for z in evidence["zones"].values()} == {"Completed"}


def test_a_link_to_another_vnet_fails():
    # The example's own link points at some other subscription's VNet.
    with pytest.raises(PermanentError, match=r"links /subscriptions/virtualNetworkSubscriptionId/.*not the hub VNet"):
        connectivity.private_dns_zones_linked(_links_probe(vnet=None))


def test_a_link_in_progress_is_waited_for():
    with pytest.raises(TransientError, match="virtualNetworkLinkState InProgress, not Completed yet"):
        connectivity.private_dns_zones_linked(_links_probe(state="InProgress"))


def test_a_zone_without_a_link_fails_naming_it():
    with pytest.raises(PermanentError, match=r"privatelink\.vaultcore\.azure\.net has no virtual network link"):
        connectivity.private_dns_zones_linked(_links_probe(linked=ZONES[:1]))
