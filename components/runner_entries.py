"""The runner's entries in the access lists services keep for themselves, where no Azure role reaches.

Cosmos DB's data plane takes its own SQL role assignments, Data Explorer its principal assignments,
Analysis Services its server administrators list: each is an ARM resource or input, so the stack
makes the runner's entry with the service (the PostgreSQL one is components/postgres.py's).
Each service's own names for a principal differ: Kusto and Analysis Services name an application
by its application id (`dataplatform:runner.clientId`), not its object id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import cosmosdb, kusto

from components.roles import assignment_name

if TYPE_CHECKING:
    from components.runner_settings import RunnerSettings
    from components.spec import StackFacts

# Cosmos DB Built-in Data Contributor: reads the account's metadata, reads and writes items (the
# canary upsert). A Cosmos SQL role definition, under the account, not an Azure role.
# https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac#built-in-role-definitions
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
# Viewer answers the checks' queries; Ingestor takes drctl's `.ingest` of the lake's files.
KUSTO_ROLES = ("Viewer", "Ingestor")


def cosmos_data_contributor(name: str, config: StackFacts, *, account: cosmosdb.DatabaseAccount,
                            resource_group_name: pulumi.Input[str], parent: pulumi.Resource) -> None:
    """The runner's Cosmos DB Built-in Data Contributor assignment on the whole account."""
    runner: RunnerSettings | None = config.runner
    if runner is None:
        return
    cosmosdb.SqlResourceSqlRoleAssignment(
        name,
        role_assignment_id=assignment_name(f"{config.stack}/runner/cosmos/{COSMOS_DATA_CONTRIBUTOR}"),
        account_name=account.name,
        resource_group_name=resource_group_name,
        role_definition_id=pulumi.Output.concat(account.id, "/sqlRoleDefinitions/", COSMOS_DATA_CONTRIBUTOR),
        scope=account.id,
        principal_id=runner.object_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def kusto_viewer_and_ingestor(name: str, config: StackFacts, *, cluster: kusto.Cluster,
                              database: kusto.ReadWriteDatabase, database_name: str,
                              resource_group_name: pulumi.Input[str],
                              tenant_id: pulumi.Input[str], parent: pulumi.Resource) -> None:
    """The runner as Viewer and Ingestor of the cluster's database; nothing when a service-principal
    runner has no clientId (the path model then names it)."""
    runner: RunnerSettings | None = config.runner
    principal = runner.kusto_principal() if runner is not None else None
    if principal is None:
        return
    principal_id, principal_type = principal
    for role in KUSTO_ROLES:
        kusto.DatabasePrincipalAssignment(
            f"{name}-{role.lower()}",
            principal_assignment_name=f"drctl-runner-{role.lower()}",
            cluster_name=cluster.name,
            database_name=database_name,
            resource_group_name=resource_group_name,
            principal_id=principal_id,
            principal_type=principal_type,
            role=role,
            tenant_id=tenant_id,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[database]),
        )


def analysis_services_admin(config: StackFacts, tenant_id: pulumi.Input[str]) -> pulumi.Output[str] | None:
    """The runner as an Analysis Services server administrator entry (it calls the refresh API as one)."""
    runner: RunnerSettings | None = config.runner
    if runner is None or runner.analysis_services_admin("x") is None:
        return None
    return pulumi.Output.from_input(tenant_id).apply(lambda tenant: str(runner.analysis_services_admin(tenant)))
