"""The local region pair: what the local drill fails over from and to.

    primary region    Azurite(primary_account, secondary [geo copy]) + PostgreSQL
    secondary region  Azurite(primary_account [geo copy], secondary) + PostgreSQL
    backup store      a directory (PostgreSQL dumps, manifests) that survives the primary

On Azure the geo-secondary copy of an RA-GRS account is `<account>-secondary`, in the paired
region. Locally it is an account of the same name inside the secondary Azurite instance, because
Azurite copies server-side only between accounts of one instance, and recovery must copy
server-side. Symmetrically, the secondary account's geo copy lives in the primary region: the
fallback copies from it once the primary is back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from orchestrator.atomic import write_atomic
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.postgres import PostgresServer

KEYS_FILE = "account-keys.json"


def _load_or_create_keys(workdir: Path, accounts: list[str]) -> dict[str, str]:
    """Account keys live in a 0600 file in the workdir so a resumed run can reconnect; they are
    generated per workdir and never printed."""
    path = workdir / KEYS_FILE
    keys: dict[str, str] = {}
    if path.exists():
        keys = json.loads(path.read_text())
    missing = [a for a in accounts if a not in keys]
    if missing:
        keys.update({a: generate_account_key() for a in missing})
        write_atomic(path, json.dumps(keys), mode=0o600)
    os.chmod(path, 0o600)
    return keys


class LocalRegionPair:
    """Two local regions and a backup store under `workdir`. Nothing starts on construction or
    on `with`; leaving the `with` block stops everything this object started."""

    def __init__(self, workdir: str | os.PathLike, primary_account: str = "lakeprimary",
                 secondary_account: str = "lakesecondary") -> None:
        if primary_account == secondary_account:
            raise ValueError("the primary and secondary accounts must differ")
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.primary_account = primary_account
        self.secondary_account = secondary_account
        keys = _load_or_create_keys(self.workdir, [primary_account, secondary_account])
        # the geo copy has the primary's name and key, as the RA-GRS secondary endpoint does
        self.primary_azurite = AzuriteServer(self.workdir / "primary" / "azurite",
                                             {primary_account: keys[primary_account],
                                              secondary_account: keys[secondary_account]})
        self.secondary_azurite = AzuriteServer(self.workdir / "secondary" / "azurite",
                                               {primary_account: keys[primary_account],
                                                secondary_account: keys[secondary_account]})
        self.primary_postgres = PostgresServer(self.workdir / "primary" / "postgres")
        self.secondary_postgres = PostgresServer(self.workdir / "secondary" / "postgres")
        self.backup_dir = self.workdir / "backup"
        self.backup_dir.mkdir(exist_ok=True)

    # -- lifecycle -----------------------------------------------------------------------------
    def start_primary(self) -> None:
        self.primary_azurite.start()
        self.primary_postgres.start()

    def start_secondary(self) -> None:
        self.secondary_azurite.start()
        self.secondary_postgres.start()

    def stop_primary(self, abrupt: bool = False) -> None:
        """The disaster. `abrupt` kills PostgreSQL instead of shutting it down (its WAL makes it
        come back whole, as a managed server does). Azurite always gets a shutdown: it keeps blob
        metadata in memory and saves it every few seconds, so a kill would lose blobs that Azure
        Storage, which is durable, would still hold when the region returns (the fallback)."""
        self.primary_azurite.stop()
        self.primary_postgres.stop(abrupt=abrupt)

    def stop_secondary(self) -> None:
        self.secondary_azurite.stop()
        self.secondary_postgres.stop()

    def restart_primary(self) -> None:
        """The primary region is back: its servers start again on the data they held."""
        self.stop_primary()
        self.primary_azurite.stop_orphans()
        self.primary_postgres.stop_orphans()
        self.start_primary()

    def restart_secondary(self) -> None:
        """For a resumed run: stop the secondary servers, ours or orphans of a drctl that died,
        and start them again on their existing data."""
        self.stop_secondary()
        self.secondary_azurite.stop_orphans()
        self.secondary_postgres.stop_orphans()
        self.start_secondary()

    def stop(self) -> None:
        """Stop everything this object started. Safe to call more than once."""
        self.stop_primary()
        self.stop_secondary()

    def __enter__(self) -> LocalRegionPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting (these carry credentials: for connecting, never for evidence) --------------
    def primary_lake(self) -> BlobServiceClient:
        return self.primary_azurite.service_client(self.primary_account)

    def geo_copy_lake(self) -> BlobServiceClient:
        """The geo copy of the primary account, as read in the secondary region."""
        return self.secondary_azurite.service_client(self.primary_account)

    def secondary_lake(self) -> BlobServiceClient:
        return self.secondary_azurite.service_client(self.secondary_account)

    def secondary_geo_copy_lake(self) -> BlobServiceClient:
        """The geo copy of the secondary account, as read in the primary region (fallback)."""
        return self.primary_azurite.service_client(self.secondary_account)

    def secondary_geo_copy_key(self) -> str:
        return self.primary_azurite.account_key(self.secondary_account)

    def geo_copy_key(self) -> str:
        """The geo copy's shared key: signs the read SAS of server-side copies. A secret."""
        return self.secondary_azurite.account_key(self.primary_account)

    # -- evidence (no secrets) -----------------------------------------------------------------
    def pids(self) -> dict[str, int | None]:
        return {"primary.azurite": self.primary_azurite.pid,
                "primary.postgres": self.primary_postgres.pid,
                "secondary.azurite": self.secondary_azurite.pid,
                "secondary.postgres": self.secondary_postgres.pid}

    def describe(self) -> dict:
        def server(s) -> dict:
            return {"running": s.running, "pid": s.pid, "port": s._port if s.running else None,
                    "data_dir": str(s.data_dir)}

        def lake(s: AzuriteServer, account: str) -> str | None:
            return s.blob_endpoint(account) if s.running else None

        return {
            "primary": {"azurite": server(self.primary_azurite), "postgres": server(self.primary_postgres),
                        "lake_endpoint": lake(self.primary_azurite, self.primary_account)},
            "secondary": {"azurite": server(self.secondary_azurite),
                          "postgres": server(self.secondary_postgres),
                          "geo_copy_endpoint": lake(self.secondary_azurite, self.primary_account),
                          "lake_endpoint": lake(self.secondary_azurite, self.secondary_account)},
            "backup_dir": str(self.backup_dir),
        }
