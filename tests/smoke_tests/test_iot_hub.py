"""IoT Hub's checks through the real ARM client. The spec examples kept here have no IoT Hub payload,
so every body below is a hand-written minimal answer of the documented shape (a transport double):
https://learn.microsoft.com/rest/api/iothub/iot-hub-resource"""

from __future__ import annotations

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.iot_hub import CHECKS, HUB_TYPE, device_count, endpoint_health, hub_active
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

HUB_ID = arm_id("Microsoft.Devices/IotHubs", "dp-iot-sec")
API = "2023-06-30"


def _hub(state: str = "Active") -> dict:
    return {"id": HUB_ID, "name": "dp-iot-sec", "type": "Microsoft.Devices/IotHubs", "location": "westus",
            "sku": {"name": "S1", "capacity": 1},
            "properties": {"state": state, "provisioningState": "Succeeded", "hostName": "dp-iot-sec.azure-devices.net"}}


def _probe(*routes: Route, baseline=None):
    return service_probe("iot_hub", list(routes), [deployed(HUB_TYPE, HUB_ID, API)], baseline=baseline)


def _health(*entries: tuple[str, str]) -> Route:
    body = {"value": [{"endpointId": name, "healthStatus": status,
                       **({"lastKnownError": "Unauthorized"} if status in ("unhealthy", "dead") else {})}
                      for name, status in entries]}
    return Route("GET", f"(?i){HUB_ID}/routingEndpointsHealth", body=body)


def _stats(total: int) -> Route:
    return Route("GET", f"(?i){HUB_ID}/IotHubStats",
                 body={"totalDeviceCount": total, "enabledDeviceCount": total, "disabledDeviceCount": 0})


def test_an_active_hub_passes_with_its_state_as_evidence():
    probe, transport = _probe(Route("GET", f"(?i){HUB_ID}", body=_hub()))
    assert hub_active(probe) == {"id": HUB_ID, "state": "Active"}
    assert f"api-version={API}" in transport.requests[0].url


@pytest.mark.parametrize(("state", "error"), [("Suspended", PermanentError), ("FailoverFailed", PermanentError),
                                              ("FailingOver", TransientError), ("Activating", TransientError)])
def test_a_hub_not_active_fails_or_is_waited_for(state, error):
    with pytest.raises(error, match=f"state {state}, not Active"):
        hub_active(_probe(Route("GET", f"(?i){HUB_ID}", body=_hub(state)))[0])


def test_healthy_and_not_yet_used_endpoints_pass():
    probe, transport = _probe(_health(("lake-route", "healthy"), ("alerts", "unknown")))
    assert endpoint_health(probe)["endpoints"] == {"lake-route": "healthy", "alerts": "unknown"}
    assert "/routingEndpointsHealth" in transport.requests[0].url and f"api-version={API}" in transport.requests[0].url


def test_a_hub_with_no_custom_endpoint_has_nothing_unhealthy():
    assert endpoint_health(_probe(_health())[0])["endpoints"] == {}


@pytest.mark.parametrize("status", ["unhealthy", "dead"])
def test_an_unhealthy_or_dead_endpoint_fails_naming_it_and_its_error(status):
    with pytest.raises(PermanentError, match=f"lake-route {status}") as failed:
        endpoint_health(_probe(_health(("alerts", "healthy"), ("lake-route", status)))[0])
    assert failed.value.evidence["last_known_errors"] == {"lake-route": "Unauthorized"}


def test_a_degraded_endpoint_is_retried():
    with pytest.raises(TransientError, match="lake-route degraded"):
        endpoint_health(_probe(_health(("lake-route", "degraded")))[0])


def test_every_page_of_endpoints_is_read():
    first = Route("GET", f"(?i){HUB_ID}/routingEndpointsHealth", body={
        "value": [{"endpointId": "a", "healthStatus": "healthy"}],
        "nextLink": f"https://management.azure.com{HUB_ID}/routingEndpointsHealth/page2?api-version={API}"})
    second = Route("GET", f"(?i){HUB_ID}/routingEndpointsHealth/page2",
                   body={"value": [{"endpointId": "b", "healthStatus": "dead"}]})
    with pytest.raises(PermanentError, match="b dead"):
        endpoint_health(_probe(second, first)[0])


def test_the_device_count_matches_or_exceeds_the_baseline():
    mismatches, facts = device_count(_probe(_stats(42), baseline={"device-count": {"total_device_count": 40}})[0])
    assert mismatches == [] and facts["totalDeviceCount"] == 42 and facts["baseline_total_device_count"] == 40


def test_fewer_devices_than_recorded_is_a_mismatch():
    mismatches, _ = device_count(_probe(_stats(37), baseline={"device-count": {"total_device_count": 40}})[0])
    assert mismatches == ["the registry holds 37 device(s), 40 were recorded before the disaster (3 missing)"]


def test_without_a_baseline_the_devices_are_counted_for_the_report():
    mismatches, facts = device_count(_probe(_stats(5))[0])
    assert mismatches == [] and facts["totalDeviceCount"] == 5 and "no baseline" in facts["judged"]


def test_a_hub_that_refuses_the_statistics_fails_the_check():
    route = Route("GET", f"(?i){HUB_ID}/IotHubStats", status=403,
                  body={"error": {"code": "AuthorizationFailed", "message": "no"}})
    with pytest.raises(PermanentError, match="403"):
        device_count(_probe(route, baseline={"device-count": {"total_device_count": 1}})[0])


def test_every_check_is_implemented_and_says_what_it_was_tested_against():
    assert all(check.implemented and check.tested_against.startswith("transport double: ") for check in CHECKS)
