"""The lake on Azure: where the new secondary account is rehydrated from, with AAD only.

Two copy engines serve it (lake_steps.py picks one from `restore.lake.copy`): the runner's relay
(orchestrator/data/lake/relay.py, the default, which the local drill's failover uses too), and the
server-side copy the local fallback uses (orchestrator/data/lake/recovery.rehydrate_lake). What is Azure's own here is
- where the data comes from: the primary account's RA-GRS/RA-GZRS secondary endpoint
  (https://<account>-secondary.blob.core.windows.net, read-only, readable while the primary
  region is down), a backup account, or the primary account itself after an unplanned failover
  (stores/lake_failover.py);
- for a server-side copy, how a source URL is signed: a user-delegation SAS (a key obtained with
  the caller's Entra token; no account key ever leaves Azure). Async Copy Blob cannot authenticate
  to its source with OAuth (`source_authorization` works only for the synchronous, <= 256 MiB
  copy), so a SAS it must be, and a user-delegation one is the SAS that needs no key;
  https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
  The relay needs no SAS: it reads with the runner's own token.
- the manifest: the primary cannot be listed (it is down), so the manifest is the listing of the
  source taken at failover time, and its data timestamp is the account's geo-replication
  lastSyncTime (writes after it may be missing from the secondary, so they count against the RPO).
  Validation then proves the new account holds exactly what the source held.

(verify in a drill) Get User Delegation Key is a POST; whether the -secondary endpoint serves it
while the primary region is down is not documented. The signer therefore takes the client to ask
for the key separately from the endpoint it signs for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.storage.blob import BlobSasPermissions, BlobServiceClient, UserDelegationKey, generate_blob_sas

from components import naming
from orchestrator.data.errors import azure_errors
from orchestrator.data.event_time import iso_z
from orchestrator.data.ingest import LakeSink
from orchestrator.data.manifest import lake_facts
from orchestrator.model import PermanentError
from orchestrator.redact import REDACTOR

DEFAULT_SUFFIX = "core.windows.net"
# On Azure one copy can run for hours (large blobs, a busy secondary): its source SAS must outlive
# it, and the key that signs it must outlive the SAS. A user delegation key lasts at most 7 days.
SAS_TTL_S = 6 * 3600
KEY_TTL_S = 24 * 3600
CLOCK_SKEW = timedelta(minutes=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def blob_url(endpoint: str, container: str, name: str) -> str:
    """The URL of a blob under `endpoint`, quoted as the Storage SDK quotes it."""
    return f"{endpoint.rstrip('/')}/{quote(container)}/{quote(name, safe='~/')}"


class UserDelegationSigner:
    """`SourceUrl` for rehydrate_lake: read-only user-delegation SAS URLs for one source account.

    `key_service` (an AAD BlobServiceClient of the source account) is asked for the delegation key
    once, and again when the key would expire before a new SAS does. `account_name` is the real
    account name (the SAS signs `/blob/<account>/...`, also for the -secondary endpoint) and
    `endpoint` the host URLs point at."""

    method = "server-side copy (Copy Blob from a user-delegation-SAS source URL)"

    def __init__(self, key_service: BlobServiceClient, account_name: str, endpoint: str, *,
                 sas_ttl_s: int = SAS_TTL_S, key_ttl_s: int = KEY_TTL_S,
                 now: Callable[[], datetime] = _utc_now) -> None:
        if key_ttl_s <= sas_ttl_s:
            raise ValueError("the delegation key must outlive the SAS it signs (key_ttl_s > sas_ttl_s)")
        if key_ttl_s > 7 * 24 * 3600:
            raise ValueError("a user delegation key is valid for at most 7 days")
        self.key_service, self.account_name, self.endpoint = key_service, account_name, endpoint
        self.sas_ttl, self.key_ttl, self.now = timedelta(seconds=sas_ttl_s), timedelta(seconds=key_ttl_s), now
        self._key: UserDelegationKey | None = None
        self._key_expiry: datetime | None = None
        self._lock = threading.Lock()
        self.keys_requested = 0

    def _delegation_key(self, now: datetime) -> UserDelegationKey:
        with self._lock:
            if self._key is None or self._key_expiry is None or self._key_expiry < now + self.sas_ttl + CLOCK_SKEW:
                expiry = now + self.key_ttl
                with azure_errors(f"user delegation key for {self.account_name}"):
                    key = self.key_service.get_user_delegation_key(now - CLOCK_SKEW, expiry)
                if key.value:
                    REDACTOR.add_secret(key.value)
                self._key, self._key_expiry = key, expiry
                self.keys_requested += 1
            return self._key

    def __call__(self, container: str, name: str) -> str:
        now = self.now()
        sas = generate_blob_sas(account_name=self.account_name, container_name=container, blob_name=name,
                                user_delegation_key=self._delegation_key(now),
                                permission=BlobSasPermissions(read=True), start=now - CLOCK_SKEW,
                                expiry=now + self.sas_ttl)
        return f"{blob_url(self.endpoint, container, name)}?{sas}"


def primary_lake_account(paired_prefix: str | None, paired_suffix: str | None) -> str:
    """The primary stack's lake account name, from the paired stack's prefix and suffix."""
    if not paired_prefix or not paired_suffix:
        raise PermanentError("the paired stack's prefix/nameSuffix are unknown: cannot name the primary lake account")
    return naming.storage_account_name(paired_prefix, paired_suffix)


def lake_source(restore: Any, primary_account: str, suffix: str = DEFAULT_SUFFIX) -> tuple[str, str]:
    """(account name, blob endpoint) to rehydrate from, following the stack's `restore.lake`.

    geo-secondary: the primary account's (or `sourceAccount`'s) RA-GRS secondary endpoint;
    backup-account: `sourceAccount`'s own endpoint; account-failover: the primary account's (or
    `sourceAccount`'s) own endpoint, which answers from the paired region once it has failed over."""
    source = getattr(restore, "source", None) or "geo-secondary"
    account = getattr(restore, "source_account", None)
    if source == "geo-secondary":
        account = account or primary_account
        return account, f"https://{account}-secondary.blob.{suffix}"
    if source == "account-failover":
        account = account or primary_account
        return account, f"https://{account}.blob.{suffix}"
    if source == "backup-account":
        if not account:
            raise PermanentError("restore.lake.source is backup-account but restore.lake.sourceAccount is not set")
        return account, f"https://{account}.blob.{suffix}"
    raise PermanentError(f"restore.lake.source {source!r} is not one drctl knows "
                         "(geo-secondary, backup-account, account-failover)")


def aad_blob_service(endpoint: str, credential: Any, **kwargs: Any) -> BlobServiceClient:
    """A BlobServiceClient authenticated with an Entra token credential, never with a key."""
    if credential is None or isinstance(credential, (str, dict)) or not hasattr(credential, "get_token"):
        raise ValueError("the azure target reaches storage with an Entra token credential only, not keys or SAS")
    return BlobServiceClient(endpoint, credential=credential, **kwargs)


def manifest_from_listing(service: BlobServiceClient, containers: Iterable[str], *,
                          last_sync_time: datetime | str | None, account: str | None = None) -> dict:
    """The manifest of the source, from its listing now: per container count, bytes and the
    listing digest (orchestrator/data/manifest.lake_facts), the lake's own watermark, and the
    geo-replication lastSyncTime as the data timestamp. A missing container is refused."""
    containers = list(containers)
    with azure_errors("lake manifest from the geo copy's listing"):
        facts = lake_facts(service, containers)
        record = LakeSink(service).watermark_record()
    missing = [c for c, f in facts.items() if f is None]
    if missing:
        raise PermanentError(f"the rehydration source has no container {', '.join(missing)}",
                             {"account": account or service.account_name, "missing_containers": missing})
    return {"kind": "lake", "account": account or service.account_name, "taken_at": iso_z(_utc_now()),
            "taken_from": "listing of the rehydration source at failover time", "containers": facts,
            "watermark": record and record["batch"], "data_end": record and record["data_end"],
            "data_timestamp": iso_z(last_sync_time) if last_sync_time else None}
