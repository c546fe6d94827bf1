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

Identity: a role assignment to the caller, on the target or a scope above it, of a role that allows
the action; for PostgreSQL, an Entra administrator entry for the caller on the server.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from components.private_endpoint import PRIVATE_DNS_ZONES
from components.runner import RunnerSettings
from orchestrator.paths import roles
from orchestrator.paths.graph_index import Found, GraphIndex, id_parts, subnet_of
from orchestrator.paths.model import Link, Operation

DEPLOYER = "the deploying identity's subscription roles (day-0 prerequisite; checked live by preflight)"


def _zone_linked(index: GraphIndex, zone_id: str, zone_key: str, vnet_id: str) -> str | None:
    """What is missing for `zone_id` to be the `zone_key` zone and be linked to `vnet_id`."""
    zone = index.referred(zone_id, "privatedns:PrivateZone")
    want = PRIVATE_DNS_ZONES.get(zone_key, zone_key)
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
        missing = _zone_linked(index, str(zone_ids[0]), zone_key, vnet_id)
        if missing:
            return Link(False, missing=[missing])
        return Link(True, via=f"private endpoint {endpoint.resource['name']} ({endpoint.stack}), "
                              f"{PRIVATE_DNS_ZONES.get(zone_key, zone_key)}", through=endpoint.resource["name"])
    return Link(False, missing=[f"a private endpoint for {target.label}'s {group_id} in the runner's network"])


def runner_network(index: GraphIndex, runner: RunnerSettings, operation: Operation, target: Found | None,
                   own_stack: str, hub_vnet_id: str | None) -> Link:
    access = operation.access
    if operation.fqdn:
        return _egress(index, runner, operation.fqdn)
    if target is None or access is None:
        return Link(False, missing=[f"no data-plane access model for {operation.component}"])
    if runner.network.kind == "vnet":
        assert runner.subnet_id is not None and runner.network.vnet_id is not None
        return _endpoint_in(index, target, access.group_id, subnet_of(runner.subnet_id), runner.network.vnet_id,
                            access.zone)
    if target.stack != own_stack or hub_vnet_id is None:
        return Link(False, missing=[f"a private endpoint for {target.label}'s {access.group_id} that exists before "
                                    "the disaster: a runner in the DR hub has none (use dataplatform:runner."
                                    "network.kind vnet)"])
    return _endpoint_in(index, target, access.group_id, None, hub_vnet_id, access.zone)


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


def identity(index: GraphIndex, operation: Operation, target: Found | None, principal: str | None) -> Link:
    access = operation.access
    if access is None or not (access.action or access.admin):
        return Link(True, via=DEPLOYER)
    if target is None and operation.fqdn:
        return _assigned(index, operation, None, principal)
    if target is None:
        return Link(False, missing=[f"the {operation.target_type} of {operation.target_component} in {operation.stack}"])
    if access.admin:
        return _own_principal_list(index, target, principal)
    return _assigned(index, operation, target, principal)


# Services that authorise with a principal list of their own: (what it is called, the resource types
# of its entries, the input naming the principal, the input naming the server or cluster).
OWN_PRINCIPALS = {
    "dbforpostgresql:Server": ("PostgreSQL Entra administrator",
                               ("dbforpostgresql:AdministratorsMicrosoftEntra", "dbforpostgresql:Administrator"),
                               "objectId", "serverName"),
    "kusto:Cluster": ("Kusto principal assignment",
                      ("kusto:ClusterPrincipalAssignment", "kusto:DatabasePrincipalAssignment"),
                      "principalId", "clusterName"),
}


def _own_principal_list(index: GraphIndex, target: Found, principal: str | None) -> Link:
    kind = next(k for k in OWN_PRINCIPALS if target.type.endswith(k))
    what, types, principal_input, parent_input = OWN_PRINCIPALS[kind]
    for entry in index.of_type(*types):
        if (str(entry.inputs.get(parent_input, "")).lower() == target.name.lower()
                and entry.inputs.get(principal_input) == principal):
            return Link(True, via=f"{what} on {target.name}")
    return Link(False, missing=[f"a {what} entry for the runner on {target.label}"])


def _assigned(index: GraphIndex, operation: Operation, target: Found | None, principal: str | None) -> Link:
    action = operation.access.action if operation.access else ""
    for assignment in index.of_type("authorization:RoleAssignment"):
        if operation.actor == "runner":
            if principal is None or assignment.inputs.get("principalId") != principal:
                continue
        elif assignment.resource["component"] != operation.actor:
            continue
        scope = str(assignment.inputs.get("scope", ""))
        in_scope = target is None or index.refers_to(scope, target) or (
            id_parts(scope)[0] == target.group.lower() and "/providers/" not in scope)
        if in_scope and roles.allows(str(assignment.inputs.get("roleDefinitionId", "")), action):
            where = target.label if target else scope.rsplit("/", 1)[-1]
            role = str(assignment.inputs["roleDefinitionId"])
            return Link(True, via=f"{roles.role_name(role)} on {where}", through=role.rsplit("/", 1)[-1])
    wanted = " or ".join(roles.roles_for(action)) or action
    where = target.label if target else "its scope"
    return Link(False, missing=[f"{wanted} for the {operation.actor.replace('_', ' ')} on {where}"])


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
