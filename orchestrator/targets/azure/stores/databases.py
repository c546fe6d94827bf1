"""The databases on Azure: what the recovery of each store looks like to the management plane.

- Azure SQL: the geo-restore is the deploy step (`create_mode: Recovery` from the paired server's
  recoverable database). Its data timestamp, the RPO watermark, is the recoverable database's
  lastAvailableBackupDate: the newest geo-replicated backup the restore could use. The restored
  database must then report status Online (smoke_tests/sql_database.py).
- PostgreSQL flexible server: the geo-restore is also the deploy step (stack config
  `restore.postgres`); the server must report state Ready, then validation is by SQL with the
  same code as locally (data/postgres/recovery.py validate_postgres, smoke_tests/postgres.py), signed in
  with an Entra token as the password.
- Cosmos DB: service-managed failover moves the write region by itself; drctl checks that the
  recovery region now has failover priority 0, and otherwise changes the priorities itself (the
  customer-initiated failover), https://learn.microsoft.com/azure/cosmos-db/how-to-manage-database-account
- Event Hubs Geo-DR: the alias's failover is its smoke check (smoke_tests/event_hubs_geo_dr.py).

Each function takes the management client it needs (AzureSession gives them), returns evidence,
raises TransientError for "not yet" and PermanentError for "cannot".
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from orchestrator.data.errors import pg_errors
from orchestrator.data.ingest import PIPELINE
from orchestrator.data.rows import one_row
from orchestrator.model import PermanentError, TransientError
from orchestrator.redact import REDACTOR
from orchestrator.targets.azure.errors import call, wait_for
from orchestrator.targets.azure.stores.lake import iso_z
from orchestrator.targets.azure.tls import postgres_tls

POSTGRES_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
# States on their way to Ready: worth waiting for. Anything else is a verdict.
POSTGRES_COMING_READY = frozenset({"Provisioning", "Starting", "Updating", "Restarting"})
FAILOVER_TIMEOUT_S = 1800.0


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def norm_region(name: str | None) -> str:
    """ARM's two spellings of a region ("South Central US", "southcentralus") made comparable."""
    return (name or "").lower().replace(" ", "")


# -- Azure SQL ---------------------------------------------------------------------------------------
def sql_recovery_point(sql: Any, resource_group: str, server: str, database: str) -> dict:
    """The paired server's recoverable database: its last available geo-replicated backup is the
    data timestamp a geo-restore recovers to."""
    what = f"recoverable database {server}/{database}"
    recoverable = call(what, sql.recoverable_databases.get, resource_group, server, database)
    last_backup = getattr(recoverable, "last_available_backup_date", None)
    if last_backup is None:
        raise PermanentError(f"{what} has no lastAvailableBackupDate: no geo-replicated backup to restore from",
                             {"recoverable_database_id": recoverable.id})
    return {"recoverable_database_id": recoverable.id, "last_available_backup_date": iso_z(last_backup),
            "edition": recoverable.edition, "service_level_objective": recoverable.service_level_objective}


# -- PostgreSQL flexible server ---------------------------------------------------------------------
def postgres_server_ready(postgres: Any, resource_group: str, server: str) -> dict:
    what = f"PostgreSQL server {server}"
    found = call(what, postgres.servers.get, resource_group, server)
    state = _text(found.state)
    auth = getattr(found, "auth_config", None)
    backup = getattr(found, "backup", None)
    evidence = {"server_id": found.id, "state": state, "location": found.location, "version": _text(found.version),
                "fqdn": found.fully_qualified_domain_name,
                "entra_auth": _text(getattr(auth, "active_directory_auth", None)),
                "geo_redundant_backup": _text(getattr(backup, "geo_redundant_backup", None))}
    if state == "Ready":
        return evidence
    if state in POSTGRES_COMING_READY:
        raise TransientError(f"{what} is {state}, not Ready yet")
    raise PermanentError(f"{what} is {state}, not Ready", evidence)


def postgres_admins(postgres: Any, resource_group: str, server: str) -> list[dict]:
    """The server's Microsoft Entra administrators (AdministratorsMicrosoftEntra_ListByServer)."""
    what = f"Entra administrators of PostgreSQL server {server}"
    found = call(what, lambda: list(postgres.administrators_microsoft_entra.list_by_server(resource_group, server)))
    return [{"id": admin.id, "object_id": admin.object_id, "principal_name": admin.principal_name,
             "principal_type": _text(admin.principal_type)} for admin in found]


def require_admin(admins: list[dict], object_id: str, principal_name: str, server: str) -> dict:
    """The configured administrator among the server's, as Entra sign-in needs it: the same object id,
    registered under the name drctl signs in with. Anything else is PermanentError (no retry fixes it)."""
    evidence = {"configured": {"object_id": object_id, "principal_name": principal_name}, "administrators": admins}
    mine = [a for a in admins if str(a["object_id"]).lower() == object_id.lower()]
    if not mine:
        raise PermanentError(
            f"PostgreSQL server {server} has no Entra administrator {principal_name} ({object_id}): nobody can "
            "sign in as postgres.entraAdmin; add it (pulumi up) or fix the stack's entraAdmin", evidence)
    if mine[0]["principal_name"] != principal_name:
        raise PermanentError(
            f"PostgreSQL server {server} registers administrator {object_id} as {mine[0]['principal_name']!r}, "
            f"not {principal_name!r}: Entra sign-in uses the registered name", evidence)
    return mine[0]


def entra_token(credential: Any, scope: str = POSTGRES_SCOPE) -> str:
    """An Entra access token for PostgreSQL, registered as a secret before anyone can print it."""
    token = call("Entra token for PostgreSQL", credential.get_token, scope).token
    REDACTOR.add_secret(token)
    return token


def postgres_conninfo(fqdn: str, database: str, user: str, token: str, port: int = 5432) -> str:
    """libpq connection string for Entra sign-in: the principal's name as user, the token as
    password, TLS verified against Azure's root certificates (Azure refuses plain connections; a
    certificate not Azure's is refused here). The token is a secret: registered with the redactor,
    so the string never reaches evidence in clear."""
    if not (fqdn and database and user and token):
        raise PermanentError("PostgreSQL sign-in needs the server's FQDN, a database, the Entra principal name and a token")
    REDACTOR.add_secret(token)
    return make_conninfo(host=fqdn, port=port, dbname=database, user=user, password=token, connect_timeout=15,
                         **postgres_tls())


# -- Cosmos DB ---------------------------------------------------------------------------------------
def _priorities(account: Any) -> dict[str, tuple[str, int]]:
    """normalised region -> (name as the account spells it, failover priority)."""
    policies = getattr(account, "failover_policies", None) or getattr(account, "locations", None) or []
    return {norm_region(p.location_name): (p.location_name, int(p.failover_priority)) for p in policies}


def cosmos_failover(cosmos: Any, resource_group: str, account_name: str, region: str, *,
                    timeout_s: float = FAILOVER_TIMEOUT_S, polling_interval: float | None = None) -> dict:
    """Make `region` the account's write region (failover priority 0), unless it already is."""
    what = f"Cosmos DB account {account_name}"
    account = call(what, cosmos.database_accounts.get, resource_group, account_name)
    before = _priorities(account)
    evidence: dict[str, Any] = {"account_id": account.id, "region": region,
                                "priorities_before": {name: p for name, p in before.values()}}
    if norm_region(region) not in before:
        raise PermanentError(
            f"{what} has no region {region}: a service-managed failover needs the recovery region in the account "
            "(uplift: add it as a second region with automatic failover)", evidence)
    if before[norm_region(region)][1] == 0:
        return {**evidence, "action": "none: the recovery region already has failover priority 0"}
    # The recovery region first, the others after it in their current order.
    others = sorted((p for key, p in before.items() if key != norm_region(region)), key=lambda p: p[1])
    order = [before[norm_region(region)][0]] + [name for name, _ in others]
    from azure.mgmt.cosmosdb.models import FailoverPolicies, FailoverPolicy

    wanted = FailoverPolicies(failover_policies=[FailoverPolicy(location_name=name, failover_priority=i)
                                                 for i, name in enumerate(order)])
    kwargs = {} if polling_interval is None else {"polling_interval": polling_interval}
    poller = call(f"{what}: failover priority change", cosmos.database_accounts.begin_failover_priority_change,
                  resource_group, account_name, wanted, **kwargs)
    wait_for(f"{what}: failover priority change", poller, timeout_s)
    after = _priorities(call(what, cosmos.database_accounts.get, resource_group, account_name))
    evidence["priorities_after"] = {name: p for name, p in after.values()}
    if after.get(norm_region(region), (None, None))[1] != 0:
        raise TransientError(f"{what}: the failover priority change completed but {region} is not priority 0 yet")
    return {**evidence, "action": f"failover priority change: {region} is now the write region"}


def postgres_watermark(dsn: str) -> tuple[int | None, str | None]:
    """(batch, data_end) of the store's own ingestion watermark: what the geo-restore recovered to,
    in the source's time. (None, None) for a database that has none."""
    with pg_errors("postgres: read watermark"), psycopg.connect(dsn) as conn:
        if one_row(conn.execute("SELECT to_regclass('public.ingestion_watermark')"))[0] is None:
            return None, None
        row = conn.execute("SELECT batch, data_end FROM ingestion_watermark WHERE pipeline = %s",
                           (PIPELINE,)).fetchone()
    return (None, None) if row is None else (int(row[0]), iso_z(row[1]))
