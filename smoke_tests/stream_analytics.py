"""Azure Stream Analytics' checks, all through Azure Resource Manager (no Stream Analytics management
package is installed: the operations go through the probe's ARM client,
https://learn.microsoft.com/rest/api/streamanalytics/):

- smoke `job-running`: the job's `jobState` is Running (Created, Starting, Restarting, Scaling are on
  their way and retried: a job deployed with an output start mode starts by itself);
- smoke `input-output-test`: the service's own connection test (the portal's "Test connection", the
  `test` action) on every input and output of the job: it reaches the hub and the lake with the job's
  identity, which a running state alone does not prove;
- data `output-watermark-advancing`: the job's OutputWatermarkDelaySeconds metric (Azure Monitor's
  metrics REST API on the job, the API the azure-monitor-querymetrics client calls; azure-monitor-query
  2.x no longer has a metrics client) over the last 15 minutes. A stuck watermark shows as a delay that
  grows with the clock: the newest delay must be reported, under MAX_DELAY_S, and not have grown by the
  time between the samples. Against a baseline's `last_output_event_time` (recorded before the
  disaster), the job's `lastOutputEventTime` must be later: output resumed past it.
https://learn.microsoft.com/azure/stream-analytics/stream-analytics-job-metrics
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from smoke_tests.arm_rest import arm_json, arm_list
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "stream_analytics"
JOB_TYPE = "azure-native:streamanalytics:StreamingJob"
COMING_RUNNING = frozenset({"Created", "Starting", "Restarting", "Scaling"})
METRIC = "OutputWatermarkDelaySeconds"
METRICS_API = "2023-10-01"  # Microsoft.Insights/metrics, stable
WINDOW = timedelta(minutes=15)
# The delay a healthy job keeps is its windows' length plus seconds of processing; five minutes behind
# is well past any window this platform's queries use.
MAX_DELAY_S = 300.0
NO_PAYLOAD = TRANSPORT_DOUBLE + "hand-written Stream Analytics and Monitor metrics bodies: the spec examples kept here have none"


def job_running(probe: ServiceProbe) -> dict:
    return provisioned(probe, JOB_TYPE, "jobState", frozenset({"Running"}), COMING_RUNNING)


def input_output_test(probe: ServiceProbe) -> dict:
    job = probe.resource(JOB_TYPE)
    version = probe.api_version(job)
    results: dict[str, dict[str, Any]] = {}
    for kind in ("inputs", "outputs"):
        for item in arm_list(probe, f"{job['id']}/{kind}", version):
            name = str(item.get("name"))
            status = arm_json(probe, "POST", f"{job['id']}/{kind}/{name}/test", version) or {}
            results.setdefault(kind, {})[name] = {"status": status.get("status"), "error": status.get("error")}
    evidence = {"id": job["id"], **{kind: {n: r["status"] for n, r in got.items()} for kind, got in results.items()}}
    if not results:
        raise PermanentError("stream analytics: the job has no input or output to test", evidence)
    failed = {f"{kind[:-1]} {name}": r for kind, got in results.items() for name, r in got.items()
              if r["status"] != "TestSucceeded"}
    if failed:
        first, result = next(iter(failed.items()))
        reason = (result["error"] or {}).get("message") or result["status"]
        raise PermanentError(f"stream analytics: connection test failed for {', '.join(failed)} ({first}: {reason})",
                             {**evidence, "errors": {k: r["error"] for k, r in failed.items()}})
    return evidence


def output_watermark_advancing(probe: ServiceProbe, now: datetime | None = None) -> tuple[list[str], dict]:
    """Judged on the metric, and against the baseline's `last_output_event_time` when recorded."""
    job = probe.resource(JOB_TYPE)
    end = now or datetime.now(UTC)
    samples = _delays(probe, str(job["id"]), end - WINDOW, end)
    properties = probe.get(job).get("properties") or {}
    last_output = properties.get("lastOutputEventTime")
    facts: dict[str, Any] = {"samples": len(samples), "last_output_event_time": last_output,
                             "job_state": properties.get("jobState")}
    if not samples:
        return [f"the job reported no {METRIC} in the last {WINDOW.seconds // 60} minutes: no output"], facts
    (first_at, first), (newest_at, newest) = samples[0], samples[-1]
    facts.update(delay_s=newest, at=newest_at.isoformat())
    mismatches = []
    if newest > MAX_DELAY_S:
        mismatches.append(f"the output watermark is {newest:.0f} s behind (more than {MAX_DELAY_S:.0f} s)")
    elapsed = (newest_at - first_at).total_seconds()
    if len(samples) >= 3 and elapsed > 0 and newest - first >= 0.9 * elapsed:
        mismatches.append(f"the output watermark did not move for {elapsed:.0f} s: its delay grew from "
                          f"{first:.0f} s to {newest:.0f} s")
    recorded = (probe.baseline.get("output-watermark-advancing") or {}).get("last_output_event_time")
    if recorded:
        facts["baseline_last_output_event_time"] = recorded
        if not last_output or _time(str(last_output)) <= _time(str(recorded)):
            mismatches.append(f"the job's last output event time {last_output} is not past the {recorded} recorded "
                              "before the disaster")
    return mismatches, facts


def _delays(probe: ServiceProbe, job_id: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """(time, maximum delay) of every minute with a value, oldest first."""
    timespan = f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    answer = arm_json(probe, "GET", f"{job_id}/providers/Microsoft.Insights/metrics", METRICS_API, params={
        "metricnames": METRIC, "aggregation": "Maximum", "interval": "PT1M", "timespan": timespan}) or {}
    points = [point for metric in answer.get("value") or [] for series in metric.get("timeseries") or []
              for point in series.get("data") or [] if point.get("maximum") is not None]
    return sorted((_time(str(p["timeStamp"])), float(p["maximum"])) for p in points)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


CHECKS = (
    smoke(COMPONENT, "job-running", job_running, AZURE, plane="management", tested_against=NO_PAYLOAD),
    smoke(COMPONENT, "input-output-test", input_output_test, AZURE, plane="management", tested_against=NO_PAYLOAD),
    data(COMPONENT, "output-watermark-advancing", output_watermark_advancing, AZURE, plane="management",
         tested_against=NO_PAYLOAD),
)
