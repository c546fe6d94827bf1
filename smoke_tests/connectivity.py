"""Connectivity's checks, all on Azure Resource Manager: the hub VNet holds every subnet the program
declares, the firewall and its policy are provisioned, and each privatelink zone is linked to the hub.

None of these proves a packet flows (no VM is at hand to send one): they prove the network the data
services' private endpoints and the runner depend on was rebuilt as declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.hub_layout import DATA_SUBNET, FIREWALL_SUBNET, GATEWAY_SUBNET, PRIVATE_ENDPOINT_SUBNET
from smoke_tests.arm_state import get_id, judge, name_of, properties, same_id
from smoke_tests.check import AZURE, SPEC_EXAMPLES, TRANSPORT_DOUBLE, PermanentError, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "connectivity"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
FIREWALL = "azure-native:network:AzureFirewall"
FIREWALL_POLICY = "azure-native:network:FirewallPolicy"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
VNET_LINK = "azure-native:privatedns:VirtualNetworkLink"
# The subnets the hub always declares (components/connectivity.py); the runner's is added on some stacks.
ALWAYS_DECLARED = (DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET, FIREWALL_SUBNET, GATEWAY_SUBNET)
LINK_COMING = frozenset({"InProgress"})


def declared_subnets(probe: ServiceProbe, vnet: Mapping[str, Any]) -> set[str]:
    """What the program declares: the hub's fixed subnets, those the deploy recorded in the VNet's
    outputs (inline subnets, such as the runner's), and any standalone Subnet resource in it."""
    outputs = vnet.get("outputs") or {}
    inline = {s.get("name") for s in outputs.get("subnets") or () if isinstance(s, Mapping) and s.get("name")}
    prefix = f"{str(vnet['id']).rstrip('/').lower()}/subnets/"
    standalone = {name_of(str(r["id"])) for r in probe.resources_of(SUBNET) if str(r["id"]).lower().startswith(prefix)}
    return set(ALWAYS_DECLARED) | {str(name) for name in inline} | standalone


def vnet_subnets_present(probe: ServiceProbe) -> dict:
    """Every declared subnet is in the VNet's subnets list as ARM returns it, each Succeeded."""
    vnet = probe.resource(VNET)
    what = f"{COMPONENT}: VNet {name_of(str(vnet['id']))}"
    got = properties(probe.get(vnet))
    subnets = {s.get("name"): (s.get("properties") or {}) for s in got.get("subnets") or ()}
    found = {name: {"addressPrefix": p.get("addressPrefix"), "provisioningState": p.get("provisioningState")}
             for name, p in subnets.items()}
    expected = declared_subnets(probe, vnet)
    evidence = {"id": vnet["id"], "declared": sorted(expected), "subnets": found}
    judge(what, "provisioningState", got.get("provisioningState"), evidence)
    missing = sorted(expected - set(subnets))
    if missing:
        raise PermanentError(f"{what}: declared subnet(s) missing: {', '.join(missing)}", {**evidence, "missing": missing})
    for name in sorted(expected):
        judge(f"{what} subnet {name}", "provisioningState", found[name]["provisioningState"], evidence)
    return {"check": "vnet-subnets-present", "ok": True, **evidence}


def firewall_provisioned(probe: ServiceProbe) -> dict:
    """The firewall Succeeded, its policy attached and Succeeded; the policy's threat-intel mode is
    recorded in the evidence. A stack with the firewall switched off declares none: said so."""
    firewalls = probe.resources_of(FIREWALL)
    if not firewalls:
        probe.resource(VNET)  # a deploy that recorded nothing at all is no reason to pass
        return {"check": "firewall-provisioned", "ok": True, "firewall": None,
                "note": "the stack declares no Azure Firewall (services.firewall off): nothing to check"}
    firewall = firewalls[0]
    what = f"{COMPONENT}: Azure Firewall {name_of(str(firewall['id']))}"
    got = properties(probe.get(firewall))
    configs = got.get("ipConfigurations") or [{}]
    evidence: dict[str, Any] = {"id": firewall["id"], "provisioningState": got.get("provisioningState"),
                                "private_ip": (configs[0].get("properties") or {}).get("privateIPAddress")}
    judge(what, "provisioningState", evidence["provisioningState"], evidence)
    policy_id = (got.get("firewallPolicy") or {}).get("id")
    if not policy_id:
        raise PermanentError(f"{what}: no firewall policy attached: it would allow nothing", evidence)
    policy = properties(get_id(probe, str(policy_id), FIREWALL_POLICY))
    evidence.update(policy=policy_id, policy_provisioningState=policy.get("provisioningState"),
                    threat_intel_mode=policy.get("threatIntelMode"))
    judge(f"{what}: policy {name_of(str(policy_id))}", "provisioningState", policy.get("provisioningState"), evidence)
    return {"check": "firewall-provisioned", "ok": True, **evidence}


def private_dns_zones_linked(probe: ServiceProbe) -> dict:
    """Each privatelink zone the deploy recorded has a virtual network link to the hub VNet whose
    virtualNetworkLinkState is Completed: without it the hub resolves the services' public names to
    their public addresses, which their firewalls refuse."""
    zones = probe.resources_of(PRIVATE_ZONE) or [probe.resource(PRIVATE_ZONE)]
    links = probe.resources_of(VNET_LINK)
    hub = str(probe.resource(VNET)["id"])
    linked: dict[str, Any] = {}
    for zone in zones:
        zone_name = name_of(str(zone["id"]))
        prefix = f"{str(zone['id']).rstrip('/').lower()}/virtualnetworklinks/"
        mine = [link for link in links if str(link["id"]).lower().startswith(prefix)]
        if not mine:
            raise PermanentError(f"{COMPONENT}: private DNS zone {zone_name} has no virtual network link recorded",
                                 {"zones": linked, "zone": zone_name})
        for link in mine:
            got = properties(probe.get(link))
            state, target = got.get("virtualNetworkLinkState"), (got.get("virtualNetwork") or {}).get("id")
            linked[zone_name] = {"link": name_of(str(link["id"])), "virtualNetworkLinkState": state,
                                 "provisioningState": got.get("provisioningState"), "virtual_network": target}
            what = f"{COMPONENT}: zone {zone_name} link {name_of(str(link['id']))}"
            if not same_id(target, hub):
                raise PermanentError(f"{what}: links {target}, not the hub VNet {hub}", {"zones": linked})
            judge(what, "virtualNetworkLinkState", state, {"zones": linked}, want=frozenset({"Completed"}),
                  coming=LINK_COMING)
            judge(what, "provisioningState", got.get("provisioningState"), {"zones": linked})
    return {"check": "private-dns-zones-linked", "ok": True, "hub": hub, "zones": linked}


_NO_NETWORK_EXAMPLE = "no {} example in the specs kept here"
CHECKS = (
    smoke(COMPONENT, "vnet-subnets-present", vnet_subnets_present, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "a VNet GET body: " + _NO_NETWORK_EXAMPLE.format("virtual network")),
    smoke(COMPONENT, "firewall-provisioned", firewall_provisioned, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "firewall and policy GET bodies: "
          + _NO_NETWORK_EXAMPLE.format("Azure Firewall or firewall policy")),
    smoke(COMPONENT, "private-dns-zones-linked", private_dns_zones_linked, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES + " (VirtualNetworkLinkGet)"),
)
