"""The lake rehydrator and validator the azure target uses, run unchanged against Azurite.

Azurite here runs with OAuth (tests/oauth_azurite.py) so the Azure path runs as it would on
Azure, with nothing but Entra tokens:
- the source (playing the primary account's RA-GRS secondary) and the new account are reached
  with a token credential only; no client in the recovery path holds an account key;
- the user delegation key comes from Azurite's Get User Delegation Key, and the copy source
  URLs carry user-delegation SAS tokens that Azurite verifies (a forged one is refused);
- copies are server-side (Azurite fetches the source itself), polled, bounded in concurrency.
What Azurite does not verify: the token's signature (OAuth "basic" checks issuer, audience and
lifetime only), and its delegation keys are derived from a fixed seed, not from Entra. The
-secondary host name itself is not exercised (Azurite has none): the signer's URLs for a real
`<account>-secondary.blob.core.windows.net` endpoint are checked without a server below.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, UserDelegationKey

from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.recovery import rehydrate_lake, validate_lake
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError
from orchestrator.redact import MASK, REDACTOR
from orchestrator.targets.azure.stores.lake import (
    UserDelegationSigner,
    aad_blob_service,
    blob_url,
    lake_source,
    manifest_from_listing,
    primary_lake_account,
)
from tests.oauth_azurite import OBJECT, TENANT, EntraLikeCredential, oauth_azurite_in_tempdir

GEO, NEW = "contosolakeaue", "contosolakease"
RUNNER_NEW = "contosolakeasex"  # the runner's own new account (stack suffix "asex"), rehydrated from scratch
RUNNER_NEW_SERVER_SIDE = "contosolakeasey"  # the same, for a stack that asks for a server-side copy
RUNNER_NEW_FAILOVER = "contosolakeasez"  # the same, for a stack that fails the primary account over
LAST_SYNC = "2026-01-01T02:00:00Z"


def _no_download(*args, **kwargs):
    raise AssertionError("a blob payload passed through drctl during rehydration")


@pytest.fixture(scope="module")
def lake():
    accounts = (GEO, NEW, RUNNER_NEW, RUNNER_NEW_SERVER_SIDE, RUNNER_NEW_FAILOVER)
    with oauth_azurite_in_tempdir("drctl-azure-lake-", accounts) as (server, cert, workdir):
        # Seeding the geo copy is not on the recovery path: a shared-key client is fine here.
        seed = BlobServiceClient(server.blob_endpoint(GEO), connection_verify=str(cert),
                                 credential={"account_name": GEO, "account_key": server.account_key(GEO)})
        source = SourceSystem(workdir / "source", batch_size=20, seed=7, interval_s=3600, devices=1)  # a file a batch
        source.produce(3)
        catch_up([LakeSink(seed)], source)
        requests: list[tuple[str, str, str | None]] = []

        def record(response):  # method, auth scheme, copy source: what the Azure path sent
            http_request = response.http_request
            auth = http_request.headers.get("Authorization", "")
            requests.append((http_request.method, auth.split(" ")[0], http_request.headers.get("x-ms-copy-source")))

        def aad(account: str) -> BlobServiceClient:
            return aad_blob_service(server.blob_endpoint(account), EntraLikeCredential(),
                                    connection_verify=str(cert), raw_response_hook=record)

        yield {"server": server, "geo": aad(GEO), "new": aad(NEW), "seed": seed, "requests": requests, "aad": aad}


@pytest.fixture(scope="module")
def recovered(lake):
    geo, new = lake["geo"], lake["new"]
    manifest = manifest_from_listing(geo, ZONES, last_sync_time=LAST_SYNC, account=GEO)
    signer = UserDelegationSigner(geo, GEO, lake["server"].blob_endpoint(GEO))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BlobClient, "download_blob", _no_download)
        mp.setattr(ContainerClient, "download_blob", _no_download)
        evidence = rehydrate_lake(geo, new, signer, ZONES, max_in_flight=3, poll_interval_s=0.02)
    return {"manifest": manifest, "signer": signer, "evidence": evidence,
            "validation": validate_lake(new, manifest)}


integration = pytest.mark.integration


@integration
def test_the_manifest_comes_from_the_geo_copy_listing_with_the_last_sync_time(lake, recovered):
    manifest = recovered["manifest"]
    assert manifest["data_timestamp"] == LAST_SYNC and manifest["account"] == GEO
    assert manifest["watermark"] == 2  # batches 0..2 ingested before the "disaster"
    assert manifest["containers"]["raw"]["blobs"] == 2 * 3 + 1  # each batch landed and in raw/events, _watermark.json
    assert all(c["missing_md5"] == 0 for c in manifest["containers"].values())


@integration
def test_user_delegation_rehydration_is_server_side_bounded_and_exact(recovered):
    evidence, manifest = recovered["evidence"], recovered["manifest"]
    total = sum(c["blobs"] for c in manifest["containers"].values())
    assert evidence["blobs"] == evidence["copied"] == total
    assert evidence["payload_bytes_through_drctl"] == 0
    assert 1 <= evidence["max_in_flight_observed"] <= 3
    assert "user-delegation" in evidence["method"]
    assert recovered["signer"].keys_requested == 1  # one key signs every copy
    assert recovered["validation"].exact, recovered["validation"].mismatches
    assert recovered["validation"].watermark == {"expected": 2, "actual": 2}


@integration
def test_the_azure_path_never_uses_an_account_key(lake, recovered):
    sent = lake["requests"]
    assert sent and {scheme for _, scheme, _ in sent} == {"Bearer"}
    copy_sources = [source for _, _, source in sent if source]
    assert len(copy_sources) == recovered["evidence"]["copied"]
    for source in copy_sources:
        query = parse_qs(urlsplit(source).query)
        # a user-delegation SAS: signed object and tenant ids, read-only, one blob
        assert query["skoid"] == [OBJECT] and query["sktid"] == [TENANT]
        assert query["sp"] == ["r"] and query["sr"] == ["b"]
    assert "sig=" not in json.dumps(recovered["evidence"])


@integration
def test_a_resumed_rehydration_copies_only_what_is_missing(lake, recovered):
    geo, new = lake["geo"], lake["new"]
    signer = recovered["signer"]
    total = recovered["evidence"]["blobs"]
    again = rehydrate_lake(geo, new, signer, ZONES, poll_interval_s=0.02)
    assert (again["copied"], again["skipped"]) == (0, total)
    lost = next(b.name for b in new.get_container_client("enriched").list_blobs())
    new.get_blob_client("enriched", lost).delete_blob()
    assert not validate_lake(new, recovered["manifest"]).exact  # validation sees the hole
    resumed = rehydrate_lake(geo, new, signer, ZONES, poll_interval_s=0.02)
    assert (resumed["copied"], resumed["containers"]["enriched"]["copied"]) == (1, 1)
    assert validate_lake(new, recovered["manifest"]).exact


@integration
def test_a_forged_user_delegation_sas_is_a_permanent_error_with_the_service_code(lake, recovered):
    geo, new, seed = lake["geo"], lake["new"], lake["seed"]
    seed.create_container("forged")
    seed.get_blob_client("forged", "a.txt").upload_blob(b"payload")
    signer = UserDelegationSigner(geo, GEO, lake["server"].blob_endpoint(GEO))
    real = signer._delegation_key(datetime.now(UTC))
    real.value = base64.b64encode(b"not the key Azurite issued" + b"\0" * 6).decode()
    try:
        with pytest.raises(PermanentError) as caught:
            rehydrate_lake(geo, new, signer, ["forged"], poll_interval_s=0.02)
        assert "forged/a.txt" in str(caught.value) and "sig=" not in str(caught.value).replace("sig=[redacted]", "")
        assert caught.value.evidence["error_code"] == "CannotVerifyCopySource"
    finally:
        seed.delete_container("forged")
        new.delete_container("forged")


@integration
def test_a_source_without_a_zone_is_refused(lake):
    with pytest.raises(PermanentError, match="no container nosuchzone") as caught:
        manifest_from_listing(lake["geo"], ["raw", "nosuchzone"], last_sync_time=None)
    assert caught.value.evidence["missing_containers"] == ["nosuchzone"]


# -- without a server: the signer's URLs for a real RA-GRS secondary endpoint -------------------------
class _KeyService:
    """Stands in for the source account's client: hands out delegation keys, counts the asks."""

    def __init__(self) -> None:
        self.asked: list[tuple[datetime, datetime]] = []

    def get_user_delegation_key(self, start: datetime, expiry: datetime) -> UserDelegationKey:
        self.asked.append((start, expiry))
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = OBJECT, TENANT
        key.signed_start, key.signed_expiry = start.strftime("%Y-%m-%dT%H:%M:%SZ"), expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2025-01-05"
        key.value = base64.b64encode(f"delegation-key-{len(self.asked)}".encode().ljust(32, b"k")).decode()
        return key


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_signer_points_at_the_secondary_endpoint_with_a_read_only_user_delegation_sas():
    account, endpoint = lake_source(None, GEO)
    assert (account, endpoint) == (GEO, f"https://{GEO}-secondary.blob.core.windows.net")
    keys, clock = _KeyService(), _Clock()
    signer = UserDelegationSigner(keys, account, endpoint, sas_ttl_s=3600, key_ttl_s=4 * 3600, now=clock)
    url = signer("raw", "events/batch 000001.jsonl")
    parts = urlsplit(url)
    assert parts.netloc == f"{GEO}-secondary.blob.core.windows.net"
    assert url.split("?")[0] == BlobClient(endpoint, "raw", "events/batch 000001.jsonl").url  # quoted as the SDK does
    assert unquote(parts.path) == "/raw/events/batch 000001.jsonl"
    query = parse_qs(parts.query)
    assert query["sp"] == ["r"] and query["sr"] == ["b"] and query["sks"] == ["b"]
    assert query["skoid"] == [OBJECT] and query["sktid"] == [TENANT] and query["sig"][0]
    assert query["st"] == ["2026-03-01T11:55:00Z"] and query["se"] == ["2026-03-01T13:00:00Z"]
    # the key is asked for once, then reused until it would expire before a new SAS does
    signer("raw", "b")
    assert len(keys.asked) == 1
    clock.now += timedelta(hours=2, minutes=56)  # the key (4 h) no longer outlives a new 1 h SAS
    signer("raw", "c")
    assert len(keys.asked) == 2
    # asked from a little in the past (clock skew) for key_ttl_s
    assert keys.asked[0][1] - keys.asked[0][0] == timedelta(hours=4, minutes=5)


def test_the_delegation_key_is_redacted_and_signatures_depend_on_it():
    keys, clock = _KeyService(), _Clock()
    signer = UserDelegationSigner(keys, GEO, "https://x-secondary.blob.core.windows.net", now=clock)
    first = signer("raw", "a")
    key_value = signer._key.value
    assert REDACTOR.text(f"key={key_value}") == f"key={MASK}"
    assert key_value not in first
    other = UserDelegationSigner(_KeyService(), GEO, "https://x-secondary.blob.core.windows.net", now=clock)
    other._key = _KeyService().get_user_delegation_key(clock.now, clock.now + timedelta(days=1))
    other._key.value = base64.b64encode(b"another key".ljust(32, b"z")).decode()
    other._key_expiry = clock.now + timedelta(days=1)
    assert parse_qs(urlsplit(other("raw", "a")).query)["sig"] != parse_qs(urlsplit(first).query)["sig"]


def test_the_signer_refuses_a_key_that_would_not_outlive_its_sas():
    with pytest.raises(ValueError, match="outlive"):
        UserDelegationSigner(_KeyService(), GEO, "https://e", sas_ttl_s=3600, key_ttl_s=3600)
    with pytest.raises(ValueError, match="7 days"):
        UserDelegationSigner(_KeyService(), GEO, "https://e", key_ttl_s=8 * 24 * 3600)


def test_rehydration_sources_follow_the_stack_restore_section():
    class Restore:
        def __init__(self, source: str, source_account: str | None = None) -> None:
            self.source, self.source_account = source, source_account

    assert lake_source(Restore("geo-secondary"), "contosolakeaue") == (
        "contosolakeaue", "https://contosolakeaue-secondary.blob.core.windows.net")
    assert lake_source(Restore("backup-account", "contosobackup"), "contosolakeaue") == (
        "contosobackup", "https://contosobackup.blob.core.windows.net")
    with pytest.raises(PermanentError, match="sourceAccount"):
        lake_source(Restore("backup-account"), "contosolakeaue")
    # after an account failover the primary's own endpoint answers, from the paired region
    assert lake_source(Restore("account-failover"), "contosolakeaue") == (
        "contosolakeaue", "https://contosolakeaue.blob.core.windows.net")
    assert primary_lake_account("contoso", "aue") == "contosolakeaue"
    with pytest.raises(PermanentError, match="paired"):
        primary_lake_account(None, "aue")
    assert blob_url("https://h/", "raw", "a b/ü.txt") == "https://h/raw/a%20b/%C3%BC.txt"


def test_only_token_credentials_reach_storage_on_azure():
    for key_like in ("c2VjcmV0", {"account_name": "a", "account_key": "c2VjcmV0"}, None):
        with pytest.raises(ValueError, match="Entra token"):
            aad_blob_service("https://a.blob.core.windows.net", key_like)
    assert aad_blob_service("https://a.blob.core.windows.net", EntraLikeCredential()).account_name == "a"


# -- the azure target's lake steps, end to end on Azurite ------------------------------------------------
STORAGE_GEO = ("storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/"
               "StorageAccountGetPropertiesGeoReplicationStatscanFailoverTrue.json")


@integration
@pytest.mark.parametrize("copy, suffix", [(None, "asex"), ("server-side", "asey")], ids=["default", "server-side"])
def test_the_azure_lake_steps_rehydrate_validate_and_smoke(lake, tmp_path, copy, suffix):
    """By default the runner relays the bytes itself (the primary lake is private-only, so the new
    account's storage service could not fetch it); `copy: server-side` keeps Copy Blob."""
    import dataclasses

    from orchestrator.data.lake.relay import METHOD as RELAY
    from orchestrator.model import Step, StepKind
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.data_steps import AzureDataSteps
    from stacks.config import load_stack_config
    from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

    base = load_stack_config(Path(__file__).resolve().parents[2], "secondary")
    assert base.restore.lake is not None and base.restore.lake.copy_method == "relay"  # the shipped stack's default
    restore = base.restore.model_copy(update={"lake": base.restore.lake.model_copy(update={"copy_method": copy})}) \
        if copy else base.restore
    config = dataclasses.replace(base, name_suffix=suffix, restore=restore)
    new = f"contosolake{suffix}"
    # the endpoints the runner asks for are Azure's; the test answers them with Azurite accounts
    endpoints = {f"https://{GEO}-secondary.blob.core.windows.net": GEO, f"https://{new}.blob.core.windows.net": new}
    asked: list[str] = []

    def blob_service(endpoint: str) -> BlobServiceClient:
        asked.append(endpoint)
        return lake["aad"](endpoints[endpoint])

    storage = ExampleTransport([Route(
        "GET", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue/providers/Microsoft.Storage/"
        f"storageAccounts/{GEO}", body=example_body(STORAGE_GEO))])
    session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=storage, retry_total=0)
    graph = Graph(stack="secondary", region=config.region, resources=[],
                  components=[{"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None}])
    runner = AzureDataSteps(session, config, graph, tmp_path, blob_service=blob_service, poll_interval_s=0.02)

    class Context:
        run_dir = tmp_path

        def outputs_of(self, step_id: str) -> dict:
            return {}

    def run(kind: StepKind):
        return runner.run(Step(id=f"lake.{kind}", component="lake", kind=kind, depends_on=(), estimate_s=1), Context())

    rehydrated = run(StepKind.REHYDRATE)
    assert rehydrated.outputs == {"watermark": 2, "recovered_data_timestamp": "2018-10-30T00:25:34Z"}
    assert rehydrated.evidence["copied"] == rehydrated.evidence["blobs"] > 0
    if copy == "server-side":
        assert rehydrated.evidence["payload_bytes_through_drctl"] == 0 and "user-delegation" in rehydrated.evidence["method"]
    else:
        assert rehydrated.evidence["method"] == RELAY
        assert rehydrated.evidence["payload_bytes_through_drctl"] == rehydrated.evidence["bytes"] > 0
        assert (tmp_path / "manifests" / "lake-relay.jsonl").read_text().count("\n") == rehydrated.evidence["blobs"]
    manifest = json.loads((tmp_path / "manifests" / "lake.json").read_text())
    assert manifest["data_timestamp"] == "2018-10-30T00:25:34Z" and manifest["account"] == GEO
    assert "expand=georeplicationstats" in storage.requests[0].url.lower()
    assert run(StepKind.VALIDATE).outputs == {"exact": True}
    smoke = run(StepKind.SMOKE)
    assert smoke.exercised and smoke.evidence["data_plane"]["blob-write-read-delete"]["ok"]
    assert set(asked) == set(endpoints)
    # a hole in the new account fails validation, permanently, with the mismatch as evidence
    lake["aad"](new).get_blob_client("curated", "reference/devices.csv").delete_blob()
    with pytest.raises(PermanentError, match="curated") as caught:
        run(StepKind.VALIDATE)
    assert caught.value.evidence["exact"] is False


@integration
def test_a_lake_restored_from_a_backup_account_is_recovered_to_its_own_ingestion_watermark(lake, tmp_path):
    """A backup account has no geo lag and no lastSyncTime: the recovered data timestamp is the end
    of the newest batch the copied lake holds (its raw/_watermark.json), and no ARM call is made."""
    import dataclasses

    from components.lake import LakeRestore
    from orchestrator.data.source import T0, iso
    from orchestrator.model import Step, StepKind
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.data_steps import AzureDataSteps
    from stacks.config import load_stack_config
    from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential

    base = load_stack_config(Path(__file__).resolve().parents[2], "secondary")
    backup = LakeRestore(source="backup-account", sourceAccount=GEO)
    config = dataclasses.replace(base, name_suffix="asex", restore=base.restore.model_copy(update={"lake": backup}))
    endpoints = {f"https://{GEO}.blob.core.windows.net": GEO, f"https://{RUNNER_NEW}.blob.core.windows.net": RUNNER_NEW}
    arm = ExampleTransport([])
    runner = AzureDataSteps(AzureSession(FakeCredential(), SUBSCRIPTION, transport=arm, retry_total=0), config,
                            Graph(stack="secondary", region=config.region, resources=[], components=[
                                {"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None}]),
                            tmp_path,
                            blob_service=lambda endpoint: lake["aad"](endpoints[endpoint]), poll_interval_s=0.02)

    class Context:
        run_dir = tmp_path

        def outputs_of(self, step_id: str) -> dict:
            return {}

    step = Step(id="lake.rehydrate", component="lake", kind=StepKind.REHYDRATE, depends_on=(), estimate_s=1)
    outcome = runner.run(step, Context())
    manifest = json.loads((tmp_path / "manifests" / "lake.json").read_text())
    # SourceSystem(interval_s=3600) produced batches 0..2: the newest ends three hours after T0.
    assert manifest["data_end"] == iso(T0 + timedelta(hours=3))
    assert outcome.outputs == {"watermark": 2, "recovered_data_timestamp": manifest["data_end"]}
    assert outcome.evidence["last_sync_time"] is None and "no geo-replication lag" in outcome.evidence["note"]
    assert outcome.evidence["source_endpoint"] == f"https://{GEO}.blob.core.windows.net"
    assert arm.requests == []  # no geo-replication stats asked of a backup account
    assert run_validate(runner, Context()).outputs == {"exact": True}


def run_validate(runner, context):
    from orchestrator.model import Step, StepKind

    return runner.run(Step(id="lake.validate", component="lake", kind=StepKind.VALIDATE, depends_on=(), estimate_s=1),
                      context)


@integration
def test_an_account_failover_source_fails_the_primary_over_then_relays_from_its_primary_endpoint(lake, tmp_path):
    """restore.lake.source account-failover: an unplanned failover of the primary account (ARM, the
    spec examples), then its own endpoint (now answering from the paired region) is the source; the
    recovered data timestamp is the lastSyncTime read before the failover."""
    import dataclasses

    from components.lake import LakeRestore
    from orchestrator.data.lake.relay import METHOD as RELAY
    from orchestrator.model import Step, StepKind
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.data_steps import AzureDataSteps
    from stacks.config import load_stack_config
    from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example, example_body
    from tests.lake_failover_examples import CAN_FAIL_OVER, FAILOVER, LAST_SYNC, failed_over

    base = load_stack_config(Path(__file__).resolve().parents[2], "secondary")
    config = dataclasses.replace(base, name_suffix="asez", restore=base.restore.model_copy(
        update={"lake": LakeRestore(source="account-failover")}))
    endpoints = {f"https://{GEO}.blob.core.windows.net": GEO,
                 f"https://{RUNNER_NEW_FAILOVER}.blob.core.windows.net": RUNNER_NEW_FAILOVER}
    state = [example_body(CAN_FAIL_OVER)]

    def fail_over(request):
        state[0] = failed_over()
        return 200, example(FAILOVER)["responses"]["200"].get("body"), {}

    account = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue/providers/Microsoft.Storage/"
               f"storageAccounts/{GEO}")
    arm = ExampleTransport([Route("GET", account, respond=lambda request: (200, state[0], {})),
                            Route("POST", account + "/failover", respond=fail_over)])
    runner = AzureDataSteps(AzureSession(FakeCredential(), SUBSCRIPTION, transport=arm, retry_total=0), config,
                            Graph(stack="secondary", region=config.region, resources=[], components=[
                                {"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None}]),
                            tmp_path, blob_service=lambda endpoint: lake["aad"](endpoints[endpoint]))

    class Context:
        run_dir = tmp_path

        def outputs_of(self, step_id: str) -> dict:
            raise KeyError(step_id)

    step = Step(id="lake.rehydrate", component="lake", kind=StepKind.REHYDRATE, depends_on=(), estimate_s=1)
    outcome = runner.run(step, Context())
    assert [r.method for r in arm.requests] == ["GET", "POST", "GET"]
    assert "failoverType" not in arm.requests[1].url  # unplanned
    assert outcome.outputs == {"watermark": 2, "recovered_data_timestamp": LAST_SYNC}
    evidence = outcome.evidence
    assert evidence["source"] == "account-failover" and evidence["method"] == RELAY
    assert evidence["source_endpoint"] == f"https://{GEO}.blob.core.windows.net"
    assert evidence["account_failover"]["now"]["sku"] == "Standard_LRS" and "lost" in evidence["account_failover"]["trade_off"]
    assert run_validate(runner, Context()).outputs == {"exact": True}
    # resumed: no second failover, same recovery point, nothing copied again
    again = runner.run(step, Context())
    assert [r.method for r in arm.requests][3:] == ["GET"]
    assert again.outputs["recovered_data_timestamp"] == LAST_SYNC and again.evidence["copied"] == 0
