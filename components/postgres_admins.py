"""The PostgreSQL server's Microsoft Entra administrators: created, or adopted on a geo-restored server.

A geo-restore copies the source server's Entra administrators with its data. Declaring one of them
again as a new resource makes azure-native check for it first and refuse ("already exists"), so on a
restored server an administrator the paired stack also declares is adopted with Pulumi's `import`
resource option instead: its id is predictable (`<server id>/administrators/<objectId>`, the form
ARM returns, AdministratorsMicrosoftEntra_ListByServer), and once in the state a later `pulumi up`
treats it like any other resource (an unchanged import id is not imported again).
https://www.pulumi.com/docs/iac/concepts/resources/options/import/
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pulumi
from pulumi_azure_native import authorization, dbforpostgresql

from components.roles import EntraAdmin

if TYPE_CHECKING:
    from components.spec import Platform


class AdministeredServer(Protocol):
    """What declaring an administrator needs of its server (components/postgres.PostgresServer):
    the component to parent it to, and where the server is."""

    @property
    def server(self) -> dbforpostgresql.Server: ...
    @property
    def tenant_id(self) -> pulumi.Input[str]: ...
    @property
    def resource_group_name(self) -> pulumi.Input[str]: ...

    def arm_id(self) -> str: ...

POSTGRES_KEY = "dataplatform:postgres"
SERVER_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"


def administrator_id(server_id: str, object_id: str) -> str:
    """ARM id of an Entra administrator of the server `server_id`: named by the principal's object id."""
    return f"{server_id}/administrators/{object_id}"


def entra_admin(server: AdministeredServer, admin: EntraAdmin, *, restored: bool, name: str) -> dbforpostgresql.AdministratorsMicrosoftEntra:
    """Declare `admin` as an administrator of `server` (logical name `name`).

    `restored`: the server is a geo-restore and the paired stack declares this same administrator, so
    Azure copied it with the server: it is adopted (imported), never created. Otherwise it is created.
    For an administrator every stack declares (e.g. drctl's own identity), pass `server.restored`;
    for one only this stack may declare, `server.carries_paired_admin(object_id)`.
    """
    opts = pulumi.ResourceOptions(parent=server)  # type: ignore[arg-type]  # a component, as the Protocol cannot say
    # Not in a preview: the engine reads an import at once, and before the failover's geo-restore the
    # administrator does not exist yet ("resource does not exist"), so `pulumi up` run by hand would
    # stop in its own preview. The update that follows imports it.
    if restored and not pulumi.runtime.is_dry_run():
        opts = pulumi.ResourceOptions(parent=server, import_=  # type: ignore[arg-type]
                                      administrator_id(server.arm_id(), admin.object_id))
    # The v3 class for server administrators (API 2025-08-01); `Administrator` is the older alias.
    # The inputs are the restored administrator's own (the paired stack declares the same principal),
    # which an import requires: it fails on any difference.
    return dbforpostgresql.AdministratorsMicrosoftEntra(
        name,
        object_id=admin.object_id,
        principal_name=admin.principal_name,
        principal_type=admin.principal_type,
        tenant_id=server.tenant_id,
        server_name=server.server.name,
        resource_group_name=server.resource_group_name,
        opts=opts,
    )


def server_arm_id(parent: pulumi.Resource, resource_group: str, server_name: str) -> str:
    """A server's ARM id before it exists: the deploying identity's subscription, asked of the provider."""
    subscription = authorization.get_client_config(opts=pulumi.InvokeOptions(parent=parent)).subscription_id
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{SERVER_TYPE}/{server_name}"


def prepare(platform: Platform, settings: Any) -> frozenset[str]:
    """On a stack that geo-restores the paired server: the administrators the paired stack declares."""
    if platform.config.restore.postgres is None:
        return frozenset()
    return paired_admins(platform.project_dir, platform.config.paired_stack)


def paired_admins(project_dir: Path | None, paired_stack: str) -> frozenset[str]:
    """Object ids (lower case) of the Entra administrator the paired stack's file declares for its server."""
    if project_dir is None:
        return frozenset()
    # stacks/ imports the components (its schema): read here, once the program runs.
    from stacks.stack_file import read_stack_file, stack_file

    path = stack_file(project_dir, paired_stack)
    if not path.exists():
        return frozenset()
    settings: Any = read_stack_file(path).get(POSTGRES_KEY) or {}
    admin = settings.get("entraAdmin") if isinstance(settings, dict) else None
    object_id = admin.get("objectId") if isinstance(admin, dict) else None
    return frozenset({object_id.lower()}) if isinstance(object_id, str) else frozenset()
