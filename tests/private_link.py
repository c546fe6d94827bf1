"""What a service's tests assert of its way in (service_harness.run_service(..., runner=True)): an
endpoint in the hub's private-endpoints subnet registered in the hub's zone, and its twin in the
runner's subnet registered in the runner's zone of the same name; and the runner's Azure roles."""

from __future__ import annotations

from pulumi_mocks import Deployment, Registration
from service_harness import PRIVATE_ENDPOINT_SUBNET, SUBNETS

from components.private_endpoint import zone_name
from stacks.config import StackConfig

ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def endpoints_for(run: Deployment, target_id: str) -> dict[tuple[str, str], Registration]:
    """(group id, subnet id) -> the endpoint to `target_id`'s sub-resource in that subnet."""
    found = {}
    for endpoint in run.of_type(ENDPOINT):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        if connection["privateLinkServiceId"] == target_id:
            (group_id,) = connection["groupIds"]
            found[(group_id, endpoint.inputs["subnet"]["id"])] = endpoint
    return found


def zone_of(run: Deployment, endpoint: Registration) -> str:
    """The zone the endpoint's zone group registers it in (the name its id ends in)."""
    (group,) = [g for g in run.of_type(ZONE_GROUP) if g.inputs["privateEndpointName"] == endpoint.name]
    (config,) = group.inputs["privateDnsZoneConfigs"]
    return str(config["privateDnsZoneId"]).rsplit("/", 1)[-1]


def assert_opened_privately(run: Deployment, config: StackConfig, target_id: str, *endpoints: tuple[str, str]) -> None:
    """Each (group id, zone key) has a hub endpoint and a runner twin, each in the zone of that key."""
    found = endpoints_for(run, target_id)
    runner_subnet = config.runner.subnet_id
    for group_id, zone_key in endpoints:
        zone = zone_name(zone_key, config.region)
        hub = found.get((group_id, SUBNETS[PRIVATE_ENDPOINT_SUBNET]))
        twin = found.get((group_id, runner_subnet))
        assert hub is not None, f"no hub endpoint for {group_id}: {sorted(found)}"
        assert twin is not None, f"no runner twin for {group_id}: {sorted(found)}"
        assert zone_of(run, hub) == zone and zone_of(run, twin) == zone, group_id
        assert hub.inputs["location"] == config.region
    assert len(found) == 2 * len(endpoints), f"unexpected endpoints: {sorted(found)}"


def runner_roles_on(run: Deployment, config: StackConfig, scope: str) -> set[str]:
    """The role definition GUIDs the runner holds on `scope`."""
    return {str(a.inputs["roleDefinitionId"]).rsplit("/", 1)[-1] for a in run.of_type(ROLE_ASSIGNMENT)
            if a.inputs.get("principalId") == config.runner.object_id and a.inputs.get("scope") == scope}
