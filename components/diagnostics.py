"""Diagnostic settings: every resource whose type has resource logs sends them, and its exportable
metrics, to the stack's Log Analytics workspace.

`SUPPORTED` is the one list of the types the platform deploys that take a diagnostic setting, and
what each sends. It follows Azure Monitor's documented lists: resource log categories per type
(https://learn.microsoft.com/azure/azure-monitor/reference/logs-index) and metrics exportable
through diagnostic settings (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/metrics-index).
The program declares the settings from it (`send_to_workspace`), and the security baseline
(orchestrator/program/graph_rules.py) holds every resource of a listed type to it.

Types the platform deploys and leaves out have no resource logs (private endpoints and their DNS
zones, public DNS zones, route tables, firewall policies, role assignments, resource groups, App
Service plans, child resources such as databases of a Kusto cluster or Event Hubs of a namespace),
or already write to the workspace (workspace-based Application Insights: a setting would
duplicate its telemetry there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor

# The Azure name of every setting the program declares (one per resource or storage service).
SETTING_NAME = "platform-log-analytics"
ALL_LOGS = "allLogs"  # the category group of every resource log category of a type
ALL_METRICS = "AllMetrics"
# An extension resource of its target: no location of its own.
SUBRESOURCES = frozenset({"azure-native:monitor:DiagnosticSetting"})


@dataclass(frozen=True)
class Sends:
    """What one resource's diagnostic setting sends: its resource logs (the allLogs group), and these
    metric categories."""

    logs: bool = True
    metrics: tuple[str, ...] = (ALL_METRICS,)
    # Resource-specific tables instead of AzureDiagnostics: where the service's own reports and
    # workbooks read them (Azure Backup reports, Azure Firewall's structured logs).
    dedicated: bool = False
    # Child resources that take their own setting, by the path after the resource's id.
    services: Mapping[str, Sends] = field(default_factory=dict)
    # The service's own component declares the setting, because whether the resource takes one
    # depends on its settings (a Databricks workspace on the Standard tier has no diagnostic logs).
    by_component: bool = False

    @property
    def own(self) -> bool:
        """Whether the resource itself (not only its children) takes a setting."""
        return self.logs or bool(self.metrics)


# Storage accounts log per service (blob, queue, table, file), under the account's id; the account
# itself exports only its transaction metrics.
_STORAGE_SERVICE = Sends(metrics=("Transaction",))

SUPPORTED: dict[str, Sends] = {f"azure-native:{token}": sends for token, sends in {
    "analysisservices:ServerDetails": Sends(),
    "cognitiveservices:Account": Sends(),
    "containerregistry:Registry": Sends(),
    # Cosmos DB exports its metrics as the Requests category.
    "cosmosdb:DatabaseAccount": Sends(metrics=("Requests",)),
    # No platform metrics; diagnostic logs need the Premium tier.
    "databricks:Workspace": Sends(metrics=(), by_component=True),
    "datafactory:Factory": Sends(),
    "datashare:Account": Sends(),
    "dbformysql:Server": Sends(),
    "dbforpostgresql:Server": Sends(),
    "eventhub:Namespace": Sends(),
    "iothub:IotHubResource": Sends(),
    "keyvault:Vault": Sends(),
    "kusto:Cluster": Sends(),
    "machinelearningservices:Workspace": Sends(),
    "network:AzureFirewall": Sends(dedicated=True),
    "network:ExpressRouteCircuit": Sends(),
    "network:LoadBalancer": Sends(),
    "network:NetworkSecurityGroup": Sends(metrics=()),
    "network:PublicIPAddress": Sends(),
    "network:VirtualNetwork": Sends(),
    "network:VirtualNetworkGateway": Sends(),
    "operationalinsights:Workspace": Sends(),
    "purview:Account": Sends(),
    "recoveryservices:Vault": Sends(dedicated=True),
    "search:Service": Sends(),
    # A database's metrics come in three categories, not AllMetrics.
    "sql:Database": Sends(metrics=("Basic", "InstanceAndAppAdvanced", "WorkloadManagement")),
    "sql:ManagedInstance": Sends(),
    # A logical server has no setting of its own: its audit (SQLSecurityAuditEvents) reaches Azure
    # Monitor through the setting of its master database.
    # https://learn.microsoft.com/azure/azure-sql/database/auditing-setup#audit-to-log-analytics-destination
    "sql:Server": Sends(logs=False, metrics=(), services={"databases/master": Sends(metrics=())}),
    "storage:StorageAccount": Sends(logs=False, metrics=("Transaction",), services={
        f"{service}Services/default": _STORAGE_SERVICE for service in ("blob", "queue", "table", "file")}),
    "streamanalytics:StreamingJob": Sends(),
    "synapse:BigDataPool": Sends(),
    "synapse:SqlPool": Sends(),
    "synapse:Workspace": Sends(),
    "trafficmanager:Profile": Sends(),
    "web:WebApp": Sends(),
}.items()}


def setting_args(sends: Sends, resource_uri: pulumi.Input[str], workspace_id: pulumi.Input[str]) -> dict:
    """The inputs of a monitor.DiagnosticSetting that sends what `sends` says to `workspace_id`."""
    return {
        "name": SETTING_NAME,
        "resource_uri": resource_uri,
        "workspace_id": workspace_id,
        "logs": [monitor.DiagnosticsLogSettingsArgs(category_group=ALL_LOGS, enabled=True)] if sends.logs else None,
        "metrics": [monitor.DiagnosticsMetricSettingsArgs(category=c, enabled=True) for c in sends.metrics] or None,
        "log_analytics_destination_type": "Dedicated" if sends.dedicated else None,
    }


def send(name: str, resource: pulumi.CustomResource, type_token: str, workspace_id: pulumi.Input[str]) -> list[monitor.DiagnosticSetting]:
    """Declare the diagnostic settings of `resource` (a `type_token` resource named `name` in the
    program), children of it: they belong to its component and go when it goes."""
    sends = SUPPORTED[type_token]
    targets: list[tuple[str, pulumi.Input[str], Sends]] = [(f"{name}-diagnostics", resource.id, sends)] if sends.own else []
    targets += [(f"{name}-diagnostics-{path.split('/')[0]}", pulumi.Output.concat(resource.id, "/", path), child)
                for path, child in sends.services.items()]
    return [monitor.DiagnosticSetting(logical, **setting_args(what, uri, workspace_id),
                                      opts=pulumi.ResourceOptions(parent=resource))
            for logical, uri, what in targets]


def send_to_workspace(resources: Iterable[tuple[str, str, pulumi.CustomResource]],
                      workspace_id: pulumi.Input[str] | None) -> None:
    """Diagnostic settings for every (type token, logical name, resource) of a listed type whose
    component does not declare its own; none without a workspace (a program with no foundation)."""
    if workspace_id is None:
        return
    for type_token, name, resource in list(resources):
        sends = SUPPORTED.get(type_token)
        if sends is not None and not sends.by_component:
            send(name, resource, type_token, workspace_id)
