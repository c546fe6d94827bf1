"""Does the graph give a caller a network route to an endpoint, and a role allowing the action?

Network, for the runner (components/runner.py):
- kind vnet: a private endpoint in the runner's subnet for the target's sub-resource, a DNS zone
  group registering it in the privatelink zone, and that zone linked to the runner's VNet;
- kind hub: an endpoint in the hub of the runner's own stack (the DR hub), its zone linked to the
  hub; the pair's resources are out of reach (no endpoint exists before the hub does);
- a public Azure endpoint: the runner network's own egress (kind vnet, a day-0 prerequisite) or an
  application rule on the hub's firewall for the runner's addresses (kind hub).
For Data Factory: a managed private endpoint to the sub-resource, used through a managed-VNet
integration runtime.

A service with no private link (Analysis Services), or one the stack leaves open to the internet (a
Databricks workspace without VNet injection, a public function app), is reached at its public host
through the runner's egress; Analysis Services' firewall must also admit the runner's egress
addresses. A service in a VNet the stacks do not own (SQL Managed Instance, the recovered SQL
Server VMs) is reached by a route made by hand, declared in `dataplatform:runner.grantedOutOfBand`.

Identity: orchestrator/paths/identity.py.
"""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase

from components.private_endpoint import zone_name
from components.runner_settings import RunnerSettings
from orchestrator.paths.graph_index import Found, GraphIndex, id_parts, subnet_of
from orchestrator.paths.identity import out_of_band
from orchestrator.paths.model import Access, Link, Operation


def _zone_linked(index: GraphIndex, zone_id: str, want: str, vnet_id: str) -> str | None:
    """What is missing for `zone_id` to be the zone named `want` and be linked to `vnet_id`."""
    zone = index.referred(zone_id, "privatedns:PrivateZone")
    if zone is None or zone.name.lower() != want:
        return f"the {want} zone its records go to"
    for link in index.of_type("privatedns:VirtualNetworkLink"):
        if (str(link.inputs.get("privateZoneName", "")).lower() == want and link.group.lower() == zone.group.lower()
                and id_parts((link.inputs.get("virtualNetwork") or {}).get("id", "")) == id_parts(vnet_id)):
            return None
    return f"{want} (in {zone.group}) linked to VNet {vnet_id.rsplit('/', 1)[-1]}"


def _endpoint_in(index: GraphIndex, target: Found, group_id: str, where: tuple[str, str, str] | None,
                 vnet_id: str, zone_key: str) -> Link:
    """An endpoint for target's group_id in subnet `where` (any subnet of vnet_id when None)."""
    zone = zone_name(zone_key, target.resource["location"] or "")
    for endpoint in index.of_type("network:PrivateEndpoint"):
        subnet = subnet_of((endpoint.inputs.get("subnet") or {}).get("id", ""))
        vnet_of_subnet = id_parts(vnet_id)[1]
        if where is not None and subnet != where:
            continue
        if where is None and subnet[1] != vnet_of_subnet:
            continue
        connections = endpoint.inputs.get("privateLinkServiceConnections") or []
        if not any(index.refers_to(c.get("privateLinkServiceId"), target) and group_id in (c.get("groupIds") or [])
                   for c in connections):
            continue
        groups = [g for g in index.of_type("network:PrivateDnsZoneGroup") if g.stack == endpoint.stack
                  and g.inputs.get("privateEndpointName") == endpoint.resource["name"]]
        zone_ids = [z.get("privateDnsZoneId") for g in groups for z in (g.inputs.get("privateDnsZoneConfigs") or [])]
        if not zone_ids:
            return Link(False, missing=[f"a DNS zone group for endpoint {endpoint.resource['name']}"])
        missing = _zone_linked(index, str(zone_ids[0]), zone, vnet_id)
        if missing:
            return Link(False, missing=[missing])
        return Link(True, via=f"private endpoint {endpoint.resource['name']} ({endpoint.stack}), {zone}",
                    through=endpoint.resource["name"])
    return Link(False, missing=[f"a private endpoint for {target.label}'s {group_id} in the runner's network"])


def runner_network(index: GraphIndex, runner: RunnerSettings, operation: Operation, target: Found | None,
                   own_stack: str, hub_vnet_id: str | None) -> Link:
    access = operation.access
    if operation.fqdn:
        return _egress(index, runner, operation.fqdn)
    if target is None or access is None:
        return Link(False, missing=[f"no data-plane access model for {operation.component}"])
    if access.routed:
        return out_of_band(runner, access.routed, [])
    if access.public_host and (not access.group_id or _open(target)):
        return _public_endpoint(index, runner, access, target)
    if runner.network.kind == "vnet":
        assert runner.subnet_id is not None and runner.network.vnet_id is not None
        return _endpoint_in(index, target, access.group_id, subnet_of(runner.subnet_id), runner.network.vnet_id,
                            access.zone)
    if target.stack != own_stack or hub_vnet_id is None:
        return Link(False, missing=[f"a private endpoint for {target.label}'s {access.group_id} that exists before "
                                    "the disaster: a runner in the DR hub has none (use dataplatform:runner."
                                    "network.kind vnet)"])
    return _endpoint_in(index, target, access.group_id, None, hub_vnet_id, access.zone)


def _open(target: Found) -> bool:
    """Whether the target takes traffic from the internet (its public network access is not disabled)."""
    return str(target.inputs.get("publicNetworkAccess", "Enabled")).lower() != "disabled"


def _public_endpoint(index: GraphIndex, runner: RunnerSettings, access: Access, target: Found) -> Link:
    host = access.public_host.format(name=target.name, region=target.resource["location"] or "")
    egress = _egress(index, runner, host)
    if not egress.ok or not target.type.endswith("analysisservices:ServerDetails"):
        return Link(egress.ok, via=f"{target.label}'s public endpoint {host}, {egress.via}" if egress.ok else "",
                    missing=egress.missing)
    admitted = _firewall_admits(target, runner)
    if admitted is not None:
        return Link(False, missing=[admitted])
    return Link(True, via=f"{target.label}'s public endpoint {host}, {egress.via}, its firewall admitting "
                          f"{', '.join(runner.network.egress_addresses)}")


def _firewall_admits(target: Found, runner: RunnerSettings) -> str | None:
    """What is missing for the server's IPv4 firewall to admit every egress address of the runner."""
    if not runner.network.egress_addresses:
        return (f"the runner's public egress addresses (dataplatform:runner.network.egressAddresses): "
                f"{target.label} has no private link, and its firewall admits listed addresses only")
    rules = ((target.inputs.get("ipV4FirewallSettings") or {}).get("firewallRules")) or []
    ranges = [(ipaddress.IPv4Address(r["rangeStart"]), ipaddress.IPv4Address(r["rangeEnd"])) for r in rules
              if r.get("rangeStart") and r.get("rangeEnd")]
    for first, last in runner.network.egress_ranges():
        if not any(low <= ipaddress.IPv4Address(first) and ipaddress.IPv4Address(last) <= high for low, high in ranges):
            return f"a firewall rule on {target.label} admitting the runner's egress {first}-{last}"
    return None


def _egress(index: GraphIndex, runner: RunnerSettings, fqdn: str) -> Link:
    if runner.network.kind == "vnet":
        return Link(True, via="the runner network's own egress (day-0 prerequisite)")
    for group in index.of_type("network:FirewallPolicyRuleCollectionGroup"):
        for collection in group.inputs.get("ruleCollections") or []:
            for rule in collection.get("rules") or []:
                if (runner.network.address_prefix in (rule.get("sourceAddresses") or [])
                        and any(fnmatchcase(fqdn, pattern) for pattern in rule.get("targetFqdns") or [])):
                    return Link(True, via=f"firewall rule {rule.get('name')} ({group.name})")
    return Link(False, missing=[f"a firewall application rule from {runner.network.address_prefix} to {fqdn}"])


def factory_network(index: GraphIndex, operation: Operation, target: Found | None) -> Link:
    access = operation.access
    if target is None or access is None:
        return Link(False, missing=["the lake the factory writes"])
    missing: list[str] = []
    managed = [e for e in index.of_type("datafactory:ManagedPrivateEndpoint")
               if index.refers_to(e.inputs.get("privateLinkResourceId")
                                  or (e.inputs.get("properties") or {}).get("privateLinkResourceId"), target)]
    if not any(access.group_id in (e.inputs.get("groupId"), (e.inputs.get("properties") or {}).get("groupId"))
               for e in managed):
        missing.append(f"a managed private endpoint from the factory to {target.label}'s {access.group_id}")
    runtimes = [r for r in index.of_type("datafactory:IntegrationRuntime")
                if (r.inputs.get("properties") or {}).get("type") == "Managed"
                and (r.inputs.get("properties") or {}).get("managedVirtualNetwork")]
    if not runtimes:
        missing.append("a managed-VNet integration runtime for the factory's copies")
    if missing:
        return Link(False, missing=missing)
    return Link(True, via=f"managed private endpoint {managed[0].name}, integration runtime {runtimes[0].name}")


def storage_service_network(operation: Operation, target: Found | None) -> Link:
    """A server-side copy: the destination's storage service fetches the source URL itself, from
    outside any private network, so only a public endpoint open to it will do."""
    if target is None:
        return Link(False, missing=["the copy's source account"])
    acls = target.inputs.get("networkAcls") or {}
    if target.inputs.get("publicNetworkAccess") != "Disabled" and acls.get("defaultAction", "Allow") == "Allow":
        return Link(True, via=f"{target.label}'s public endpoint")
    return Link(False, missing=[f"{target.label}'s public endpoint (a server-side copy's source is fetched by the "
                                "destination's storage service, outside any private network): use "
                                "dataplatform:restore.lake.copy relay"])
