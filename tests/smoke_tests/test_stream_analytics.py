"""Stream Analytics' checks through the real ARM client. The spec examples kept here have no Stream
Analytics or Monitor metrics payload, so every body below is a hand-written minimal answer of the
documented shape (a transport double): https://learn.microsoft.com/rest/api/streamanalytics/ and
https://learn.microsoft.com/rest/api/monitor/metrics/list"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.stream_analytics import (
    CHECKS,
    JOB_TYPE,
    METRIC,
    input_output_test,
    job_running,
    output_watermark_advancing,
)
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

JOB_ID = arm_id("Microsoft.StreamAnalytics/streamingjobs", "asa-dp-sec")
API = "2020-03-01"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _job(state: str = "Running", last_output: str | None = "2026-05-01T11:59:30Z") -> Route:
    return Route("GET", f"(?i){JOB_ID}", body={
        "id": JOB_ID, "name": "asa-dp-sec", "type": "Microsoft.StreamAnalytics/streamingjobs", "location": "westus",
        "properties": {"jobState": state, "provisioningState": "Succeeded", "lastOutputEventTime": last_output}})


def _probe(*routes: Route, baseline=None):
    return service_probe("stream_analytics", list(routes), [deployed(JOB_TYPE, JOB_ID, API)], baseline=baseline)


def _listed(kind: str, *names: str) -> Route:
    return Route("GET", f"(?i){JOB_ID}/{kind}", body={"value": [{"id": f"{JOB_ID}/{kind}/{n}", "name": n}
                                                                 for n in names]})


def _test(kind: str, name: str, status: str = "TestSucceeded", *, accepted: bool = False) -> list[Route]:
    """The test action: at once, or accepted (202) and then its result at the Location."""
    result = {"status": status, "error": None if status == "TestSucceeded" else
              {"code": "BadRequest", "message": "Access to the Event Hub was denied"}}
    if not accepted:
        return [Route("POST", f"(?i){JOB_ID}/{kind}/{name}/test", body=result)]
    location = f"https://management.azure.com{JOB_ID}/{kind}/{name}/test/operationresults/1?api-version={API}"
    return [Route("POST", f"(?i){JOB_ID}/{kind}/{name}/test", status=202, headers={"Location": location,
                                                                                  "Retry-After": "0"}),
            Route("GET", f"(?i){JOB_ID}/{kind}/{name}/test/operationresults/1", body=result)]


def _metric(*delays: float, minutes_apart: int = 1) -> Route:
    start = NOW - timedelta(minutes=minutes_apart * len(delays))
    data = [{"timeStamp": (start + timedelta(minutes=minutes_apart * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "maximum": delay} for i, delay in enumerate(delays)]
    data.insert(0, {"timeStamp": (start - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})  # a minute with no value
    return Route("GET", f"(?i){JOB_ID}/providers/Microsoft.Insights/metrics", body={
        "value": [{"name": {"value": METRIC}, "unit": "Seconds", "timeseries": [{"data": data}]}]})


def test_a_running_job_passes():
    assert job_running(_probe(_job())[0]) == {"id": JOB_ID, "jobState": "Running"}


@pytest.mark.parametrize(("state", "error"), [("Stopped", PermanentError), ("Failed", PermanentError),
                                              ("Degraded", PermanentError), ("Starting", TransientError)])
def test_a_job_not_running_fails_or_is_waited_for(state, error):
    with pytest.raises(error, match=f"jobState {state}, not Running"):
        job_running(_probe(_job(state))[0])


def test_every_input_and_output_is_tested_and_passes():
    probe, transport = _probe(_listed("inputs", "events"), _listed("outputs", "lake"), *_test("inputs", "events"),
                              *_test("outputs", "lake", accepted=True))
    assert input_output_test(probe) == {"id": JOB_ID, "inputs": {"events": "TestSucceeded"},
                                        "outputs": {"lake": "TestSucceeded"}}
    posted = [r.url for r in transport.requests if r.method == "POST"]
    assert len(posted) == 2 and all(f"api-version={API}" in url for url in posted)


def test_an_input_the_job_cannot_reach_fails_naming_it_and_why():
    probe, _ = _probe(_listed("inputs", "events"), _listed("outputs", "lake"),
                      *_test("inputs", "events", "TestFailed", accepted=True), *_test("outputs", "lake"))
    with pytest.raises(PermanentError, match=r"failed for input events \(input events: Access to the Event Hub"):
        input_output_test(probe)


def test_a_job_with_nothing_to_test_fails():
    with pytest.raises(PermanentError, match="no input or output to test"):
        input_output_test(_probe(_listed("inputs"), _listed("outputs"))[0])


def test_a_watermark_close_behind_passes_and_the_metric_is_asked_for_by_name():
    probe, transport = _probe(_job(), _metric(12, 40, 8, 35))
    mismatches, facts = output_watermark_advancing(probe, now=NOW)
    assert mismatches == [] and facts["delay_s"] == 35 and facts["samples"] == 4
    query = parse_qs(urlparse(transport.requests[0].url).query)
    assert query["metricnames"] == [METRIC] and query["aggregation"] == ["Maximum"]
    assert query["timespan"] == ["2026-05-01T11:45:00Z/2026-05-01T12:00:00Z"]


def test_a_watermark_far_behind_is_a_mismatch():
    mismatches, _ = output_watermark_advancing(_probe(_job(), _metric(20, 900))[0], now=NOW)
    assert mismatches == ["the output watermark is 900 s behind (more than 300 s)"]


def test_a_watermark_that_does_not_move_is_a_mismatch_before_the_delay_is_large():
    mismatches, _ = output_watermark_advancing(_probe(_job(), _metric(30, 90, 150, 210))[0], now=NOW)
    assert mismatches == ["the output watermark did not move for 180 s: its delay grew from 30 s to 210 s"]


def test_no_metric_at_all_means_no_output():
    mismatches, _ = output_watermark_advancing(_probe(_job(), _metric())[0], now=NOW)
    assert mismatches == ["the job reported no OutputWatermarkDelaySeconds in the last 15 minutes: no output"]


def test_output_must_have_resumed_past_the_recorded_time():
    baseline = {"output-watermark-advancing": {"last_output_event_time": "2026-05-01T11:59:30Z"}}
    mismatches, facts = output_watermark_advancing(_probe(_job(), _metric(5, 6), baseline=baseline)[0], now=NOW)
    assert mismatches == ["the job's last output event time 2026-05-01T11:59:30Z is not past the "
                          "2026-05-01T11:59:30Z recorded before the disaster"]
    assert facts["baseline_last_output_event_time"] == "2026-05-01T11:59:30Z"
    later = {"output-watermark-advancing": {"last_output_event_time": "2026-05-01T11:00:00Z"}}
    assert output_watermark_advancing(_probe(_job(), _metric(5, 6), baseline=later)[0], now=NOW)[0] == []


def test_every_check_is_implemented_and_says_what_it_was_tested_against():
    assert all(check.implemented and check.tested_against.startswith("transport double: ") for check in CHECKS)
