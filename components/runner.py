"""The runner: the machine drctl runs on during a failover, and what the platform gives it.

On the day, drctl lists and reads the primary lake's geo copy, writes the new lake, signs in to
PostgreSQL, sends a test event: every one of those calls needs a network path from the runner to a
private endpoint and a role with the data action. `dataplatform:runner` says who the runner is (its
principal's object id) and where it sits:

- `network.kind: vnet`: an existing VNet in the DR region (a management network, a day-0
  prerequisite). The runner gets private endpoints of its own in that VNet for everything it calls,
  registered in privatelink zones linked to it. The primary stack creates those zones (in a resource
  group of the DR region, so they outlive the primary region) and, before any disaster, the endpoints
  to its lake's `blob_secondary` and `dfs_secondary` sub-resources: an endpoint is approved through
  the target account's control plane, which is gone with the primary region on the day.
- `network.kind: hub`: a subnet of the DR hub, created by the secondary stack on the day, with egress
  through the hub's firewall. No endpoint can exist before the hub does, so the geo copy is out of
  reach from there; `drctl coverage` says so.

The roles follow drctl's steps: Storage Blob Data Contributor on the lake (listing and reading the
geo copy, writing the new account; Owner or Contributor carry no data actions), Azure Event Hubs Data
Owner for the send-and-receive check, Key Vault Secrets Officer for the canary secret, Data Factory
Contributor to run the replay, and a PostgreSQL Entra administrator entry (components/postgres.py).
Optional services grant theirs as they are declared (Platform.grant_runner), or add the runner to
their own access lists (components/runner_entries.py); what only people can grant is declared in
`dataplatform:runner.grantedOutOfBand` (components/runner_settings.py).
"""

from __future__ import annotations

from functools import partial

import pulumi
from pulumi_azure_native import network, privatedns, resources

from components import naming, roles
from components.private_endpoint import DNS_ZONE_GROUP_NAME, is_regional, zone_keys, zone_name
from components.runner_settings import RunnerNetwork, RunnerSettings
from components.spec import Platform, StackFacts

__all__ = ["RunnerAccess", "RunnerNetwork", "RunnerSettings", "finish_runner", "open_runner"]

RUNNER_TYPE = "dataplatform:runner:RunnerAccess"


# What the runner reaches on the public internet through the hub's firewall when it sits in the hub:
# Azure Resource Manager, Entra ID sign-in, the Pulumi service and its plugin downloads, and storage
# (a self-managed state backend on Azure Blob Storage).
# https://learn.microsoft.com/azure/azure-portal/azure-portal-safelist-urls
RUNNER_EGRESS_FQDNS: dict[str, tuple[str, ...]] = {
    "arm": ("management.azure.com",),
    "entra": ("login.microsoftonline.com", "login.windows.net"),
    "pulumi-backend": ("api.pulumi.com", "get.pulumi.com"),
    "storage": ("*.blob.core.windows.net",),
}
# And, per service switched on, the public endpoints its checks call where it has no private one:
# Analysis Services has no private link; a Databricks workspace or function app open to the internet.
SERVICE_EGRESS_FQDNS: dict[str, tuple[str, ...]] = {
    "analysisServices": ("*.asazure.windows.net",),
    "databricks": ("*.azuredatabricks.net",),
    "functionApp": ("*.azurewebsites.net",),
}
RUNNER_RULE_PRIORITY = 300


def runner_region(config: StackFacts) -> str:
    """The runner is in the DR region: the secondary's own, the primary's pair."""
    return config.region if config.is_secondary else config.paired_region


def runner_group_name(config: StackFacts) -> str:
    """The DR-region resource group of the runner's zones and day-0 endpoints, owned by the primary."""
    prefix, suffix = ((config.paired_prefix or config.prefix, config.paired_name_suffix or config.name_suffix)
                      if config.is_secondary else (config.prefix, config.name_suffix))
    return naming.check_name("resource group", f"rg-{prefix}-runner-{suffix}")


def runner_zone_id(subscription_id: str, group: str, zone: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/privateDnsZones/{zone}"


def runner_zones(config: StackFacts) -> dict[str, tuple[str, str]]:
    """Zone name -> (key, region suffix of its logical name) of every zone the runner resolves through:
    a regional zone twice, for the services of both regions (the failover's and the fallback's)."""
    zones: dict[str, tuple[str, str]] = {}
    for key in zone_keys(config.enabled):
        regions = (config.region, config.paired_region) if is_regional(key) else ("",)
        zones.update({zone_name(key, region): (key, region) for region in regions})
    return zones


class RunnerAccess(pulumi.ComponentResource):
    """The runner's zones (primary only), day-0 endpoints, role assignments and firewall rules."""

    def __init__(self, name: str, platform: Platform, settings: RunnerSettings,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RUNNER_TYPE, name, None, opts)
        self.settings = settings
        self.child = pulumi.ResourceOptions(parent=self)
        self.zone_ids: dict[str, pulumi.Input[str]] = {}
        config = platform.config
        if settings.network.kind != "vnet":
            # In the hub: its endpoints and zones are the hub's own.
            self.register_outputs({})
            return
        group = runner_group_name(config)
        if config.is_secondary:
            # The primary created them before the disaster, in the DR region: refer to them by id.
            subscription = pulumi.Output.from_input(platform.subscription_id)
            self.zone_ids = {zone: subscription.apply(partial(runner_zone_id, group=group, zone=zone))
                             for zone in runner_zones(config)}
        else:
            self.group = resources.ResourceGroup(
                f"{name}-rg", resource_group_name=group, location=runner_region(config), opts=self.child)
            self.zone_ids = self._zones(name, platform)
        self.register_outputs({})

    def _zones(self, name: str, platform: Platform) -> dict[str, pulumi.Input[str]]:
        zone_ids: dict[str, pulumi.Input[str]] = {}
        for zone, (key, region) in runner_zones(platform.config).items():
            label = f"{key}-{region}" if region else key
            created = privatedns.PrivateZone(f"{name}-dns-{label}", private_zone_name=zone,
                                             resource_group_name=self.group.name, location="Global",
                                             opts=self.child)
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{label}-link",
                virtual_network_link_name=naming.vnet_link_name(platform.prefix, f"runner-{label}", platform.suffix),
                private_zone_name=created.name, resource_group_name=self.group.name, location="Global",
                virtual_network=privatedns.SubResourceArgs(id=self.settings.network.vnet_id),
                registration_enabled=False, opts=self.child)
            zone_ids[zone] = created.id
        return zone_ids

    def endpoint(self, name: str, platform: Platform, target_id: pulumi.Input[str], group_id: str,
                 zone: str) -> None:
        """A private endpoint in the runner's subnet for `target_id`'s `group_id` (a resource of the
        stack's region), registered in the runner's `zone` (a PRIVATE_DNS_ZONES key)."""
        subnet_id = self.settings.subnet_id
        if subnet_id is None:
            return
        group = self.group.name if not platform.config.is_secondary else platform.resource_groups["connectivity"]
        created = network.PrivateEndpoint(
            name, resource_group_name=group, location=runner_region(platform.config),
            subnet=network.SubnetArgs(id=subnet_id),
            private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=name, private_link_service_id=target_id, group_ids=[group_id])],
            opts=self.child)
        network.PrivateDnsZoneGroup(
            f"{name}-dns", private_dns_zone_group_name=DNS_ZONE_GROUP_NAME, private_endpoint_name=created.name,
            resource_group_name=group,
            private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name=group_id,
                                                                       private_dns_zone_id=self.zone_ids[zone_name(zone, platform.region)])],
            opts=self.child)

    def grant(self, name: str, platform: Platform, scope: pulumi.Input[str], role: str) -> None:
        """An Azure role (components/roles.py's built-in ids) for the runner on `scope`."""
        config = platform.config
        roles.grant(f"{name}-runner-{role[:8]}", seed=f"{config.stack}/runner/{name}/{role}", scope=scope,
                    subscription_id=platform.subscription_id, role=role, principal_id=self.settings.object_id,
                    principal_type=self.settings.principal_type, opts=self.child)

    @staticmethod
    def _egress(config: StackFacts) -> dict[str, tuple[str, ...]]:
        services = {key: fqdns for key, fqdns in SERVICE_EGRESS_FQDNS.items() if config.enabled(key)}
        return {**RUNNER_EGRESS_FQDNS, **services}

    def egress_rules(self, platform: Platform) -> None:
        """Application rules on the hub's firewall policy for a runner that sits in the hub."""
        if platform.firewall_policy_id is None:
            return
        rules = [
            network.ApplicationRuleArgs(
                name=f"runner-{purpose}", rule_type="ApplicationRule",
                source_addresses=[self.settings.network.address_prefix], target_fqdns=list(fqdns),
                protocols=[network.FirewallPolicyRuleApplicationProtocolArgs(protocol_type="Https", port=443)])
            for purpose, fqdns in self._egress(platform.config).items()
        ]
        network.FirewallPolicyRuleCollectionGroup(
            "runner-egress", rule_collection_group_name="runner-egress", priority=RUNNER_RULE_PRIORITY,
            firewall_policy_name=platform.firewall_policy_id.apply(lambda i: i.rsplit("/", 1)[-1]),
            resource_group_name=platform.resource_groups["connectivity"],
            rule_collections=[network.FirewallPolicyFilterRuleCollectionArgs(
                name="runner", priority=RUNNER_RULE_PRIORITY, rule_collection_type="FirewallPolicyFilterRuleCollection",
                action=network.FirewallPolicyFilterRuleCollectionActionArgs(type="Allow"), rules=rules)],
            opts=self.child)


def open_runner(platform: Platform, hub: pulumi.Resource) -> RunnerAccess | None:
    """With the hub, before any endpoint is opened: the runner's zones, so every endpoint gets its twin.

    Part of the network layer (a child of the hub's component): redeployed with it, owned by its DR profile."""
    settings = platform.config.runner
    if settings is None:
        return None
    platform.runner = RunnerAccess("runner", platform, settings, pulumi.ResourceOptions(parent=hub))
    return platform.runner


def finish_runner(platform: Platform) -> None:
    """After the services: the runner's roles on what they declared, its egress, the geo endpoints."""
    runner = platform.runner
    if not isinstance(runner, RunnerAccess):
        return
    config = platform.config
    if platform.lake_account_id is not None:
        runner.grant("lake", platform, platform.lake_account_id, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
        if not config.is_secondary:
            # Reached through the secondary region's copy on the day: endpoints made while the
            # account's control plane (the primary region) can still approve them.
            for group_id, zone in (("blob_secondary", "blob"), ("dfs_secondary", "dfs")):
                runner.endpoint(f"lake-runner-pe-{group_id}", platform, platform.lake_account_id, group_id, zone)
    if platform.event_hubs_namespace_id is not None:
        runner.grant("event_hubs", platform, platform.event_hubs_namespace_id, roles.EVENT_HUBS_DATA_OWNER)
    if platform.key_vault_id is not None:
        runner.grant("key_vault", platform, platform.key_vault_id, roles.KEY_VAULT_SECRETS_OFFICER)
    if config.enabled("dataFactory"):
        data_group_id = pulumi.Output.concat("/subscriptions/", platform.subscription_id, "/resourceGroups/",
                                             platform.data_group)
        runner.grant("data_factory", platform, data_group_id, roles.DATA_FACTORY_CONTRIBUTOR)
    if runner.settings.network.kind == "hub" and config.is_secondary:
        runner.egress_rules(platform)
