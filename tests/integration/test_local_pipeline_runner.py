"""The lake's replay by the repository's `ingest_events` pipeline, run by the local pipeline runner
against a real Azurite: a window copied exactly, a wrong window caught by the replay's checks, and a
pipeline using what the runner lacks refused in one line before anything is written.

Every test starts from the same lake: a recovered lake holding batches 0..RECOVERED in every zone (as
rehydration leaves it), with the source holding LATEST batches of 15 minutes each (as in a drill).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azurite_support import azurite_in_tempdir

from orchestrator.data.event_time import RAW_EVENTS, replay_window
from orchestrator.data.ingest import ZONES, LakeSink, ingest_batches
from orchestrator.data.landing import raw_watermark
from orchestrator.data.manifest import lake_facts
from orchestrator.data.pipeline_replay import replay_with_pipeline
from orchestrator.data.replay import data_end
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError
from orchestrator.pipelines.definitions import load_definitions
from orchestrator.pipelines.errors import PipelineError, Unsupported
from orchestrator.pipelines.runner import PipelineRunner
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "lakesecondary"
RECOVERED, LATEST = 5, 8  # batches 6..8 (the last 45 minutes) are what replay must bring back


@pytest.fixture(scope="module")
def azurite():
    make = lambda workdir: AzuriteServer(workdir / "azurite", {ACCOUNT: generate_account_key()})  # noqa: E731
    with azurite_in_tempdir("drctl-runner-", make) as (server, workdir):
        # two devices: each batch lands as two files, and the assertions can name them all
        source = SourceSystem(workdir / "source", batch_size=20, seed=3, interval_s=900, devices=2)
        source.produce(LATEST + 1)
        yield server, source


@pytest.fixture
def lake(azurite):
    """The recovered lake, the same for every test: batches 0..RECOVERED in every zone, nothing after."""
    server, source = azurite
    service = server.service_client(ACCOUNT)
    for zone in ZONES:
        if service.get_container_client(zone).exists():
            service.delete_container(zone)
    ingest_batches(LakeSink(service), (source.batch(k) for k in range(RECOVERED + 1)), source.devices())
    return service, source


def pipelines(tmp_path: Path, edit: Callable[[dict[str, Any]], None], file: str = "ingest_events.json") -> Path:
    folder = tmp_path / "pipelines"
    shutil.copytree(REPO / "pipelines", folder)
    document = json.loads((folder / file).read_text())
    edit(document)
    (folder / file).write_text(json.dumps(document, indent=2))
    return folder


def files(k: int) -> list[str]:
    """Batch k's event files under their hour: one per device (both devices report in every batch)."""
    return [f"batch-{k:06d}-dev-{n:04d}.jsonl" for n in range(2)]


def raw_events(service) -> list[str]:
    return sorted(b.name for b in service.get_container_client("raw").list_blobs(name_starts_with=f"{RAW_EVENTS}/"))


def test_a_replay_copies_exactly_the_hours_of_the_window_after_the_recovered_watermark(lake):
    service, source = lake
    evidence = replay_with_pipeline(service, source, REPO / "pipelines", RECOVERED)

    window = replay_window(data_end(source, RECOVERED), source.latest_end())  # as Azure computes it
    assert evidence["window"] == {"start": window.start, "end": window.end}
    assert (window.start, window.end) == ("2025-12-31T23:30:00Z", "2026-01-01T02:15:00Z")  # two hours' lookback
    run = evidence["run"]
    assert run["runner"] == "local pipeline runner" and run["status"] == "Succeeded"
    assert run["parameters"] == {"windowStart": window.start, "windowEnd": window.end}
    # Four hours in the window; the first holds nothing landed, so GetMetadata says so and nothing is copied.
    checks = evidence["window_check"]
    assert checks["window_hours"] == ["2025/12/31/23", "2026/01/01/00", "2026/01/01/01", "2026/01/01/02"]
    assert checks["hours_copied"] == checks["hours_landed"] == ["2026/01/01/00", "2026/01/01/01", "2026/01/01/02"]
    assert checks["exact"] is True and checks["mismatches"] == []
    assert [c["files"] for c in run["copies"]] == [[f for k in range(h * 4, min(h * 4 + 4, 9)) for f in files(k)]
                                                   for h in range(3)]
    # The raw zone now holds every batch, each under its hour with the source's bytes, and nothing else.
    assert raw_events(service) == [f"events/2026/01/01/{k // 4:02d}/{f}" for k in range(LATEST + 1) for f in files(k)]
    assert evidence["watermark"] == raw_watermark(service, source) == LATEST and evidence["caught_up"] is True
    assert (evidence["rpo_before_replay_s"], evidence["rpo_after_replay_s"]) == (2700.0, 0.0)

    # Replaying again (a retried step) copies the same hours over the same names: nothing changes.
    facts = lake_facts(service, ["raw"])
    again = replay_with_pipeline(service, source, REPO / "pipelines", RECOVERED)
    assert again["window_check"]["exact"] is True and lake_facts(service, ["raw"]) == facts


def _floor_instead_of_ceiling(document):
    # The classic off-by-one: the number of hours rounded down, so the window's last, partial hour is left out.
    items = document["properties"]["activities"][0]["typeProperties"]["items"]
    items["value"] = ("@range(0, div(sub(ticks(pipeline().parameters.windowEnd), "
                      "ticks(startOfHour(pipeline().parameters.windowStart))), 36000000000))")


def test_a_window_one_hour_short_is_caught_and_the_lake_is_not_caught_up(lake, tmp_path):
    service, source = lake
    with pytest.raises(PermanentError) as caught:
        replay_with_pipeline(service, source, pipelines(tmp_path, _floor_instead_of_ceiling), RECOVERED)
    assert str(caught.value) == ("lake replay: ingest_events (run by the local pipeline runner) did not copy its "
                                 "window exactly: hour 2026/01/01/02 of the window holds landed files and was not "
                                 "copied; raw/events/2026/01/01/02/batch-000008-dev-0000.jsonl: missing; "
                                 "raw/events/2026/01/01/02/batch-000008-dev-0001.jsonl: missing")
    evidence = caught.value.evidence
    assert evidence["run"]["status"] == "Succeeded"  # the service would have reported success too
    assert evidence["watermark"] == LATEST - 1 and evidence["caught_up"] is False
    assert evidence["rpo_after_replay_s"] == 900.0  # the last batch, 15 minutes of event time, never came back


def _sink_one_hour_late(document):
    copy = (document["properties"]["activities"][0]["typeProperties"]["activities"][1]
            ["typeProperties"]["ifTrueActivities"][0])
    copy["outputs"][0]["parameters"]["hourPath"]["value"] = \
        "@formatDateTime(addHours(startOfHour(pipeline().parameters.windowStart), add(item(), 1)), 'yyyy/MM/dd/HH')"


def test_files_written_under_the_wrong_hour_are_caught(lake, tmp_path):
    service, source = lake
    with pytest.raises(PermanentError, match=r"copied the hour 2026/01/01/00 of landing into raw/events/2026/01/01/01, "
                                             r"not raw/events/2026/01/01/00") as caught:
        replay_with_pipeline(service, source, pipelines(tmp_path, _sink_one_hour_late), RECOVERED)
    mismatches = caught.value.evidence["window_check"]["mismatches"]
    assert "raw/events/2026/01/01/01/batch-000000-dev-0001.jsonl: not in landing" in mismatches


def _utc_now(document):
    document["properties"]["activities"][0]["typeProperties"]["items"]["value"] = \
        "@range(0, div(sub(ticks(utcNow()), ticks(pipeline().parameters.windowStart)), 36000000000))"


def test_a_pipeline_with_an_unsupported_function_fails_in_one_line_before_anything_is_written(lake, tmp_path):
    service, source = lake
    folder = pipelines(tmp_path, _utc_now)
    before = lake_facts(service, ["raw"])
    with pytest.raises(Unsupported) as refused:
        replay_with_pipeline(service, source, folder, RECOVERED)
    assert str(refused.value) == (f"{folder / 'ingest_events.json'}: pipeline 'ingest_events': activity EachEventHour: "
                                  "the function 'utcNow' (in @range(0, div(sub(ticks(utcNow()), "
                                  "ticks(pipeline().parameters.windowStart)), 36000000000))) is not supported by the "
                                  "local pipeline runner")
    assert lake_facts(service, ["raw"]) == before  # not even the producers' files: the pipeline was refused first


def test_a_window_with_nothing_landed_copies_nothing(lake):
    service, _ = lake
    before = lake_facts(service, ["raw"])
    runner = PipelineRunner(load_definitions(REPO / "pipelines"), {"lake": service})
    run = runner.run("ingest_events", {"windowStart": "2025-06-01T00:00:00Z", "windowEnd": "2025-06-01T03:00:00Z"})
    assert run["copies"] == []
    assert [a["output"] for a in run["activity_runs"] if a["type"] == "GetMetadata"] == [{"exists": False}] * 3
    assert lake_facts(service, ["raw"]) == before


def test_copying_a_folder_that_does_not_exist_fails_the_run(lake, tmp_path):
    def copy_without_looking(document):
        for_each = document["properties"]["activities"][0]["typeProperties"]
        copy = for_each["activities"][1]["typeProperties"]["ifTrueActivities"][0]
        for_each["activities"] = [copy]

    service, _ = lake
    runner = PipelineRunner(load_definitions(pipelines(tmp_path, copy_without_looking)), {"lake": service})
    with pytest.raises(PipelineError, match=r"activity EachEventHour\[0\]/CopyEventHour: the source folder "
                                            r"raw/landing/events/2025/06/01/00 does not exist"):
        runner.run("ingest_events", {"windowStart": "2025-06-01T00:00:00Z", "windowEnd": "2025-06-01T01:00:00Z"})
