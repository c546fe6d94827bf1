"""Azure AI Search (formerly Cognitive Search): a private, Entra-only search service.

Search has no built-in DR and indexes are not replicated across regions: the index is a derived
copy, not the system of record. The secondary stack declares its own service, and its indexers
rebuild the indexes from the sources (the lake), checked by document counts.
https://learn.microsoft.com/azure/reliability/reliability-ai-search
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import search
from pydantic import Field

from components import naming, roles
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
from smoke_tests.ai_search import CHECKS

TYPE_TOKEN = "dataplatform:ai:Search"

PROFILE = DRProfile(
    key="ai_search",
    title="Azure AI Search service",
    # The seeds file Search as stateless (its sources hold the data), but a new service is empty
    # until its indexes are rebuilt: that rebuild is the rehydrate step.
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the documents in the lake, re-indexed by the service's indexers",
        replay="indexers re-run over the documents that reached the lake after its recovered timestamp",
    ),
    depends_on=(
        Dependency("foundation", "the service lives in the data resource group"),
        Dependency("lake", "indexers rebuild the indexes from documents in the lake", needs_data=True),
    ),
    priority=4,
    # A Standard service provisions in about 15 minutes; a full re-index of a modest corpus
    # takes about half an hour (it scales with document count and enrichment).
    estimates=Estimates(deploy=900, rehydrate=1800, validate=300, replay=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Cognitive Search (Azure AI Search)",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Standard S1",
            uplift_options=(
                "HA design: replicas spread across availability zones",
                "Multiple services in separate regions",
            ),
        ),
    ),
    notes=(
        "No built-in disaster recovery: business continuity comes from a second service in another "
        "region with its indexes kept (or rebuilt) from the same sources.",
        "Two replicas give the read SLA, three the read-write SLA; Azure spreads them over zones where "
        "the region has them.",
    ),
)

# Service names are DNS labels under search.windows.net: no '-' at the ends, none doubled.
SERVICE_NAME = naming.NameRule(
    2, 60, r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*", "lowercase letters, digits and single '-', alphanumeric at both ends"
)


class AiSearchSettings(ServiceSettings):
    # free has no SLA and no private access; basic caps replicas at 3.
    sku: Literal["basic", "standard", "standard2", "standard3", "storage_optimized_l1", "storage_optimized_l2"] = "standard"
    replica_count: int = Field(2, alias="replicaCount", ge=1, le=12)
    partition_count: Literal[1, 2, 3, 4, 6, 12] = Field(1, alias="partitionCount")


@dataclass(frozen=True)
class AiSearchArgs(Placement):
    subscription_id: pulumi.Input[str]
    settings: AiSearchSettings
    lake_account_id: pulumi.Input[str] | None = None


def service_name(prefix: str, suffix: str) -> str:
    return naming.check_name("search service", f"srch-{prefix}-{suffix}", SERVICE_NAME)


class AiSearch(pulumi.ComponentResource):
    def __init__(self, name: str, args: AiSearchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        self.service = search.Service(
            f"{name}-service",
            search_service_name=service_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=search.SkuArgs(name=settings.sku),
            replica_count=settings.replica_count,
            partition_count=settings.partition_count,
            # Entra ID (RBAC) only: API keys stop working. auth_options must then be left unset.
            disable_local_auth=True,
            public_network_access="Disabled",
            # Indexers reach the lake as this identity.
            identity=search.IdentityArgs(type="SystemAssigned"),
            opts=child,
        )
        if args.lake_account_id is not None:
            roles.grant_lake_read(
                f"{name}-lake-read",
                seed=f"{args.prefix}/{args.name_suffix}/search/lake",
                lake_account_id=args.lake_account_id,
                subscription_id=args.subscription_id,
                reader=self.service,
                opts=child,
            )
        self.service_name: pulumi.Output[str] = self.service.name
        self.endpoint: pulumi.Output[str] = pulumi.Output.concat("https://", self.service.name, ".search.windows.net")
        self.register_outputs({"service_name": self.service_name, "endpoint": self.endpoint})


def deploy(context: Platform, settings: AiSearchSettings) -> dict[str, Any]:
    service = AiSearch(
        "ai-search",
        AiSearchArgs.from_context(
            context,
            subscription_id=context.subscription_id,
            settings=settings,
            lake_account_id=context.lake_account_id,
        ),
    )
    # Public access is off: the hub (and the runner's twin) reach the service through Private Link.
    context.open_privately(service, "ai_search", context.data_group, service.service.id, ("searchService", "search"))
    # The checks list indexes and read indexers (Search Service Contributor, which also re-runs the
    # indexers that rebuild them) and query documents (Search Index Data Reader's data action).
    context.grant_runner("ai_search", service.service.id, roles.SEARCH_SERVICE_CONTRIBUTOR,
                         roles.SEARCH_INDEX_DATA_READER)
    return {"aiSearchServiceName": service.service_name, "aiSearchEndpoint": service.endpoint}


def posture(config: StackFacts, settings: AiSearchSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    sku = f"{settings.sku} ({settings.replica_count} replicas, {settings.partition_count} partitions)"
    # Replicas land in different zones by themselves; a second region is the paired stack's business.
    return (Posture(sku=sku, uplift_enabled=(settings.replica_count >= 2, None)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="aiSearch",
    settings=AiSearchSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "standard", "replicaCount": 2, "partitionCount": 1},
    physical_names={"azure-native:search:Service": "searchServiceName"},
    globally_unique=frozenset({"azure-native:search:Service"}),
)
