"""SQL auditing to Azure Monitor: an Azure SQL logical server's and a Synapse workspace's audit,
which their diagnostic settings (components/diagnostics.py) carry to the stack's workspace.

Auditing is on at the server (or workspace), so it covers every database and pool, and sends its
records to Azure Monitor only (no storage account, so no key): the records arrive as the
SQLSecurityAuditEvents category of the diagnostic setting of the server's master database, or of
each dedicated SQL pool.
https://learn.microsoft.com/azure/azure-sql/database/auditing-setup#audit-to-log-analytics-destination
A managed instance is audited by a server audit made in T-SQL (CREATE SERVER AUDIT ... TO
EXTERNAL_MONITOR), which ARM does not declare (orchestrator/program/baseline.py, DECLINED).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import resources, sql

# The one auditing policy a server or workspace has, by Azure's name.
POLICY_NAME = "default"
# Microsoft.Synapse/workspaces/auditingSettings: azure-native 3.x has no class for it.
SYNAPSE_API_VERSION = "2021-06-01"


def audit_sql_server(name: str, *, server_name: pulumi.Input[str], resource_group_name: pulumi.Input[str],
                     opts: pulumi.ResourceOptions) -> sql.ServerBlobAuditingPolicy:
    return sql.ServerBlobAuditingPolicy(
        f"{name}-auditing",
        blob_auditing_policy_name=POLICY_NAME,
        server_name=server_name,
        resource_group_name=resource_group_name,
        state=sql.BlobAuditingPolicyState.ENABLED,
        is_azure_monitor_target_enabled=True,
        opts=opts,
    )


def audit_synapse_workspace(name: str, *, workspace_name: pulumi.Output[str], resource_group_name: pulumi.Input[str],
                            opts: pulumi.ResourceOptions) -> resources.Resource:
    return resources.Resource(
        f"{name}-auditing",
        resource_provider_namespace="Microsoft.Synapse",
        parent_resource_path=workspace_name.apply(lambda workspace: f"workspaces/{workspace}"),
        resource_type="auditingSettings",
        # The SDK's keyword for the Azure name (its `resource_name` is the Pulumi name).
        resource_name_=POLICY_NAME,
        resource_group_name=resource_group_name,
        api_version=SYNAPSE_API_VERSION,
        properties={"state": "Enabled", "isAzureMonitorTargetEnabled": True},
        opts=opts,
    )
