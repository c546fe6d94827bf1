"""The lake steps of the azure target: rehydrate the new account from the stack's `restore.lake`, validate it.

Where the data comes from (`source`): the primary account's geo-secondary endpoint, a backup
account, or the primary account itself after an unplanned failover (stores/lake_failover.py).
How it is copied (`copy`): relayed through the runner by default (orchestrator/data/lake/relay.py),
because the primary lake is private-only and a server-side copy needs the destination's storage
service to reach the source; server-side (Copy Blob from a user-delegation SAS) when asked.
Every data-plane call runs under RolePropagation: drctl's data roles may have been granted
minutes ago by the deploy step.

Which endpoint each call uses (the runner needs a network path and a role for each):
- geo-secondary: https://<primary>-secondary.blob.core.windows.net (sub-resource blob_secondary),
  list and read: Storage Blob Data Reader on the primary account;
- backup-account: https://<sourceAccount>.blob.core.windows.net (blob), Storage Blob Data Reader;
- account-failover: ARM storage_accounts get_properties and failover on the primary account
  (Microsoft.Storage/storageAccounts/failover/action), then https://<primary>.blob.core.windows.net
  (blob, now answering from the paired region), Storage Blob Data Reader;
- destination: https://<new account>.blob.core.windows.net (blob), Storage Blob Data Contributor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.storage.blob import BlobServiceClient

from components import naming
from components.lake import LakeRestore
from orchestrator.data.lake.generations import prune_to_generation
from orchestrator.data.lake.recovery import rehydrate_lake, validate_lake
from orchestrator.data.lake.relay import relay_lake
from orchestrator.data.manifest import load_manifest, validated, write_manifest
from orchestrator.data.recovery_point import from_record
from orchestrator.model import PermanentError, StepContext, StepKind, StepOutcome
from orchestrator.plan.zones import copied_zones
from orchestrator.run.rundir import RunDir
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.errors import arm_errors
from orchestrator.targets.azure.role_propagation import RolePropagation
from orchestrator.targets.azure.stores.lake import (
    SAS_TTL_S,
    UserDelegationSigner,
    iso_z,
    lake_source,
    manifest_from_listing,
    primary_lake_account,
)
from orchestrator.targets.azure.stores.lake_failover import fail_over_account
from orchestrator.targets.azure.stores.lake_point import LakeAtPoint, manifest_at_point
from smoke_tests.check import Check
from stacks.config import StackConfig

LAKE_MANIFEST = "lake.json"
FAILOVER_RECORD = "lake-failover.json"
RELAY_JOURNAL = "lake-relay.jsonl"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
READER, CONTRIBUTOR = "Storage Blob Data Reader", "Storage Blob Data Contributor"
# Blobs relayed at once: each holds a chunk in memory and a connection on both sides (the SDK's
# requests transport pools 10 connections per host).
RELAY_MAX_IN_FLIGHT = 8
NOT_EXERCISED_ON_AZURE = ("from blob snapshots at or before the recovery point: this path was tested against Azurite "
                          "only, not exercised against Azure")


class LakeStepsSource(Protocol):
    """What the lake steps read of the target's data steps (targets/azure/data_steps.py)."""

    session: AzureSession
    config: StackConfig
    run_dir: Path
    profiles: dict[str, Any]
    blob_service: Callable[[str], BlobServiceClient]
    max_in_flight: int
    poll_interval_s: float
    copy_timeout_s: float

    def _lake_dest(self) -> BlobServiceClient: ...
    def paired_names(self) -> tuple[str, str]: ...
    def data_checks(self, component: str) -> Sequence[Check]: ...


def roles_assigned_upstream(context: StepContext, components: Iterable[str]) -> bool:
    """Whether a deploy step upstream created or replaced a role assignment in this run."""
    for component in components:
        try:
            resources = context.outputs_of(f"{component}.{StepKind.DEPLOY}").get("resources") or []
        except KeyError:  # not upstream of this step, or not run
            continue
        if any(r.get("type") == ROLE_ASSIGNMENT and r.get("op") in ("create", "replace") for r in resources):
            return True
    return False


def _host(service: BlobServiceClient) -> str:
    return urlsplit(service.url).hostname or service.url


class LakeSteps:
    def __init__(self, data_steps: LakeStepsSource, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, say: Callable[[str], None] | None = None) -> None:
        from orchestrator.engine.progress import progress_line

        self.data, self.clock, self.sleep, self.say = data_steps, clock, sleep, say or progress_line

    @property
    def restore(self) -> LakeRestore:
        return self.data.config.restore.lake or LakeRestore()

    def _primary_group(self) -> str:
        prefix, suffix = self.data.paired_names()
        return naming.resource_group_name(prefix, "data", suffix)

    def _last_sync_time(self, account: str) -> tuple[str | None, str | None]:
        """The geo copy's lastSyncTime: writes after it may be missing from the secondary."""
        try:
            with arm_errors(f"geo-replication stats of {account}"):
                props = self.data.session.storage().storage_accounts.get_properties(
                    self._primary_group(), account, expand="geoReplicationStats")
        except PermanentError as err:
            return None, f"lastSyncTime unavailable: {err}"
        last_sync = getattr(getattr(props, "geo_replication_stats", None), "last_sync_time", None)
        return (iso_z(last_sync) if last_sync else None), None

    def _source(self) -> tuple[str, str, str | None, str | None, dict | None]:
        """(account, endpoint, lastSyncTime, a note, the failover's evidence) of the rehydration source."""
        restore, config = self.restore, self.data.config
        primary = primary_lake_account(config.paired_prefix, config.paired_name_suffix)
        account, endpoint = lake_source(restore, primary)
        if restore.source == "account-failover":
            failover = fail_over_account(
                self.data.session.storage(), self._primary_group(), account, config.region,
                RunDir(self.data.run_dir).manifest(FAILOVER_RECORD), timeout_s=restore.failover_timeout_minutes * 60,
                poll_interval_s=max(self.data.poll_interval_s, 1.0), sleep=self.sleep, clock=self.clock, say=self.say)
            last_sync = failover["last_sync_time"]
            note = None if last_sync else "the account had failed over before this run: its lastSyncTime is unknown"
            return account, endpoint, last_sync, note, failover
        if restore.source == "backup-account":
            return account, endpoint, None, "a backup account has no geo-replication lag", None
        return account, endpoint, *self._last_sync_time(account), None

    def _recovery_point(self) -> datetime | None:
        """`--recovery-point`, as the run's run.json keeps it (a resumed run restores to the same)."""
        run = RunDir(self.data.run_dir)
        return from_record(run.read_run().get("recovery_point")) if run.run_json.is_file() else None

    def _copy(self, source: BlobServiceClient, dest: BlobServiceClient, account: str, zones: Sequence[str],
              at: LakeAtPoint | None = None) -> dict:
        data, restore = self.data, self.restore
        if at is not None:  # a snapshot's state goes through the relay (stores/lake_point.py says why)
            pruned = prune_to_generation(dest, at, zones)
            evidence = relay_lake(source, dest, zones, min(data.max_in_flight, RELAY_MAX_IN_FLIGHT),
                                  chunk_bytes=restore.relay_chunk_mib * 2**20,
                                  journal=RunDir(data.run_dir).manifest(RELAY_JOURNAL), say=self.say, listing=at)
            return {**evidence, **at.evidence(), "blobs_pruned_from_new_account": pruned}
        if restore.copy_method == "server-side":
            # source.url is the endpoint the client was made for (the -secondary host on Azure)
            return rehydrate_lake(source, dest, UserDelegationSigner(source, account, source.url), zones,
                                  data.max_in_flight, sas_ttl_s=SAS_TTL_S, poll_interval_s=data.poll_interval_s,
                                  copy_timeout_s=data.copy_timeout_s)
        return relay_lake(source, dest, zones, min(data.max_in_flight, RELAY_MAX_IN_FLIGHT),
                          chunk_bytes=restore.relay_chunk_mib * 2**20,
                          journal=RunDir(data.run_dir).manifest(RELAY_JOURNAL), say=self.say)

    def rehydrate(self, context: StepContext) -> StepOutcome:
        account, endpoint, last_sync, note, failover = self._source()
        zones = copied_zones(self.data.config.lake)
        source, dest = self.data.blob_service(endpoint), self.data._lake_dest()
        roles = RolePropagation(
            timeout_s=self.restore.role_propagation_minutes * 60,
            roles={_host(source): f"{READER} on {account}", _host(dest): f"{CONTRIBUTOR} on {dest.account_name}"},
            after_role_assignment=roles_assigned_upstream(context, self.data.profiles),
            clock=self.clock, sleep=self.sleep, say=self.say)
        point = self._recovery_point()
        at = LakeAtPoint(source, point) if point is not None else None
        if at is not None:
            manifest = roles.run("lake manifest at the recovery point", lambda: manifest_at_point(
                at, zones, account=account))
        else:
            manifest = roles.run("lake manifest", lambda: manifest_from_listing(
                source, zones, last_sync_time=last_sync, account=account))
        write_manifest(RunDir(self.data.run_dir).manifest(LAKE_MANIFEST), manifest)
        evidence = roles.run("lake rehydration", lambda: self._copy(source, dest, account, zones, at))
        evidence = {**evidence, "source": self.restore.source, "source_endpoint": endpoint, "zones_copied": zones,
                    "last_sync_time": last_sync, **({"note": note} if note else {}),
                    **({"account_failover": failover} if failover else {})}
        # The geo copy's last sync bounds what it holds; a backup account has no lag, so the lake's
        # own ingestion watermark (its data_end) says to which time it was recovered.
        recovered = last_sync or manifest.get("data_end")
        outputs = {"watermark": manifest["watermark"], "recovered_data_timestamp": recovered}
        if at is not None:  # restored to the point: its data is what the point's watermark says
            outputs.update(recovered_data_timestamp=manifest.get("data_end") or manifest["recovery_point"],
                           recovery_point=manifest["recovery_point"], backup_point=manifest["recovery_point"],
                           restore_note=NOT_EXERCISED_ON_AZURE)
        return StepOutcome(outputs=outputs, evidence=evidence)

    def validate(self) -> StepOutcome:
        manifest = load_manifest(RunDir(self.data.run_dir).manifest(LAKE_MANIFEST))
        result = validate_lake(self.data._lake_dest(), manifest, self.data.data_checks("lake")).to_evidence()
        return validated({**result, "compared_against": {"manifest": LAKE_MANIFEST,
                                                         "recovery_point": manifest.get("recovery_point")}})
