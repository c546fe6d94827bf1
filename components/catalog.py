"""The SaaS and Microsoft-recovered services the platform relies on but does not deploy.

The seed tables list them beside the deployed components: Entra ID, Azure DevOps, the subscription
and management-group hierarchy, Azure Monitor, Power BI, the Fabric experiences and others. There
is nothing to redeploy (RecoveryAction.SAAS), but recovery still waits for them: each gets a
readiness check named after the API that proves it is available, or, where only a person can
confirm (a status page, an admin centre), no check at all, so the plan gives it a manual gate.
Stacks choose which of these they rely on with `dataplatform:saas` (stacks/schema.py).

Services that this project deploys are not here: Azure DNS (publicDns service), Microsoft Purview
(purview service), Microsoft Fabric: Data Factory (the data_factory component).
"""

from __future__ import annotations

from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from smoke_tests.catalog import READINESS

MS, CUSTOMER = Responsibility.MICROSOFT, Responsibility.CUSTOMER
COVERED = ("N/A: covered as part of the Azure service",)
FABRIC_GEO = ("Manual geo-backup, or geo-replication for active/active setups across regions",)
# Nothing is deployed; the readiness check (or a person's confirmation) is given five minutes.
SAAS_ESTIMATES = Estimates(deploy=0, smoke=300)

ENTRA = Dependency("entra_id", "signing in to the service needs Microsoft Entra ID")
SUBSCRIPTION = Dependency("subscriptions", "the service is scoped to the platform's subscription")
CAPACITY = Dependency("fabric_capacity", "Fabric items are reachable once workspaces sit on a running capacity")
ONELAKE = Dependency("fabric_onelake", "the item's tables live in OneLake")


def _saas(
    key: str,
    service: str,
    *,
    stateful: bool,
    responsibility: tuple[Responsibility, Responsibility],
    sku: str,
    uplift: tuple[str, ...],
    depends_on: tuple[Dependency, ...] = (),
    notes: tuple[str, ...] = (),
) -> DRProfile:
    profile = DRProfile(
        key=key,
        title=service,
        stateful=stateful,
        recovery_action=RecoveryAction.SAAS,
        checks=READINESS.get(key, ()),
        depends_on=depends_on,
        priority=0,
        estimates=SAAS_ESTIMATES,
        seed=(
            SeedFacts(
                service=service,
                component_responsibility=responsibility[0],
                workload_responsibility=responsibility[1],
                sku_selected=sku,
                uplift_options=uplift,
            ),
        ),
        notes=notes,
    )
    return profile


# One entry per seed row; kept as a table (fmt: off) so each service reads in a few lines.
# fmt: off
CATALOG: tuple[DRProfile, ...] = (
    # Stateful foundational components.
    _saas(
        "entra_id", "Microsoft Entra ID including role entitlements", stateful=True, responsibility=(MS, MS),
        sku="Premium P1", uplift=("N/A: Microsoft Entra resiliency is part of its SaaS offering",),
        notes=("Microsoft Entra ID's backup authentication service keeps sign-ins working through outages.",),
    ),
    _saas(
        "azure_devops", "Azure DevOps", stateful=True, responsibility=(MS, MS), sku="DevOps Services",
        uplift=("N/A: service and data resiliency is part of the SaaS offering",), depends_on=(ENTRA,),
        notes=(
            "DevOps Server (on-premises) remains the customer's to recover.",
            "Third-party tools in the toolchain (SonarCloud, Artifactory, Jenkins) and IaaS build VMs "
            "remain the customer's to recover.",
        ),
    ),
    _saas(
        "github", "GitHub", stateful=True, responsibility=(MS, MS), sku="GitHub Enterprise Cloud",
        uplift=(
            "Back up repositories for disaster recovery purposes",
            "Follow the GitHub Codespaces disaster recovery guidance for a full-region outage",
        ),
        notes=(
            "GitHub Enterprise Server (self-hosted) remains the customer's to back up and restore.",
            "Third-party integrations and self-hosted Actions runners remain the customer's to recover.",
        ),
    ),
    # Stateless foundational components.
    _saas(
        "subscriptions", "Subscriptions", stateful=False, responsibility=(MS, MS), sku="N/A", uplift=COVERED, depends_on=(ENTRA,),
    ),
    _saas(
        "management_groups", "Management Groups", stateful=False, responsibility=(MS, MS), sku="N/A",
        uplift=COVERED, depends_on=(ENTRA,),
    ),
    _saas(
        "azure_monitor", "Azure Monitor", stateful=False, responsibility=(MS, MS), sku="N/A", uplift=COVERED, depends_on=(SUBSCRIPTION,),
        notes=("The stack's own Log Analytics workspace is the foundation's, redeployed per region.",),
    ),
    _saas(
        "cost_management", "Azure Cost Management", stateful=False, responsibility=(MS, MS), sku="N/A",
        uplift=COVERED, depends_on=(SUBSCRIPTION,),
    ),
    _saas(
        "defender_for_cloud", "Microsoft Defender for Cloud", stateful=False, responsibility=(MS, MS), sku="N/A",
        uplift=COVERED, depends_on=(SUBSCRIPTION,),
    ),
    # Stateful data platform services.
    _saas(
        "dataverse", "Dataverse", stateful=True, responsibility=(MS, MS), sku="N/A",
        uplift=(
            "Built-in DR with Azure availability zones for in-region resilience",
            "Self-service cross-region failover for production environments",
        ),
        # The environment's region is shown in the Power Platform admin center: a person confirms.
        depends_on=(ENTRA,),
        notes=("Business continuity for Dynamics 365 and Power Platform is described in their BCDR guidance.",),
    ),
    _saas(
        "power_bi", "Power BI", stateful=True, responsibility=(MS, MS), sku="Power BI Pro",
        uplift=("N/A: Power BI's resiliency is part of its SaaS offering",), depends_on=(ENTRA,),
        notes=(
            "Power BI resides in the Office 365 tenancy, not in Azure.",
            "Availability zones protect it from datacenter failures; on a regional failure Microsoft fails "
            "it over to another region, usually in the same geography.",
        ),
    ),
    _saas(
        "fabric_onelake", "Microsoft Fabric: OneLake", stateful=True, responsibility=(MS, CUSTOMER),
        sku="Fabric Capacity", uplift=("Enable BCDR for the Fabric capacity",), depends_on=(ENTRA, CAPACITY),
        notes=(
            "OneLake data is replicated to the paired region only when the capacity's Disaster Recovery "
            "setting is on (the fabricCapacity service records the intended value).",
        ),
    ),
    _saas(
        "fabric_sql_database", "Microsoft Fabric: SQL database in Fabric", stateful=True,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity", uplift=FABRIC_GEO, depends_on=(CAPACITY,),
        notes=("Geo-redundancy must be configured manually.",),
    ),
    _saas(
        "fabric_data_engineering", "Microsoft Fabric: Data Engineering", stateful=True,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity (Memory Optimized SKU)",
        uplift=("Back up notebooks, Spark job definitions and Lakehouse data to a workspace in another region",), depends_on=(CAPACITY, ONELAKE),
        notes=("Notebooks are redeployed through CI/CD.",),
    ),
    _saas(
        "fabric_data_warehouse", "Microsoft Fabric: Data Warehouse", stateful=True,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity", uplift=FABRIC_GEO, depends_on=(CAPACITY, ONELAKE),
        notes=(
            "For cross-region DR with automated continuity, Microsoft recommends two warehouses in two "
            "regions kept at code and data parity by regular deployments and ingestion to both.",
        ),
    ),
    _saas(
        "fabric_sql_analytics_endpoint", "Microsoft Fabric: SQL Analytics Endpoint", stateful=True,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity",
        uplift=(
            "Enable the DR capacity setting for cross-region replication of Lakehouse and Warehouse data",
            "Redeploy SQL objects (views, stored procedures, security roles) through CI/CD in the DR region",
            "Refresh the endpoint's schema with the metadata sync API or the UI after failover",
        ), depends_on=(CAPACITY, ONELAKE),
        notes=("The endpoint is read-only over the Delta tables stored in OneLake.",),
    ),
    _saas(
        "fabric_mirrored_database", "Microsoft Fabric: Mirrored Database", stateful=True,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity", uplift=FABRIC_GEO, depends_on=(CAPACITY,),
        notes=(
            "Mirrored databases of the primary region stay unavailable and their settings are not "
            "replicated: recreate the mirror in a workspace of another region.",
        ),
    ),
    # Stateless data platform services.
    _saas(
        "ai_foundry", "Azure AI Foundry", stateful=False, responsibility=(MS, CUSTOMER), sku="Pay As You Go",
        uplift=("Extra measures to reinforce the model infrastructure of Azure OpenAI applications needing "
                "strong resiliency",), depends_on=(ENTRA,),
        notes=("Customer-enabled disaster recovery guidance for Azure AI Foundry applies.",),
    ),
    _saas(
        "fabric_real_time_intelligence", "Microsoft Fabric: Real-Time Intelligence", stateful=False,
        responsibility=(MS, CUSTOMER), sku="Fabric Capacity",
        uplift=("Two or more KQL databases in different regions, with data and policies kept in sync",), depends_on=(CAPACITY,),
    ),
    _saas(
        "fabric_data_science", "Microsoft Fabric: Data Science", stateful=False, responsibility=(MS, CUSTOMER),
        sku="Fabric Capacity",
        uplift=("Workspaces in two regions: copy the data and import notebooks, experiments and models into "
                "the secondary",), depends_on=(CAPACITY, ONELAKE),
        notes=("No built-in cross-region replication: resources are copied and recreated manually.",),
    ),
    # The seeds' key addition for an IaaS footprint (no row of its own in the tables).
    _saas(
        "site_recovery", "Azure Site Recovery", stateful=True, responsibility=(MS, CUSTOMER),
        sku="N/A (for the IaaS footprint)",
        uplift=("Replicate Azure VMs to the paired region and fail over with recovery plans",), depends_on=(SUBSCRIPTION,),
        notes=(
            "IaaS: Site Recovery orchestrates VM replication between regions. The sqlServerVm service "
            "declares its vault and replication policy in the target region.",
        ),
    ),
)
# fmt: on

_BY_KEY = {profile.key: profile for profile in CATALOG}


def catalog_profile(key: str) -> DRProfile:
    """The catalog profile for `key` (e.g. "entra_id"); KeyError names the known keys."""
    if key not in _BY_KEY:
        raise KeyError(f"no catalog service '{key}' (known: {', '.join(_BY_KEY)})")
    return _BY_KEY[key]
