"""The stack program: one region's platform, from its typed config, components in dependency order.

It only declares resources: no Azure SDK calls, so `pulumi preview`, drctl's offline preview and
the mock tests all run exactly this code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi_azure_native import authorization

from components.connectivity import PRIVATE_ENDPOINT_SUBNET, Connectivity, ConnectivityArgs
from components.data_factory import (
    LAKE_LINKED_SERVICE,
    DataFactory,
    DataFactoryArgs,
    load_factory_definitions,
)
from components.event_hubs import EventHubs, EventHubsArgs
from components.foundation import Foundation, FoundationArgs
from components.lake import Lake, LakeArgs
from components.postgres import PostgresArgs, PostgresServer
from components.private_endpoint import private_endpoint
from components.spec import PlatformContext, service_specs
from stacks import outputs
from stacks.config import ConfigError, StackConfig, load_from_pulumi

# The repository root (where Pulumi.yaml is): relative paths in the config are resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build(config: StackConfig, project_dir: Path | None = None) -> dict[str, Any]:
    """Declare the platform for `config`'s region; return (and export) the stack outputs."""
    root = Path(project_dir) if project_dir is not None else PROJECT_ROOT
    region, prefix, suffix = config.region, config.prefix, config.name_suffix
    services = config.services
    exported: dict[str, Any] = {outputs.REGION: region, outputs.ROLE: config.role}

    # Read the factory's pipelines first: a bad file stops the program before anything is declared.
    definitions = None
    if services.data_factory:
        definitions = load_factory_definitions(
            root / config.data_factory.pipelines_dir,
            linked_services=(LAKE_LINKED_SERVICE,) if services.lake else (),
        )

    # Deploy the foundation: resource groups (in this region), Log Analytics, Key Vault, Recovery Services vault.
    foundation = Foundation(
        "foundation",
        FoundationArgs(
            location=region,
            prefix=prefix,
            name_suffix=suffix,
            log_retention_days=config.foundation.log_retention_days,
            key_vault_sku=config.foundation.key_vault_sku,
            cross_region_restore=config.foundation.recovery_vault_cross_region_restore,
            tags=tuple(sorted(config.foundation.tags.items())),
        ),
    )
    groups = foundation.resource_group_names
    exported.update(
        {
            outputs.RESOURCE_GROUPS: groups,
            outputs.LOG_ANALYTICS_WORKSPACE_ID: foundation.workspace_id,
            outputs.KEY_VAULT_NAME: foundation.key_vault_name,
            outputs.KEY_VAULT_URI: foundation.key_vault_uri,
            outputs.RECOVERY_VAULT_NAME: foundation.recovery_vault_name,
        }
    )

    # Deploy connectivity: hub VNet, NSGs, firewall and route table (when enabled), private DNS zones.
    hub = Connectivity(
        "connectivity",
        ConnectivityArgs(
            location=region,
            prefix=prefix,
            name_suffix=suffix,
            resource_group_name=groups["connectivity"],
            address_space=config.address_space,
            firewall=services.firewall,
        ),
    )
    exported.update(
        {
            outputs.VNET_ID: hub.vnet_id,
            outputs.VNET_NAME: hub.vnet_name,
            outputs.SUBNET_IDS: hub.subnet_ids,
            outputs.PRIVATE_DNS_ZONE_IDS: hub.private_dns_zone_ids,
        }
    )
    if hub.firewall_private_ip is not None:
        exported[outputs.FIREWALL_PRIVATE_IP] = hub.firewall_private_ip

    def open_privately(component: pulumi.Resource, name: str, group, target_id, *endpoints: tuple[str, str]):
        """Private endpoints for a service closed to the internet: (group id, DNS zone key) each."""
        for group_id, zone in endpoints:
            private_endpoint(
                f"{name}-pe-{group_id}",
                parent=component,
                location=region,
                resource_group_name=group,
                subnet_id=hub.subnet_ids[PRIVATE_ENDPOINT_SUBNET],
                target_id=target_id,
                group_id=group_id,
                dns_zone_id=hub.private_dns_zone_ids[zone],
            )

    # Key Vault's network ACL denies by default: its data plane is reached through the hub.
    # Key Vault's endpoint belongs to the network layer: parented to the hub, it does not hold the
    # foundation's deploy step until the VNet exists (the plan deploys foundation first).
    open_privately(hub, "key_vault", groups["connectivity"], foundation.key_vault.id, ("vault", "vaultcore"))

    # The data services only take the data resource group from the layers above; nothing in their
    # arguments waits for the firewall, so Pulumi deploys them alongside it.
    data_group = groups["data"]

    # Deploy the lake: ADLS Gen2 account and its zone containers.
    lake = None
    if services.lake:
        lake = Lake(
            "lake",
            LakeArgs(
                location=region,
                prefix=prefix,
                name_suffix=suffix,
                resource_group_name=data_group,
                redundancy=config.lake.redundancy,
            ),
        )
        exported.update(
            {
                outputs.LAKE_ACCOUNT_NAME: lake.account_name,
                outputs.LAKE_BLOB_ENDPOINT: lake.blob_endpoint,
                outputs.LAKE_DFS_ENDPOINT: lake.dfs_endpoint,
                outputs.LAKE_CONTAINERS: lake.container_names,
            }
        )
        # One endpoint per sub-resource: Blob API clients and ADLS (dfs) clients use different hosts.
        open_privately(lake, "lake", data_group, lake.account_id, ("blob", "blob"), ("dfs", "dfs"))

    # Deploy PostgreSQL: a new server on the primary, a geo-restore of the paired server when configured.
    if services.postgres:
        postgres = PostgresServer(
            "postgres",
            PostgresArgs(
                location=region,
                prefix=prefix,
                name_suffix=suffix,
                resource_group_name=data_group,
                settings=config.postgres,
                restore=config.restore.postgres,
                paired_prefix=config.paired_prefix,
                paired_name_suffix=config.paired_name_suffix,
            ),
        )
        exported.update(
            {
                outputs.POSTGRES_SERVER_NAME: postgres.server_name,
                outputs.POSTGRES_FQDN: postgres.fqdn,
                outputs.POSTGRES_DATABASES: postgres.database_names,
                outputs.POSTGRES_CREATE_MODE: postgres.create_mode,
            }
        )
        open_privately(postgres, "postgres", data_group, postgres.server.id, ("postgresqlServer", "postgres"))

    # Deploy Event Hubs: the namespace and its hubs.
    event_hubs = None
    if services.event_hubs:
        event_hubs = EventHubs(
            "event_hubs",
            EventHubsArgs(
                location=region,
                prefix=prefix,
                name_suffix=suffix,
                resource_group_name=data_group,
                settings=_event_hubs_settings(config),
            ),
        )
        exported.update(
            {
                outputs.EVENT_HUBS_NAMESPACE: event_hubs.namespace_name,
                outputs.EVENT_HUBS_ENDPOINT: event_hubs.endpoint,
                outputs.EVENT_HUBS: event_hubs.hub_names,
            }
        )
        open_privately(event_hubs, "event_hubs", data_group, event_hubs.namespace_id, ("namespace", "servicebus"))

    # Deploy Data Factory last: its linked service and datasets point at the lake.
    if definitions is not None:
        factory = DataFactory(
            "data_factory",
            DataFactoryArgs(
                location=region,
                prefix=prefix,
                name_suffix=suffix,
                resource_group_name=data_group,
                definitions=definitions,
                lake_dfs_endpoint=lake.dfs_endpoint if lake else None,
                lake_account_id=lake.account_id if lake else None,
            ),
        )
        exported.update(
            {
                outputs.DATA_FACTORY_NAME: factory.factory_name,
                outputs.DATA_FACTORY_PIPELINES: factory.pipeline_names,
            }
        )
        # The factory's own API (authoring, runs); the "portal" group id is for ADF Studio only.
        open_privately(factory, "data_factory", data_group, factory.factory.id, ("dataFactory", "datafactory"))
        if factory.smoke_pipeline is not None:
            exported[outputs.SMOKE_PIPELINE] = factory.smoke_pipeline

    # Deploy the optional services this stack switches on (components/services/), each given what
    # the core platform built; their outputs are exported under their own keys.
    if config.optional_services:
        client = authorization.get_client_config_output()
        context = PlatformContext(
            config=config,
            resource_groups=groups,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            log_analytics_workspace_id=foundation.workspace_id,
            key_vault_id=foundation.key_vault.id,
            vnet_id=hub.vnet_id,
            subnet_ids=hub.subnet_ids,
            lake_account_id=lake.account_id if lake else None,
            lake_account_name=lake.account_name if lake else None,
            lake_dfs_endpoint=lake.dfs_endpoint if lake else None,
            event_hubs_namespace_id=event_hubs.namespace_id if event_hubs else None,
            project_dir=root,
        )
        specs = service_specs()
        for key, settings in config.optional_services.items():
            exported.update(specs[key].deploy(context, settings))

    for key, value in exported.items():
        pulumi.export(key, value)
    return exported


def _event_hubs_settings(config: StackConfig):
    """A Geo-DR pairing needs an empty secondary namespace: the primary's hubs arrive there by the
    alias's metadata replication, so the secondary stack declares none of its own."""
    if config.is_secondary and config.service_enabled("eventHubsGeoDr"):
        return config.event_hubs.model_copy(update={"hubs": ()})
    return config.event_hubs


def main() -> None:
    """Entry point of `pulumi up`: invalid config stops the program before any resource exists."""
    # RunError is reported by the Pulumi CLI as one error line, without a Python traceback; some
    # service settings are checked against the rest of the platform while it is declared.
    try:
        build(load_from_pulumi(PROJECT_ROOT), PROJECT_ROOT)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
