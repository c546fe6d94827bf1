"""The local region pair: what the local drill fails over from and to.

    primary region      Azurite(primary_account, secondary_account [geo copy]) + PostgreSQL
    geo-replica store   Azurite(primary_account [geo copy])
    secondary region    Azurite(secondary_account) + PostgreSQL, started by the deploy steps
    backup store        a directory (PostgreSQL base backups and WAL archive, manifests) that survives the primary

Before the disaster only what Azure itself keeps in the paired region exists there: the primary
account's geo copy (RA-GRS `<account>-secondary`) and the backups. The geo copy has an Azurite of
its own that runs from the first backup on and survives the disaster, as Azure's storage
replication does. The secondary region's servers are not running then: the lake's deploy step
starts a new Azurite holding only the new account (as Azure creates a new account), and
PostgreSQL's deploy step initialises and starts a new server, so the measured RTO, which runs from
the disaster, includes redeploying them.

Why a separate Azurite for the new account, rather than adding the account to the geo copy's
instance and restarting it: it keeps the recovery path Azure's. On Azure the new account's
storage service cannot reach the private-only primary lake, so the secondary stack's default
(`restore.lake.copy: relay`) relays the bytes through drctl (orchestrator/data/lake/relay.py).
Azurite refuses a server-side copy between instances with the same CannotVerifyCopySource, so the
local drill relays the same way, with the same engine, and the geo copy stays readable throughout
the deploy, as the RA-GRS endpoint does (a restart of its instance would take it away).

Symmetrically, the secondary account's geo copy lives in the primary region's Azurite: the
fallback copies from it server-side once the primary is back.

Where the stack has Cosmos DB, the pair also holds its account's two regions (targets/local/cosmos.py):
the write region stops with the primary; the read region, like the geo copy, runs from the prelude on.
"""

from __future__ import annotations

import os
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from orchestrator.data.postgres.wal import wal_archive_dir
from orchestrator.targets.local.cosmos import CosmosSpec, LocalCosmosAccount
from orchestrator.targets.local.keys import KEYS_FILE, POSTGRES_PASSWORD, load_or_create, new_password
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.postgres import PostgresServer
from orchestrator.targets.local.servers.processes import ManagedServer, read_state


def _load_or_create_keys(workdir: Path, accounts: list[str]) -> dict[str, str]:
    """Account keys and PostgreSQL's superuser password live in a 0600 file in the workdir so a
    resumed run can reconnect; they are generated per workdir and never printed."""
    wanted = {account: generate_account_key for account in accounts}
    return load_or_create(workdir / KEYS_FILE, {**wanted, POSTGRES_PASSWORD: new_password})


def was_launched(server: ManagedServer) -> bool:
    """Whether a server was ever started on its data directory (its state file is written at launch)."""
    return read_state(server.data_dir) is not None


class LocalRegionPair:
    """Two local regions, the geo copy's store and a backup store under `workdir`. Nothing starts
    on construction or on `with`; leaving the `with` block stops everything this object started."""

    def __init__(self, workdir: str | os.PathLike, primary_account: str = "lakeprimary",
                 secondary_account: str = "lakesecondary", cosmos: CosmosSpec | None = None) -> None:
        if primary_account == secondary_account:
            raise ValueError("the primary and secondary accounts must differ")
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.primary_account = primary_account
        self.secondary_account = secondary_account
        keys = _load_or_create_keys(self.workdir, [primary_account, secondary_account])
        self.primary_azurite = AzuriteServer(self.workdir / "primary" / "azurite",
                                             {primary_account: keys[primary_account],
                                              secondary_account: keys[secondary_account]})
        # the geo copy has the primary's name and key, as the RA-GRS secondary endpoint does
        self.geo_azurite = AzuriteServer(self.workdir / "geo" / "azurite", {primary_account: keys[primary_account]})
        self.secondary_azurite = AzuriteServer(self.workdir / "secondary" / "azurite",
                                               {secondary_account: keys[secondary_account]})
        self.backup_dir = self.workdir / "backup"
        self.backup_dir.mkdir(exist_ok=True)
        # both regions' servers take the superuser password from the pair's keys file; the primary
        # archives its WAL into the backup store, which the secondary's restore reads (data/postgres/wal.py)
        self.primary_postgres = PostgresServer(self.workdir / "primary" / "postgres", self.workdir / KEYS_FILE,
                                               wal_archive=wal_archive_dir(self.backup_dir))
        self.secondary_postgres = PostgresServer(self.workdir / "secondary" / "postgres", self.workdir / KEYS_FILE)
        self.primary_postgres.password()  # registered with the redactor before any message can carry it
        self.cosmos = LocalCosmosAccount(self.workdir, cosmos) if cosmos is not None else None

    def servers(self) -> dict[str, ManagedServer]:
        return {"primary.azurite": self.primary_azurite, "primary.postgres": self.primary_postgres,
                "geo.azurite": self.geo_azurite,
                "secondary.azurite": self.secondary_azurite, "secondary.postgres": self.secondary_postgres,
                **(self.cosmos.servers() if self.cosmos is not None else {})}

    # -- lifecycle -----------------------------------------------------------------------------
    def start_primary(self) -> None:
        self.primary_azurite.start()
        self.primary_postgres.start()

    def start_geo_copy(self) -> None:
        """The geo copy's store: Azure's replication into the paired region, which the disaster spares."""
        self.geo_azurite.start()

    def start_secondary(self) -> None:
        """Both secondary servers at once; a drill leaves this to the deploy steps, one server each."""
        self.secondary_azurite.start()
        self.secondary_postgres.start()

    def stop_primary(self, abrupt: bool = False) -> None:
        """The disaster. `abrupt` kills PostgreSQL instead of shutting it down (its WAL makes it
        come back whole, as a managed server does). Azurite always gets a shutdown: it keeps blob
        metadata in memory and saves it every few seconds, so a kill would lose blobs that Azure
        Storage, which is durable, would still hold when the region returns (the fallback)."""
        self.primary_azurite.stop()
        self.primary_postgres.stop(abrupt=abrupt)
        if self.cosmos is not None:
            self.cosmos.primary.stop(abrupt=abrupt)

    def stop_secondary(self) -> None:
        self.secondary_azurite.stop()
        self.secondary_postgres.stop()

    def restart_primary(self) -> None:
        """The primary region is back: its servers start again on the data they held."""
        self.stop_primary()
        self.primary_azurite.stop_orphans()
        self.primary_postgres.stop_orphans()
        self.start_primary()

    def restart_secondary(self) -> list[str]:
        """For a resumed run: stop the geo copy's store and the secondary servers, ours or orphans
        of a drctl that died, and start again on their data the geo copy's store and each secondary
        server a deploy step had started. One never started is left to its deploy step, which the
        journal then has not seen succeed. Returns the servers started."""
        started = []
        for name in ("geo.azurite", "secondary.azurite", "secondary.postgres"):
            server = self.servers()[name]
            server.stop()
            server.stop_orphans()
            if name == "geo.azurite" or was_launched(server):
                server.start()
                started.append(name)
        return started

    def stop(self) -> None:
        """Stop everything this object started. Safe to call more than once."""
        self.stop_primary()
        self.stop_secondary()
        self.geo_azurite.stop()
        if self.cosmos is not None:
            self.cosmos.stop()

    def __enter__(self) -> LocalRegionPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting (these carry credentials: for connecting, never for evidence) --------------
    def primary_lake(self) -> BlobServiceClient:
        return self.primary_azurite.service_client(self.primary_account)

    def geo_copy_lake(self) -> BlobServiceClient:
        """The geo copy of the primary account, as read in the secondary region."""
        return self.geo_azurite.service_client(self.primary_account)

    def secondary_lake(self) -> BlobServiceClient:
        return self.secondary_azurite.service_client(self.secondary_account)

    def secondary_geo_copy_lake(self) -> BlobServiceClient:
        """The geo copy of the secondary account, as read in the primary region (fallback)."""
        return self.primary_azurite.service_client(self.secondary_account)

    def secondary_geo_copy_key(self) -> str:
        return self.primary_azurite.account_key(self.secondary_account)

    def geo_copy_key(self) -> str:
        """The geo copy's shared key: signs the read SAS of server-side copies. A secret."""
        return self.geo_azurite.account_key(self.primary_account)

    def account_keys(self) -> list[str]:
        """Every account key of every instance: for the redactor, never for output."""
        return [server.account_key(account) for server in (self.primary_azurite, self.geo_azurite,
                                                            self.secondary_azurite) for account in server.accounts]

    # -- evidence (no secrets) -----------------------------------------------------------------
    def pids(self) -> dict[str, int | None]:
        return {name: server.pid for name, server in self.servers().items()}

    def describe(self) -> dict:
        def server(s) -> dict:
            return {"running": s.running, "pid": s.pid, "port": s._port if s.running else None,
                    "data_dir": str(s.data_dir)}

        def lake(s: AzuriteServer, account: str) -> str | None:
            return s.blob_endpoint(account) if s.running else None

        return {
            "primary": {"azurite": server(self.primary_azurite), "postgres": server(self.primary_postgres),
                        "lake_endpoint": lake(self.primary_azurite, self.primary_account)},
            "geo_copy": {"azurite": server(self.geo_azurite),
                         "endpoint": lake(self.geo_azurite, self.primary_account)},
            "secondary": {"azurite": server(self.secondary_azurite),
                          "postgres": server(self.secondary_postgres),
                          "lake_endpoint": lake(self.secondary_azurite, self.secondary_account)},
            "backup_dir": str(self.backup_dir),
        }
