"""Microsoft Purview: a governance account (Data Map) in the stack's region, closed to the internet.

Purview has no automated BCDR: Microsoft recovers the service, the customer recovers the Data Map
(https://learn.microsoft.com/purview/concept-best-practices-migration). So the secondary stack
declares its own, empty account; sources are re-registered and re-scanned there (the plan's replay
step), and glossary terms and collections come back from the customer's exports through the APIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import purview

from components import naming
from components.placement import Placement
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.purview import CHECKS

TYPE_TOKEN = "dataplatform:governance:Purview"

# Purview account names are DNS labels under purview.azure.com: 3-63 letters, digits and '-',
# a letter first and a letter or digit last.
PURVIEW_NAME = naming.NameRule(
    3, 63, r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits and '-', a letter first, alphanumeric last"
)

PROFILE = DRProfile(
    key="purview",
    title="Microsoft Purview account (Data Map)",
    # The seeds list Purview with the stateful services: the Data Map holds scanned metadata,
    # lineage, glossary and collections.
    stateful=True,
    # Nothing to restore from: the account is redeployed and its metadata comes back by
    # re-registering the sources and scanning them again (the replay step).
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source=(
            "the customer's exports of the Data Map (glossary, collections, role assignments) and its "
            "sources"
        ),
        replay="the sources re-registered (the lake first) and scanned again",
    ),
    depends_on=(
        Dependency("foundation", "the account lives in the data resource group"),
        Dependency("lake", "the lake is re-registered and re-scanned as a Data Map source"),
    ),
    priority=5,
    # Account creation provisions the managed Data Map: about 10-15 minutes in practice. A full
    # scan of a lake of moderate size is measured in an hour; both are drill-measured figures to refine.
    estimates=Estimates(deploy=900, replay=3600, smoke=120),
    seed=(
        SeedFacts(
            service="Microsoft Purview",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="N/A",
            uplift_options=("N/A: no automated BCDR; the customer backs up and restores the Data Map",),
        ),
    ),
    notes=(
        "Purview does not support automated BCDR: the customer is responsible for backup and restore "
        "of the Data Map (seed tables).",
        "Recovery: redeploy the account, re-register the sources (the lake first) and re-scan them; "
        "re-import glossary terms, collections and role assignments from the customer's exports.",
        "Data check: asset counts per collection against the last export of the primary's Data Map.",
    ),
)


class PurviewSettings(ServiceSettings):
    # Standard is the production SKU; Free is the API's limited tier.
    sku: Literal["Standard", "Free"] = "Standard"


@dataclass(frozen=True)
class PurviewAccountArgs(Placement):
    sku: str = "Standard"


def account_name(prefix: str, suffix: str) -> str:
    return naming.check_name("purview account", f"{prefix}-purview-{suffix}", PURVIEW_NAME)


def managed_group_name(prefix: str, suffix: str) -> str:
    # Purview creates this group for its managed resources; naming it keeps it per stack and readable.
    return naming.check_name("resource group", f"rg-{prefix}-purview-managed-{suffix}")


class PurviewAccount(pulumi.ComponentResource):
    def __init__(self, name: str, args: PurviewAccountArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.account = purview.Account(
            f"{name}-account",
            account_name=account_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=purview.AccountSkuArgs(name=args.sku),
            # Scans authenticate to sources as the account's own identity: no stored credentials.
            identity=purview.IdentityArgs(type=purview.ManagedIdentityType.SYSTEM_ASSIGNED),
            managed_resource_group_name=managed_group_name(args.prefix, args.name_suffix),
            # Portal and APIs only through private endpoints; the managed resources likewise.
            public_network_access=purview.PublicNetworkAccess.DISABLED,
            managed_resources_public_network_access=purview.PublicNetworkAccess.DISABLED,
            # The managed Event Hubs namespace (Atlas Kafka notifications) is a public endpoint that
            # nothing here consumes.
            managed_event_hub_state=purview.ManagedEventHubState.DISABLED,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.account_name: pulumi.Output[str] = self.account.name
        self.account_id: pulumi.Output[str] = self.account.id
        self.register_outputs({"account_name": self.account_name, "account_id": self.account_id})


def deploy(context: Platform, settings: PurviewSettings) -> dict[str, Any]:
    account = PurviewAccount(
        "purview",
        PurviewAccountArgs.from_context(context, sku=settings.sku),
    )
    # The APIs (account: collections, Data Map) and the governance portal, each its own sub-resource.
    context.open_privately(account, "purview", context.data_group, account.account.id,
                           ("account", "purview"), ("portal", "purviewstudio"))
    return {"purviewAccountName": account.account_name, "purviewAccountId": account.account_id}


def posture(config: StackFacts, settings: PurviewSettings | None) -> tuple[Posture, ...]:
    # The seed's only uplift is "N/A": there is nothing in config to turn on.
    return (Posture(sku=settings.sku if settings else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="purview",
    settings=PurviewSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "Standard"},
    physical_names={"azure-native:purview:Account": "accountName"},
    globally_unique=frozenset({"azure-native:purview:Account"}),
)
