"""Data Factory's way to the lake: a managed virtual network, an integration runtime inside it, and
managed private endpoints to the lake account's `blob` and `dfs` sub-resources.

The lake refuses public traffic (publicNetworkAccess Disabled), so the AutoResolve integration
runtime, which runs on shared public compute, cannot read or write it: the copies run on a Managed
integration runtime in the factory's managed virtual network, which reaches the account through
managed private endpoints.
https://learn.microsoft.com/azure/data-factory/managed-virtual-network-private-endpoint

A managed private endpoint's connection starts Pending on the storage account (the REST spec's
ManagedPrivateEndpoints_Get example shows it so). The program cannot approve it: the connection's
name on the account is chosen by the service when it provisions the endpoint, and azure-native's
storage:PrivateEndpointConnection needs that name up front. drctl approves it before it runs a
pipeline through it (orchestrator/targets/azure/stores/factory_endpoints.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import datafactory, resources

# ADF Studio and the REST examples name a factory's managed virtual network "default"; the
# integration runtime and the managed private endpoints refer to it by this name.
MANAGED_VNET = "default"
INTEGRATION_RUNTIME = "managed-vnet-ir"
# Lake sub-resource (private link group id) -> the managed private endpoint to it. The linked
# service speaks to the dfs endpoint; Copy reads and writes some blob properties through blob.
LAKE_ENDPOINTS = {"blob": "lake-blob", "dfs": "lake-dfs"}
DATAFACTORY_API_VERSION = "2018-06-01"


@dataclass(frozen=True)
class FactoryNetwork:
    managed_vnet: resources.Resource
    runtime: datafactory.IntegrationRuntime
    endpoints: tuple[datafactory.ManagedPrivateEndpoint, ...]

    @property
    def runtime_reference(self) -> datafactory.IntegrationRuntimeReferenceArgs:
        """What a linked service's `connectVia` names to run its activities on this runtime."""
        return datafactory.IntegrationRuntimeReferenceArgs(reference_name=INTEGRATION_RUNTIME,
                                                            type="IntegrationRuntimeReference")


def managed_network(name: str, factory: datafactory.Factory, resource_group_name: pulumi.Input[str],
                    location: str, lake_account_id: pulumi.Input[str], parent: pulumi.Resource) -> FactoryNetwork:
    # azure-native has no datafactory:ManagedVirtualNetwork (the API has no DELETE for it:
    # github.com/pulumi/pulumi-azure-native/issues/896), so it is the generic ARM resource with
    # the body of the spec's ManagedVirtualNetworks_Create example. Deleting the factory deletes
    # it; Pulumi must not try a DELETE the service does not offer.
    vnet = resources.Resource(
        f"{name}-managed-vnet",
        resource_provider_namespace="Microsoft.DataFactory",
        parent_resource_path=factory.name.apply(lambda factory_name: f"factories/{factory_name}"),
        resource_type="managedVirtualNetworks",
        # The SDK's keyword for the Azure name (its `resource_name` is the Pulumi name).
        resource_name_=MANAGED_VNET,
        resource_group_name=resource_group_name,
        api_version=DATAFACTORY_API_VERSION,
        properties={},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[factory], retain_on_delete=True),
    )
    after_vnet = pulumi.ResourceOptions(parent=parent, depends_on=[vnet])
    runtime = datafactory.IntegrationRuntime(
        f"{name}-ir",
        integration_runtime_name=INTEGRATION_RUNTIME,
        factory_name=factory.name,
        resource_group_name=resource_group_name,
        properties=datafactory.ManagedIntegrationRuntimeArgs(
            type="Managed",
            managed_virtual_network=datafactory.ManagedVirtualNetworkReferenceArgs(
                reference_name=MANAGED_VNET, type="ManagedVirtualNetworkReference"),
            # The stack's region rather than AutoResolve: the copies' compute stays beside the lake
            # it reads and writes, in the region that is up.
            compute_properties=datafactory.IntegrationRuntimeComputePropertiesArgs(location=location),
        ),
        opts=after_vnet,
    )
    endpoints = tuple(
        datafactory.ManagedPrivateEndpoint(
            f"{name}-mpe-{endpoint}",
            managed_private_endpoint_name=endpoint,
            managed_virtual_network_name=MANAGED_VNET,
            factory_name=factory.name,
            resource_group_name=resource_group_name,
            properties=datafactory.ManagedPrivateEndpointArgs(private_link_resource_id=lake_account_id,
                                                              group_id=group_id),
            opts=after_vnet,
        )
        for group_id, endpoint in LAKE_ENDPOINTS.items()
    )
    return FactoryNetwork(managed_vnet=vnet, runtime=runtime, endpoints=endpoints)
