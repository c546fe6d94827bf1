"""The data lake: one ADLS Gen2 account with the raw, enriched, curated and presentation zones."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from components import naming
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)

TYPE_TOKEN = "dataplatform:data:Lake"

# The zones data moves through, in order; one container (ADLS file system) each.
ZONES = ("raw", "enriched", "curated", "presentation")

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="lake",
        title="Data lake (ADLS Gen2): raw, enriched, curated, presentation",
        stateful=True,
        recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
        smoke_checks=("blob-write-read-delete",),
        data_checks=("container-counts", "bytes", "content-md5"),
        data_recovery=DataRecovery(
            source="the primary account's geo-redundant copy (its RA-GRS secondary endpoint), copied server-side",
            replay="the repository's ingest_events pipeline re-run from the lake's recovered watermark",
            source_uplifts=((0, 0),),
        ),
        depends_on=(
            Dependency("foundation", "the account lives in the data resource group"),
            Dependency("connectivity", "its blob/dfs endpoints resolve through the hub's private DNS zones"),
        ),
        priority=2,
        # Account and containers: about a minute. Rehydration is a server-side copy from the primary's
        # geo-secondary (RA-GRS) endpoint; half an hour covers a modest lake, large ones scale with size.
        estimates=Estimates(deploy=60, rehydrate=1800, validate=300, replay=600, smoke=60),
        seed=(
            SeedFacts(
                service="Storage Account: Azure Data Lake Gen2",
                component_responsibility=Responsibility.MICROSOFT,
                workload_responsibility=Responsibility.CUSTOMER,
                sku_selected="LRS",
                uplift_options=(
                    "Geo-redundant storage (GRS / RA-GRS / GZRS / RA-GZRS): a copy in the paired region",
                ),
            ),
        ),
        local_emulator="azurite",
        notes=(
            "Rehydration needs the primary to have been geo-redundant before the disaster: LRS cannot be "
            "uplifted after the fact.",
            "The account name differs per region: storage names are global DNS labels.",
        ),
    ),
)


@dataclass(frozen=True)
class LakeArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    # LRS is the seeds' selection; a geo option is what makes rehydration from the pair possible.
    redundancy: str = "Standard_LRS"


class Lake(pulumi.ComponentResource):
    """ADLS Gen2 account with one private container per zone."""

    def __init__(self, name: str, args: LakeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.account = storage.StorageAccount(
            f"{name}-account",
            account_name=naming.storage_account_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.redundancy),
            # Hierarchical namespace is what makes the account ADLS Gen2 (directories, POSIX ACLs);
            # it can only be chosen at creation.
            is_hns_enabled=True,
            access_tier="Hot",
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            # No anonymous reads, whatever a container's setting says.
            allow_blob_public_access=False,
            # Entra ID (RBAC) only: account keys and SAS signed with them stop working.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            # Clients come through the hub's private endpoints (blob, dfs), never the internet.
            public_network_access="Disabled",
            opts=child,
        )

        self.containers: dict[str, storage.BlobContainer] = {
            zone: storage.BlobContainer(
                f"{name}-{zone}",
                container_name=zone,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                public_access="None",
                opts=child,
            )
            for zone in ZONES
        }

        self.account_name: pulumi.Output[str] = self.account.name
        self.account_id: pulumi.Output[str] = self.account.id
        # Public-cloud endpoint suffixes. Built from the name so the values are known at preview time
        # (the ADF linked service needs the dfs URL); they equal the account's primary_endpoints.
        self.blob_endpoint: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.account.name, ".blob.core.windows.net/"
        )
        self.dfs_endpoint: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.account.name, ".dfs.core.windows.net/"
        )
        self.container_names: list[str] = list(ZONES)
        self.register_outputs(
            {
                "account_name": self.account_name,
                "account_id": self.account_id,
                "blob_endpoint": self.blob_endpoint,
                "dfs_endpoint": self.dfs_endpoint,
                "container_names": self.container_names,
            }
        )
