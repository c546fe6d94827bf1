"""`drctl failover --recovery-point`'s lake path (orchestrator/targets/azure/stores/lake_point.py),
run by the Azure lake steps against an OAuth Azurite through the real azure-storage-blob SDK,
with Entra tokens only: each blob restored as it was at the point, from its snapshots.

The backup account (restore.lake.source backup-account) plays the rehydration source, so no ARM
call is made. What is not exercised: Azure itself (its -secondary endpoint serving snapshots, the
grain of its Last-Modified); the report says so.

The story: three batches are ingested and every blob snapshotted (the backup schedule); then the
point; then "the anomaly": a reference file overwritten, a note dropped into raw, one more batch
ingested (which rewrites the watermark). Restored at the point, the new account must hold the
pre-anomaly lake exactly, without the blobs created after it, which stay in the source.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.recovery import validate_lake
from orchestrator.data.recovery_point import as_text
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError, Step, StepKind
from orchestrator.targets.azure.stores.lake_point import LakeAtPoint, manifest_at_point
from tests.oauth_azurite import EntraLikeCredential, OAuthAzurite, oauth_azurite_in_tempdir

pytestmark = pytest.mark.integration

BACKUP, NEW, UNSNAPPED = "contosobackup", "contosolakeasex", "contosounsnapped"
DEVICES = ("curated", "reference/devices.csv")
NOTE = ("raw", "READ-ME-TO-DECRYPT.txt")


def _seed(server: OAuthAzurite, cert: Path, account: str) -> BlobServiceClient:
    # Seeding the source is not on the recovery path: a shared-key client is fine here.
    return BlobServiceClient(server.blob_endpoint(account), connection_verify=str(cert),
                             credential={"account_name": account, "account_key": server.account_key(account)})


def _snapshot_all(service: BlobServiceClient) -> None:
    for zone in ZONES:
        for blob in service.get_container_client(zone).list_blobs():
            service.get_blob_client(zone, blob.name).create_snapshot()


def _after_a_second() -> datetime:
    """A point strictly between what came before and what comes after, at the listing's 1 s grain."""
    time.sleep(1.2)
    point = datetime.now(UTC)
    time.sleep(1.2)
    return point


@pytest.fixture(scope="module")
def lake():
    with oauth_azurite_in_tempdir("drctl-lake-point-", (BACKUP, NEW, UNSNAPPED)) as (server, cert, workdir):
        seed = _seed(server, cert, BACKUP)
        source = SourceSystem(workdir / "source", batch_size=20, seed=7, interval_s=3600)
        source.produce(3)
        catch_up([LakeSink(seed)], source)
        _snapshot_all(seed)
        before = {DEVICES: seed.get_blob_client(*DEVICES).download_blob().readall()}
        point = _after_a_second()
        seed.get_blob_client(*DEVICES).upload_blob(b"encrypted", overwrite=True)
        seed.get_blob_client(*NOTE).upload_blob(b"pay us")
        source.produce(1)
        catch_up([LakeSink(seed)], source)

        def aad(account: str) -> BlobServiceClient:
            from orchestrator.targets.azure.stores.lake import aad_blob_service

            return aad_blob_service(server.blob_endpoint(account), EntraLikeCredential(), connection_verify=str(cert))

        yield {"server": server, "cert": cert, "aad": aad, "point": point, "before": before, "seed": seed,
               "workdir": workdir}


def _runner(lake, run_dir: Path, point: datetime):
    from components.lake import LakeRestore
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.data_steps import AzureDataSteps
    from stacks.config import load_stack_config
    from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential

    base = load_stack_config(Path(__file__).resolve().parents[2], "secondary")
    # server-side asked for: with a point the relay is used anyway (a SAS of the base blob cannot read a snapshot)
    backup = LakeRestore(source="backup-account", sourceAccount=BACKUP, copy="server-side")
    config = dataclasses.replace(base, name_suffix="asex", restore=base.restore.model_copy(update={"lake": backup}))
    endpoints = {f"https://{BACKUP}.blob.core.windows.net": BACKUP, f"https://{NEW}.blob.core.windows.net": NEW}
    # the run directory's run.json carries the point, as `drctl failover --recovery-point` writes it
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_dir.name, "kind": "failover", "stack": "secondary",
                                                  "recovery_point": as_text(point)}))
    arm = ExampleTransport([])
    graph = Graph(stack="secondary", region=config.region, resources=[], components=[
        {"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None}])
    runner = AzureDataSteps(AzureSession(FakeCredential(), SUBSCRIPTION, transport=arm, retry_total=0), config, graph,
                            run_dir, blob_service=lambda endpoint: lake["aad"](endpoints[endpoint]),
                            poll_interval_s=0.02)

    class Context:
        def outputs_of(self, step_id: str) -> dict:
            return {}

    def run(kind: StepKind):
        return runner.run(Step(id=f"lake.{kind}", component="lake", kind=kind, depends_on=(), estimate_s=1), Context())

    return run, arm


def test_the_lake_is_restored_as_it_was_at_the_point_and_what_came_after_stays_in_the_source(lake, tmp_path):
    point = lake["point"]
    new = lake["aad"](NEW)
    new.create_container("raw")
    new.get_blob_client(*NOTE).upload_blob(b"copied by an earlier attempt without the point")
    run, arm = _runner(lake, tmp_path, point)

    outcome = run(StepKind.REHYDRATE)
    manifest = json.loads((tmp_path / "manifests" / "lake.json").read_text())
    assert manifest["watermark"] == 2 and manifest["recovery_point"] == as_text(point)  # batch 3 came after
    assert outcome.outputs["watermark"] == 2 and outcome.outputs["recovery_point"] == as_text(point)
    assert outcome.outputs["recovered_data_timestamp"] == manifest["data_end"]
    assert "not exercised against Azure" in outcome.outputs["restore_note"]
    evidence = outcome.evidence
    assert evidence["method"].startswith("relay")  # server-side was asked for; a snapshot needs the relay
    assert evidence["blobs_from_snapshot"] >= 2  # the overwritten reference file and the rewritten watermark
    assert f"{NOTE[0]}/{NOTE[1]}" in evidence["blobs_created_after_point"]
    assert any(name.startswith("raw/events/") for name in evidence["blobs_created_after_point"])  # batch 3
    assert evidence["blobs_pruned_from_new_account"] == [f"{NOTE[0]}/{NOTE[1]}"]
    assert arm.requests == []

    assert new.get_blob_client(*DEVICES).download_blob().readall() == lake["before"][DEVICES]
    assert not new.get_blob_client(*NOTE).exists()
    assert lake["seed"].get_blob_client(*NOTE).exists()  # moved aside in effect: the source keeps it
    validated = run(StepKind.VALIDATE)
    assert validated.outputs == {"exact": True}
    assert validated.evidence["compared_against"] == {"manifest": "lake.json", "recovery_point": as_text(point)}


def test_a_blob_changed_after_the_point_with_no_snapshot_before_it_fails_naming_it(lake):
    seed = _seed(lake["server"], lake["cert"], UNSNAPPED)
    for zone in ZONES:
        seed.create_container(zone)
    seed.get_blob_client("raw", "kept.json").upload_blob(b"{}")
    seed.get_blob_client("raw", "kept.json").create_snapshot()
    seed.get_blob_client("curated", "never-snapshotted.csv").upload_blob(b"a")
    point = _after_a_second()
    # Changed after the point without being re-created: Azurite resets Creation-Time when a blob is
    # overwritten (lake_point.py says what that means), so the change here is to its metadata.
    seed.get_blob_client("curated", "never-snapshotted.csv").set_blob_metadata({"encrypted": "yes"})
    at = LakeAtPoint(lake["aad"](UNSNAPPED), point)
    with pytest.raises(PermanentError, match=r"1 blob\(s\) changed after the recovery point .* no snapshot at or "
                                             r"before it: curated/never-snapshotted.csv") as caught:
        manifest_at_point(at, ZONES, account=UNSNAPPED)
    assert caught.value.evidence["blobs_without_snapshot"] == ["curated/never-snapshotted.csv"]


def test_a_point_after_everything_takes_the_current_blobs_and_the_validation_is_exact(lake, tmp_path):
    at = LakeAtPoint(lake["aad"](BACKUP), datetime.now(UTC))
    time.sleep(1.2)  # the listing's grain: a blob changed in the point's own second counts as after it
    at.point = datetime.now(UTC)
    manifest = manifest_at_point(at, ZONES, account=BACKUP)
    assert manifest["watermark"] == 3 and at.from_snapshot == 0 and at.created_after == []
    assert validate_lake(lake["aad"](BACKUP), manifest).exact
