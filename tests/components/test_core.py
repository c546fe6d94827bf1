"""Each component under Pulumi's mocks: region, parenting, security baseline, restore, toggles, profiles."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pulumi_mocks import PROJECT_DIR, Deployment, deploy, stack_config, stack_values

from components import connectivity, data_factory, event_hubs, foundation, lake, postgres
from components.connectivity import (
    FIREWALL_SUBNET,
    GATEWAY_SUBNET,
    PRIVATE_ENDPOINT_SUBNET,
    Connectivity,
    ConnectivityArgs,
)
from components.data_factory import (
    DataFactory,
    DataFactoryArgs,
    PipelineDefinitionError,
    load_factory_definitions,
)
from components.event_hubs import EventHubs, EventHubsArgs
from components.foundation import Foundation, FoundationArgs
from components.hub_layout import carve_hub
from components.lake import ZONES, Lake, LakeArgs
from components.postgres import PostgresArgs, PostgresRestore, PostgresServer
from components.private_endpoint import PRIVATE_DNS_ZONES, zone_name
from components.profile import RecoveryAction
from components.registry import SERVICES, profile_by_key
from components.roles import EntraAdmin
from components.runner import RUNNER_TYPE
from orchestrator.program.capture import PLACEHOLDER_SUBSCRIPTION, PLACEHOLDER_TENANT
from stacks import outputs
from stacks.program import build

PRIMARY = stack_config("primary")
SECONDARY = stack_config("secondary")
RG = "rg-test"
FIXED_NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def common(config=PRIMARY) -> dict:
    return {"location": config.region, "prefix": config.prefix, "name_suffix": config.name_suffix}


def assert_in_region_and_parented(run: Deployment, component_type: str, region: str) -> None:
    """Every custom resource sits under the component, and every regional one is in `region`."""
    component = run.one(component_type)
    assert run.resources, "the component declared nothing"
    for resource in run.resources:
        nearest = run.nearest_component(resource)
        assert nearest is not None and nearest.urn == component.urn, resource.urn
        assert resource.urn.split("::")[2].startswith(component_type + "$"), resource.urn
    for resource in run.regional():
        assert resource.inputs.get("location") == region, f"{resource.name} is not in {region}"


def rule(nsg, name):
    return next(r for r in nsg.inputs["securityRules"] if r["name"] == name)


# --- Foundation ------------------------------------------------------------------------------


def foundation_run(config=PRIMARY, **overrides) -> Deployment:
    args = FoundationArgs(**{**common(config), **overrides})
    return deploy(lambda: Foundation("foundation", args), stack=config.stack)


@pytest.mark.parametrize("config", [PRIMARY, SECONDARY], ids=["primary", "secondary"])
def test_foundation_region_and_parenting(config):
    run = foundation_run(config)
    assert_in_region_and_parented(run, "dataplatform:foundation:Foundation", config.region)
    groups = run.of_type("azure-native:resources:ResourceGroup")
    assert sorted(g.inputs["resourceGroupName"] for g in groups) == sorted(
        f"rg-contoso-{layer}-{config.name_suffix}" for layer in ("foundation", "connectivity", "data")
    )


def test_foundation_key_vault_baseline():
    vault = foundation_run().one("azure-native:keyvault:Vault").inputs
    props = vault["properties"]
    assert vault["vaultName"] == "kv-contoso-aue"
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert props["tenantId"] == PLACEHOLDER_TENANT  # from getClientConfig, never hard-coded
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    # Private endpoints only (the hub's and the runner's twin); trusted Azure services still pass.
    assert props["publicNetworkAccess"] == "Disabled"
    assert "accessPolicies" not in props


def test_foundation_workspace_and_recovery_vault():
    run = foundation_run(log_retention_days=90, cross_region_restore=False)
    workspace = run.one("azure-native:operationalinsights:Workspace").inputs
    assert workspace["sku"] == {"name": "PerGB2018"} and workspace["retentionInDays"] == 90
    vault = run.one("azure-native:recoveryservices:Vault").inputs
    assert vault["sku"] == {"name": "RS0", "tier": "Standard"}
    redundancy = vault["properties"]["redundancySettings"]
    assert redundancy == {"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "Disabled"}
    enabled = foundation_run().one("azure-native:recoveryservices:Vault").inputs
    assert enabled["properties"]["redundancySettings"]["crossRegionRestore"] == "Enabled"


# --- Connectivity ----------------------------------------------------------------------------


def connectivity_run(config=PRIMARY, firewall=True) -> Deployment:
    args = ConnectivityArgs(
        **common(config), resource_group_name=RG, address_space=config.address_space, firewall=firewall
    )
    return deploy(lambda: Connectivity("connectivity", args), stack=config.stack)


@pytest.mark.parametrize("space", ["10.10.0.0/16", "10.20.0.0/22", "172.16.8.0/21"])
def test_carve_hub_fits_the_space_without_overlap(space):
    layout = carve_hub(space)
    network = ipaddress.ip_network(space)
    subnets = [layout.data, layout.private_endpoints, layout.firewall, layout.gateway]
    assert all(s.subnet_of(network) for s in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    assert layout.firewall.prefixlen == 26 and layout.gateway.prefixlen == 27
    assert ipaddress.ip_address(layout.firewall_private_ip) in layout.firewall


def test_carve_hub_refuses_a_space_too_small():
    with pytest.raises(ValueError, match="/22 or larger"):
        carve_hub("10.0.0.0/23")


@pytest.mark.parametrize("config", [PRIMARY, SECONDARY], ids=["primary", "secondary"])
def test_connectivity_region_and_parenting(config):
    run = connectivity_run(config)
    assert_in_region_and_parented(run, "dataplatform:connectivity:Connectivity", config.region)
    assert run.one("azure-native:network:VirtualNetwork").inputs["addressSpace"] == {
        "addressPrefixes": [config.address_space]
    }


def test_connectivity_subnets_nsgs_and_default_route():
    run = connectivity_run()
    subnets = {s["name"]: s for s in run.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    assert set(subnets) == {"data", "private-endpoints", FIREWALL_SUBNET, GATEWAY_SUBNET}
    assert ipaddress.ip_network(subnets[FIREWALL_SUBNET]["addressPrefix"]).prefixlen == 26
    assert ipaddress.ip_network(subnets[GATEWAY_SUBNET]["addressPrefix"]).prefixlen == 27
    # Azure refuses NSGs on the firewall and gateway subnets.
    assert "networkSecurityGroup" not in subnets[FIREWALL_SUBNET]
    assert "networkSecurityGroup" not in subnets[GATEWAY_SUBNET]
    nsgs = {n.inputs["networkSecurityGroupName"]: n for n in run.of_type("azure-native:network:NetworkSecurityGroup")}
    assert set(nsgs) == {"nsg-contoso-data-aue", "nsg-contoso-private-endpoints-aue"}
    for nsg in nsgs.values():
        deny = rule(nsg, "deny-all-inbound")
        assert (deny["access"], deny["direction"], deny["sourceAddressPrefix"], deny["destinationPortRange"]) == (
            "Deny", "Inbound", "*", "*",
        )
        assert all(r["priority"] < deny["priority"] for r in nsg.inputs["securityRules"] if r is not deny)
    assert subnets["data"]["networkSecurityGroup"]["id"].endswith("/nsg-contoso-data-aue")

    table = run.one("azure-native:network:RouteTable")
    (route,) = table.inputs["routes"]
    assert route["addressPrefix"] == "0.0.0.0/0" and route["nextHopType"] == "VirtualAppliance"
    firewall_subnet = ipaddress.ip_network(subnets[FIREWALL_SUBNET]["addressPrefix"])
    assert ipaddress.ip_address(route["nextHopIpAddress"]) in firewall_subnet
    assert subnets["data"]["routeTable"]["id"].endswith("/rt-contoso-aue")


def test_connectivity_firewall_and_dns_zones():
    run = connectivity_run()
    firewall = run.one("azure-native:network:AzureFirewall").inputs
    assert firewall["sku"] == {"name": "AZFW_VNet", "tier": "Standard"}
    assert firewall["ipConfigurations"][0]["subnet"]["id"].endswith("/subnets/AzureFirewallSubnet")
    assert firewall["firewallPolicy"]["id"].endswith("/afwp-contoso-aue")
    public_ip = run.one("azure-native:network:PublicIPAddress").inputs
    assert public_ip["sku"]["name"] == "Standard" and public_ip["publicIPAllocationMethod"] == "Static"
    policy = run.one("azure-native:network:FirewallPolicy").inputs
    assert policy["sku"] == {"tier": "Standard"}
    assert policy["threatIntelMode"] == "Deny"  # known-malicious traffic dropped, not only reported

    zones = run.of_type("azure-native:privatedns:PrivateZone")
    names = {zone_name(key, PRIMARY.region) for key in PRIVATE_DNS_ZONES}
    assert {z.inputs["privateZoneName"] for z in zones} == names
    assert "privatelink.australiaeast.kusto.windows.net" in names  # Data Explorer's zones are per region
    assert all(z.inputs["location"] == "Global" for z in zones)
    links = run.of_type("azure-native:privatedns:VirtualNetworkLink")
    vnet_name = run.one("azure-native:network:VirtualNetwork").inputs["virtualNetworkName"]
    assert len(links) == len(PRIVATE_DNS_ZONES)
    assert all(link.inputs["virtualNetwork"]["id"].endswith("/" + vnet_name) for link in links)
    assert {link.inputs["privateZoneName"] for link in links} == names


def test_connectivity_without_firewall_has_no_firewall_and_no_route_table():
    run = connectivity_run(firewall=False)
    for token in ("AzureFirewall", "PublicIPAddress", "FirewallPolicy", "RouteTable"):
        assert not run.of_type(f"azure-native:network:{token}"), token
    subnets = {s["name"]: s for s in run.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    assert "routeTable" not in subnets["data"]
    assert len(run.of_type("azure-native:network:NetworkSecurityGroup")) == 2


# --- Lake ------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [PRIMARY, SECONDARY], ids=["primary", "secondary"])
def test_lake_baseline(config):
    args = LakeArgs(**common(config), resource_group_name=RG, redundancy=config.lake.redundancy)
    run = deploy(lambda: Lake("lake", args), stack=config.stack)
    assert_in_region_and_parented(run, "dataplatform:data:Lake", config.region)
    account = run.one("azure-native:storage:StorageAccount").inputs
    assert account["accountName"] == f"contosolake{config.name_suffix}"
    assert account["kind"] == "StorageV2" and account["isHnsEnabled"] is True
    assert account["sku"] == {"name": "Standard_RAGRS"}
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    # Reached through its private endpoints only (see the program test below).
    assert account["publicNetworkAccess"] == "Disabled"
    containers = run.of_type("azure-native:storage:BlobContainer")
    assert sorted(c.inputs["containerName"] for c in containers) == sorted(ZONES)
    assert all(c.inputs["publicAccess"] == "None" for c in containers)
    assert all(c.inputs["accountName"] == account["accountName"] for c in containers)


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_run(config=PRIMARY, **overrides) -> Deployment:
    args = PostgresArgs(
        **common(config),
        resource_group_name=RG,
        settings=config.postgres,
        restore=config.restore.postgres,
        paired_prefix=config.paired_prefix,
        paired_name_suffix=config.paired_name_suffix,
        clock=lambda: FIXED_NOW,
    )
    args = PostgresArgs(**{**args.__dict__, **overrides})
    return deploy(lambda: PostgresServer("postgres", args), stack=config.stack)


def test_postgres_primary_is_created_empty_and_locked_down():
    run = postgres_run()
    assert_in_region_and_parented(run, "dataplatform:data:PostgresServer", PRIMARY.region)
    server = run.one("azure-native:dbforpostgresql:Server")
    inputs = server.inputs
    assert inputs["serverName"] == "contoso-pg-aue"
    assert inputs["network"] == {"publicNetworkAccess": "Disabled"}
    assert inputs["authConfig"] == {
        "activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": PLACEHOLDER_TENANT,
    }
    assert "administratorLogin" not in inputs and "administratorLoginPassword" not in inputs
    assert inputs["backup"]["geoRedundantBackup"] == "Enabled"
    assert inputs["sku"] == {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
    # No restore on the primary.
    assert not {"createMode", "sourceServerResourceId", "pointInTimeUTC"} & set(inputs)
    assert server.ignore_changes == ()
    databases = run.of_type("azure-native:dbforpostgresql:Database")
    assert [d.inputs["databaseName"] for d in databases] == ["platform"]


def test_postgres_secondary_geo_restores_the_paired_server():
    run = postgres_run(SECONDARY)
    assert_in_region_and_parented(run, "dataplatform:data:PostgresServer", "australiasoutheast")
    server = run.one("azure-native:dbforpostgresql:Server")
    inputs = server.inputs
    assert inputs["createMode"] == "GeoRestore"
    assert inputs["location"] == "australiasoutheast"
    assert inputs["sourceServerResourceId"] == (
        f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue"
        "/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-aue"
    )
    assert inputs["pointInTimeUTC"] == "2030-01-02T03:04:05+00:00"
    assert set(server.ignore_changes) == {"createMode", "sourceServerResourceId", "pointInTimeUTC"}
    assert inputs["network"] == {"publicNetworkAccess": "Disabled"}
    assert inputs["authConfig"]["passwordAuth"] == "Disabled"
    # The restored server brings its databases; none is declared again.
    assert not run.of_type("azure-native:dbforpostgresql:Database")


def test_postgres_restore_uses_the_configured_source_and_point_in_time():
    source = "/subscriptions/abc/resourceGroups/rg-x/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-x"
    restore = PostgresRestore(sourceServerId=source, pointInTimeUtc="2030-01-01T00:00:00Z")
    inputs = postgres_run(SECONDARY, restore=restore).one("azure-native:dbforpostgresql:Server").inputs
    assert inputs["sourceServerResourceId"] == source
    assert inputs["pointInTimeUTC"] == "2030-01-01T00:00:00Z"


def test_postgres_restore_without_any_source_is_refused():
    with pytest.raises(ValueError, match="sourceServerId"):
        postgres_run(SECONDARY, paired_prefix=None, paired_name_suffix=None)


def test_postgres_entra_admin_when_configured():
    admin = EntraAdmin(objectId="11111111-1111-1111-1111-111111111111", principalName="pg-admins")
    settings = PRIMARY.postgres.model_copy(update={"entra_admin": admin})
    run = postgres_run(settings=settings)
    inputs = run.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").inputs
    assert inputs["objectId"] == admin.object_id and inputs["principalType"] == "Group"
    assert inputs["tenantId"] == PLACEHOLDER_TENANT and inputs["serverName"] == "contoso-pg-aue"
    # The model still takes none (a switched-off service's settings); the stack rule requires one when on.
    no_admin = PRIMARY.postgres.model_copy(update={"entra_admin": None})
    assert not postgres_run(settings=no_admin).of_type("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")


# --- Event Hubs ------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [PRIMARY, SECONDARY], ids=["primary", "secondary"])
def test_event_hubs_baseline(config):
    args = EventHubsArgs(**common(config), resource_group_name=RG, settings=config.event_hubs)
    run = deploy(lambda: EventHubs("event_hubs", args), stack=config.stack)
    assert_in_region_and_parented(run, "dataplatform:data:EventHubs", config.region)
    namespace = run.one("azure-native:eventhub:Namespace").inputs
    assert namespace["namespaceName"] == f"contoso-evh-{config.name_suffix}"
    assert namespace["minimumTlsVersion"] == "1.2" and namespace["disableLocalAuth"] is True
    assert namespace["publicNetworkAccess"] == "Disabled"
    assert namespace["sku"] == {"name": "Standard", "tier": "Standard", "capacity": 1}
    (hub,) = run.of_type("azure-native:eventhub:EventHub")
    assert hub.inputs["eventHubName"] == "telemetry" and hub.inputs["partitionCount"] == 4
    assert hub.inputs["retentionDescription"] == {"cleanupPolicy": "Delete", "retentionTimeInHours": 24}


# --- Data Factory ----------------------------------------------------------------------------


LAKE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x"


def factory_run(folder: Path = PROJECT_DIR / "pipelines", with_lake: bool = True) -> Deployment:
    args = DataFactoryArgs(
        **common(),
        resource_group_name=RG,
        definitions=load_factory_definitions(folder),
        lake_dfs_endpoint="https://contosolakeaue.dfs.core.windows.net/" if with_lake else None,
        lake_account_id=LAKE_ID if with_lake else None,
    )
    return deploy(lambda: DataFactory("data_factory", args))


def test_data_factory_deploys_every_repository_pipeline():
    run = factory_run()
    assert_in_region_and_parented(run, "dataplatform:data:DataFactory", PRIMARY.region)
    factory = run.one("azure-native:datafactory:Factory").inputs
    assert factory["identity"] == {"type": "SystemAssigned"} and factory["publicNetworkAccess"] == "Disabled"
    files = sorted(p.stem for p in (PROJECT_DIR / "pipelines").glob("*.json"))
    pipelines = {p.inputs["pipelineName"]: p.inputs for p in run.of_type("azure-native:datafactory:Pipeline")}
    assert sorted(pipelines) == files and "smoke" in files
    # ADF's typeProperties are flattened into the shape azure-native sends.
    (wait,) = pipelines["smoke"]["activities"]
    assert wait["type"] == "Wait" and "waitTimeInSeconds" in wait and "typeProperties" not in wait
    # Nested activities too (ForEach > IfCondition > Copy): tests/components/test_data_factory.py.
    (copy,) = pipelines["ingest_events"]["activities"][0]["activities"][1]["ifTrueActivities"]
    assert copy["sink"]["storeSettings"]["type"] == "AzureBlobFSWriteSettings" and "typeProperties" not in copy
    datasets = run.of_type("azure-native:datafactory:Dataset")
    assert {d.inputs["properties"]["location"]["fileSystem"] for d in datasets} == {"raw"}
    link = run.one("azure-native:datafactory:LinkedService").inputs["properties"]
    assert link == {"type": "AzureBlobFS", "url": "https://contosolakeaue.dfs.core.windows.net/",
                    "connectVia": {"referenceName": "managed-vnet-ir", "type": "IntegrationRuntimeReference"}}
    grant = run.one("azure-native:authorization:RoleAssignment").inputs
    assert grant["scope"].endswith("/storageAccounts/x") and grant["principalType"] == "ServicePrincipal"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_pipeline_file_names_the_file(tmp_path):
    wait = {"name": "w", "type": "Wait"}
    write(tmp_path, "ok.json", json.dumps({"name": "ok", "properties": {"activities": [wait]}}))
    bad = write(tmp_path, "broken.json", '{"name": "broken", "properties": {"activities": [}')
    with pytest.raises(PipelineDefinitionError, match=r"broken\.json: not valid JSON \(line 1"):
        load_factory_definitions(tmp_path)
    bad.write_text(json.dumps({"name": "other", "properties": {"activities": [{"name": "w", "type": "Wait"}]}}))
    with pytest.raises(PipelineDefinitionError, match=r"broken\.json: 'name' is 'other'"):
        load_factory_definitions(tmp_path)
    bad.write_text(json.dumps({"name": "broken", "properties": {"activities": []}}))
    with pytest.raises(PipelineDefinitionError, match=r"broken\.json: properties.activities must be a non-empty"):
        load_factory_definitions(tmp_path)


def test_pipeline_referring_to_a_missing_dataset_is_refused(tmp_path):
    activity = {"name": "c", "type": "Copy", "inputs": [{"referenceName": "nowhere", "type": "DatasetReference"}]}
    write(tmp_path, "copy.json", json.dumps({"name": "copy", "properties": {"activities": [activity]}}))
    with pytest.raises(PipelineDefinitionError, match=r"copy\.json: refers to dataset 'nowhere'"):
        load_factory_definitions(tmp_path)


def test_datasets_need_the_lake_linked_service():
    with pytest.raises(PipelineDefinitionError, match=r"events_\w+\.json: refers to linked service 'lake'"):
        load_factory_definitions(PROJECT_DIR / "pipelines", linked_services=())


# --- The program: toggles --------------------------------------------------------------------


def program_run(stack: str, changes: dict | None = None) -> Deployment:
    config = stack_config(stack, changes)
    values = {**stack_values(stack), **(changes or {})}
    return deploy(lambda: build(config, PROJECT_DIR), stack=stack, config=values)


def test_program_deploys_every_component_once_in_its_region():
    run = program_run("secondary")
    # The runner's access is part of the network layer (a child of the hub), in the DR region.
    expected = [spec.type_token for spec in SERVICES if spec.switch != "off"] + [RUNNER_TYPE]
    assert sorted(c.type for c in run.components) == sorted(expected)
    assert all(r.inputs["location"] == "australiasoutheast" for r in run.regional())


def test_toggles_switch_services_off():
    services = {"firewall": False, "lake": True, "postgres": False, "eventHubs": False, "dataFactory": False}
    run = program_run("primary", {"dataplatform:services": services})
    component_types = {c.type for c in run.components}
    assert component_types == {
        "dataplatform:foundation:Foundation", "dataplatform:connectivity:Connectivity", "dataplatform:data:Lake",
        RUNNER_TYPE,
    }
    assert not run.of_type("azure-native:network:AzureFirewall")
    assert not run.of_type("azure-native:dbforpostgresql:Server")
    assert not run.of_type("azure-native:eventhub:Namespace")
    assert not run.of_type("azure-native:datafactory:Factory")


# Each core service closed to the internet: (group id, privatelink zone key, the service's resource type).
CORE_ENDPOINTS = {
    # Key Vault's endpoint is the network layer's (parented to the hub), though the vault is foundation's.
    "dataplatform:connectivity:Connectivity": [("vault", "vaultcore", "azure-native:keyvault:Vault")],
    "dataplatform:data:Lake": [
        ("blob", "blob", "azure-native:storage:StorageAccount"),
        ("dfs", "dfs", "azure-native:storage:StorageAccount"),
    ],
    "dataplatform:data:PostgresServer": [("postgresqlServer", "postgres", "azure-native:dbforpostgresql:Server")],
    "dataplatform:data:EventHubs": [("namespace", "servicebus", "azure-native:eventhub:Namespace")],
    "dataplatform:data:DataFactory": [("dataFactory", "datafactory", "azure-native:datafactory:Factory")],
}


def core_private_endpoints(run: Deployment, region: str) -> dict[tuple[str, str], str]:
    """(component type, group id) -> target id of every core endpoint, each checked for subnet,
    region and DNS zone group on the way."""
    vnet = run.one("azure-native:network:VirtualNetwork")
    subnet_id = f"{vnet.id}/subnets/{PRIVATE_ENDPOINT_SUBNET}"
    # The hub's zones (the runner's, of the same names, are in the DR region's runner group).
    zone_ids = {z.inputs["privateZoneName"]: z.id for z in run.of_type("azure-native:privatedns:PrivateZone")
                if run.nearest_component(z).type == "dataplatform:connectivity:Connectivity"}
    zone_groups = run.of_type("azure-native:network:PrivateDnsZoneGroup")
    found: dict[tuple[str, str], str] = {}
    for endpoint in run.of_type("azure-native:network:PrivateEndpoint"):
        component = run.nearest_component(endpoint)
        if component is None or component.type not in CORE_ENDPOINTS:
            continue
        assert endpoint.inputs["location"] == region, endpoint.name
        assert endpoint.inputs["subnet"]["id"] == subnet_id, endpoint.name
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        (group_id,) = connection["groupIds"]
        zone_key = {g: z for g, z, _ in CORE_ENDPOINTS[component.type]}[group_id]
        # The zone group that registers the endpoint's A record in the matching privatelink zone.
        (zone_group,) = [g for g in zone_groups if g.inputs["privateEndpointName"] == endpoint.name]
        assert run.nearest_component(zone_group).urn == component.urn
        assert zone_group.inputs["resourceGroupName"] == endpoint.inputs["resourceGroupName"]
        (zone_config,) = zone_group.inputs["privateDnsZoneConfigs"]
        assert zone_config["privateDnsZoneId"] == zone_ids[PRIVATE_DNS_ZONES[zone_key]], endpoint.name
        assert (component.type, group_id) not in found, f"two {group_id} endpoints"
        found[(component.type, group_id)] = connection["privateLinkServiceId"]
    return found


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_every_core_service_is_reached_through_a_private_endpoint(stack):
    run = program_run(stack)
    found = core_private_endpoints(run, stack_config(stack).region)
    expected = {
        (component, group_id): run.one(target).id
        for component, endpoints in CORE_ENDPOINTS.items()
        for group_id, _, target in endpoints
    }
    assert found == expected
    # Every service the endpoints open is closed to the internet.
    assert run.one("azure-native:storage:StorageAccount").inputs["publicNetworkAccess"] == "Disabled"
    assert run.one("azure-native:eventhub:Namespace").inputs["publicNetworkAccess"] == "Disabled"
    assert run.one("azure-native:datafactory:Factory").inputs["publicNetworkAccess"] == "Disabled"
    assert run.one("azure-native:dbforpostgresql:Server").inputs["network"] == {"publicNetworkAccess": "Disabled"}
    vault = run.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["networkAcls"]["defaultAction"] == "Deny"


def test_disabled_services_get_no_private_endpoint():
    services = {"firewall": False, "lake": True, "postgres": False, "eventHubs": False, "dataFactory": False}
    run = program_run("primary", {"dataplatform:services": services})
    found = core_private_endpoints(run, PRIMARY.region)
    assert set(found) == {
        ("dataplatform:connectivity:Connectivity", "vault"),
        ("dataplatform:data:Lake", "blob"),
        ("dataplatform:data:Lake", "dfs"),
    }


def test_factory_without_lake_fails_before_anything_is_declared():
    config = stack_config("primary", {"dataplatform:services": {"lake": False, "dataFactory": True}})
    errors: list[Exception] = []

    def program() -> None:
        try:
            build(config, PROJECT_DIR)
        except PipelineDefinitionError as exc:
            errors.append(exc)

    run = deploy(program)
    assert len(errors) == 1 and "linked service 'lake'" in str(errors[0])
    assert run.resources == [] and run.components == []


def test_output_keys_are_the_shared_constants():
    config = stack_config("primary")
    exported: dict = {}
    deploy(lambda: exported.update(build(config, PROJECT_DIR)))
    declared = {outputs.REGION, outputs.ROLE, outputs.RESOURCES}
    for module in (foundation, connectivity, lake, postgres, event_hubs, data_factory):
        declared |= {value for name, value in vars(module).items() if name.endswith("_OUTPUT")}
    assert set(exported) == declared  # everything is on in the shipped primary
    assert exported[postgres.CREATE_MODE_OUTPUT] == "Default" and exported[data_factory.SMOKE_PIPELINE_OUTPUT] == "smoke"


# --- DR profiles -----------------------------------------------------------------------------


def test_every_component_has_a_consistent_profile():
    profiles = {spec.type_token: spec.profile for spec in SERVICES if spec.switch != "off"}
    assert len(profiles) == 6
    from components.catalog import CATALOG

    keys = {p.key for p in profiles.values()}
    catalog = {p.key for p in CATALOG}
    for profile in profiles.values():
        assert profile.smoke_checks, profile.key
        assert profile.seed, profile.key
        for dependency in profile.depends_on:
            # A component waits for other components or for catalog (SaaS) services' readiness.
            assert dependency.component in keys | catalog and dependency.component != profile.key
            assert dependency.why
            if dependency.component in keys:
                assert profile_by_key(dependency.component).priority <= profile.priority
        if profile.rehydrates:
            assert profile.data_checks, profile.key
    assert {p.key for p in profiles.values() if p.stateful} == {"lake", "postgres", "event_hubs"}
    assert [c.name for c in profile_by_key("lake").data_checks] == ["container-counts", "bytes", "content-md5"]
    assert profile_by_key("postgres").recovery_action is RecoveryAction.GEO_RESTORE
    assert profile_by_key("event_hubs").recovery_action is RecoveryAction.REDEPLOY
    # The drill's local servers: Azurite for the lake, embedded PostgreSQL, the local pipeline runner
    # for Data Factory; nothing else of the core runs locally.
    assert {p.key for p in profiles.values() if any("local" in c.runs_on for c in p.checks)} == \
        {"lake", "postgres", "data_factory"}
    assert profile_by_key("connectivity").estimates.deploy >= 600  # Azure Firewall alone is ~10 min


def test_program_and_components_never_import_azure_sdks():
    # The program only declares resources; SDK calls would run during preview and break the mocks.
    import ast

    for folder in ("components", "stacks"):
        for path in (PROJECT_DIR / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(n == "azure" or n.startswith("azure.") for n in names), f"{path}: {names}"
