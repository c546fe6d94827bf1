"""The fallback's data steps on Azure (fallback_steps.py) against real stores: both lake accounts
on the Entra-token Azurite of test_azure_lake.py (its fixture, imported), PostgreSQL on a local
server. The primary holds what it had at the disaster (batches 0..2); the secondary went on
serving (0..5). Not exercised here: the Entra sign-in to PostgreSQL (the DSNs are injected) and
real Azure endpoints (the accounts are Azurite's, reached by the names the stacks give them).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.storage.blob import BlobServiceClient

from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem, iso
from orchestrator.model import PermanentError, Step, StepKind, TransientError
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.fallback.steps import AzureFallbackSteps
from stacks.config import load_stack_config
from stacks.schema import FallbackConfig
from tests.azure_fixtures import SUBSCRIPTION, FakeCredential
from tests.integration import test_azure_lake

REPO = Path(__file__).resolve().parents[2]
PRIMARY, SECONDARY = test_azure_lake.GEO, test_azure_lake.NEW  # contosolakeaue, contosolakease: the stacks' names
lake = test_azure_lake.lake  # the OAuth Azurite, its accounts and the Entra-token clients (module scope)
pytestmark = pytest.mark.integration


def source(directory: Path, batches: int) -> SourceSystem:
    system = SourceSystem(directory, batch_size=20, seed=7, interval_s=3600, devices=1)  # as test_azure_lake seeds the primary
    system.produce(batches)
    return system


@pytest.fixture(scope="module")
def regions(lake):
    from orchestrator.targets.local.servers.postgres import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="drctl-azure-fallback-"))
    server = lake["server"]
    postgres = PostgresServer(root / "postgres")
    try:
        postgres.start()
        dsns = {}
        for region in ("primary", "secondary"):
            postgres.create_database(f"{region}_db")
            dsns[region] = postgres.dsn(f"{region}_db")
        # Seeding is not the recovery path: a shared-key client is fine for the secondary's batches.
        seed = BlobServiceClient(server.blob_endpoint(SECONDARY), connection_verify=str(server.cert),
                                 credential={"account_name": SECONDARY, "account_key": server.account_key(SECONDARY)})
        served = source(root / "served", 6)
        catch_up([LakeSink(seed), PostgresSink(dsns["secondary"])], served)
        catch_up([PostgresSink(dsns["primary"])], source(root / "at-disaster", 3))
        yield {"dsns": dsns, "served": served, "seed": seed}
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Context:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self.cancelled = run_dir, False


def fallback_steps(tmp_path: Path, lake, regions, clock: Clock | None = None) -> AzureFallbackSteps:
    clock = clock or Clock()
    config = load_stack_config(REPO, "primary")
    config = replace(config, fallback=FallbackConfig.model_validate({"parallelRunMinutes": 1}))
    graph = Graph(stack="primary", region=config.region, resources=[], components=[
        {"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None},
        {"urn": "urn:p", "type": "dataplatform:data:PostgresServer", "name": "postgres", "component": None}])
    unused = PulumiStack(REPO, "primary")  # the data steps never reach Pulumi
    return AzureFallbackSteps(
        AzureSession(FakeCredential(), SUBSCRIPTION), config, load_stack_config(REPO, "secondary"), graph, tmp_path,
        stack=unused, secondary_stack=unused, blob_service=lambda endpoint: lake["aad"](urlsplit(endpoint).hostname.split(".")[0]),
        pg_dsn=regions["dsns"].__getitem__, poll_interval_s=0.02, max_in_flight=3, sleep=clock.sleep,
        clock=lambda: clock.now)


def run(steps: AzureFallbackSteps, component: str, kind: StepKind, context: Context | None = None):
    step = Step(id=f"{component}.{kind}", component=component, kind=kind, depends_on=(), estimate_s=1)
    return steps(step, context or Context(steps.run_dir))


def test_the_lake_gets_what_the_secondary_served_from_its_system_date_on(tmp_path, lake, regions):
    steps = fallback_steps(tmp_path, lake, regions)
    with pytest.raises(PermanentError, match="lake: the primary does not match the secondary") as before:
        run(steps, "lake", StepKind.VALIDATE)
    assert before.value.evidence["watermark"] == {"expected": 5, "actual": 2}
    sent = len(lake["requests"])
    outcome = run(steps, "lake", StepKind.REHYDRATE)
    served = regions["served"]
    assert outcome.outputs == {"watermark": 5, "system_date": iso(served.window(2)[1]),
                               "recovered_data_timestamp": iso(served.window(5)[1])}
    evidence = outcome.evidence
    assert evidence["source_account"] == SECONDARY and evidence["dest_account"] == PRIMARY
    # Batches 3..5 in each zone, their landing files in raw (where producers drop them for the
    # ingestion pipeline), and the newer watermark record.
    assert evidence["copied"] == 3 * 4 + 3 + 1
    assert evidence["skipped"] == 3 * 4 + 3 + 1  # batches 0..2 (and their landing files), the reference data
    assert evidence["zones_copied"] == ["raw", "enriched", "curated", "presentation"]
    ours = lake["requests"][sent:]
    assert {scheme for _, scheme, _ in ours} == {"Bearer"}  # no account key on the fallback's path
    # Relayed through drctl: the secondary lake is private-only, so no request names a copy source
    # for the primary's storage service to fetch (and no SAS is signed).
    assert not [url for _, _, url in ours if url]
    validated = run(steps, "lake", StepKind.VALIDATE)
    assert validated.evidence["exact"] and validated.evidence["watermark"] == {"expected": 5, "actual": 5}
    assert set(validated.evidence["details"]) == {"raw", "enriched", "curated", "presentation"}


def test_postgres_establishes_its_date_and_validates_table_by_table(tmp_path, lake, regions):
    steps = fallback_steps(tmp_path, lake, regions)
    established = run(steps, "postgres", StepKind.REHYDRATE)
    assert established.outputs["watermark"] == 2
    assert established.outputs["system_date"] == regions["served"].window(2)[1].strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(PermanentError, match="postgres: the primary does not match the secondary") as missing:
        run(steps, "postgres", StepKind.VALIDATE)
    assert {m.split(":")[0] for m in missing.value.evidence["mismatches"]} == {"events", "ingestion_watermark"}
    # what a replay would bring (no pipeline of the repository loads PostgreSQL on Azure)
    catch_up([PostgresSink(regions["dsns"]["primary"])], regions["served"])
    validated = run(steps, "postgres", StepKind.VALIDATE)
    assert validated.evidence["exact"] and validated.evidence["details"]["events"]["actual"]["rows"] == 6 * 20


def test_the_parallel_run_waits_its_window_in_slices_then_compares_both_stores(tmp_path, lake, regions):
    clock = Clock()
    steps = fallback_steps(tmp_path, lake, regions, clock)
    run(steps, "lake", StepKind.REHYDRATE)  # in sync first, whatever ran before
    catch_up([PostgresSink(regions["dsns"]["primary"])], regions["served"])
    outcome = run(steps, "platform", StepKind.PARALLEL_RUN)
    assert clock.slept == [5.0] * 12 and outcome.outputs == {"window_s": 60, "compared": ["lake", "postgres"]}
    assert outcome.evidence["lake"]["exact"] and outcome.evidence["postgres"]["exact"]
    # the secondary ingests a batch the primary misses during the window: no switch
    regions["served"].produce(1)
    catch_up([LakeSink(regions["seed"])], regions["served"])
    with pytest.raises(PermanentError, match="lake: the primary does not match the secondary"):
        run(steps, "platform", StepKind.PARALLEL_RUN)
    interrupted = Context(tmp_path)
    interrupted.cancelled = True
    with pytest.raises(TransientError, match="interrupted during the parallel run"):
        run(steps, "platform", StepKind.PARALLEL_RUN, interrupted)
