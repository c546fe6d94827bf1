"""The function app's checks through the real azure-mgmt-resource client and azure-core pipeline.
Microsoft.Web/sites has no example payload in the specs kept here: the site's GET is a thin double at
the transport (a hand-written minimal body in the shape ARM returns), and so is the app's own health
endpoint, which no spec describes."""

from __future__ import annotations

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.function_app import SITE_TYPE, function_app_running, function_health_endpoint
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

SITE_ID = arm_id("Microsoft.Web/sites", "dp-func-sec")
HOST = "dp-func-sec.azurewebsites.net"


def site(state: str = "Running", host: str | None = HOST) -> dict:
    return {"id": SITE_ID, "name": "dp-func-sec", "type": "Microsoft.Web/sites", "kind": "functionapp,linux",
            "location": "West US", "properties": {"state": state, "enabled": True, "hostNames": [HOST],
                                                   "defaultHostName": host, "httpsOnly": True}}


def probe_with(body: dict, *routes: Route):
    return service_probe("function_app", [Route("GET", f"(?i){SITE_ID}", body=body), *routes],
                         [deployed(SITE_TYPE, SITE_ID, "2024-04-01")])


def health(status: int) -> Route:
    return Route("GET", "/api/health", status=status, body={"status": "Healthy"} if status == 200 else None)


def test_a_running_app_passes():
    assert function_app_running(probe_with(site())[0]) == {"id": SITE_ID, "state": "Running"}


def test_a_stopped_app_fails_and_a_starting_one_is_waited_for():
    with pytest.raises(PermanentError, match="dp-func-sec: state Stopped, not Running"):
        function_app_running(probe_with(site("Stopped"))[0])
    with pytest.raises(TransientError, match="state Starting"):
        function_app_running(probe_with(site("Starting"))[0])


def test_the_health_route_of_the_apps_host_answers_200_without_a_token():
    probe, transport = probe_with(site(), health(200))
    assert function_health_endpoint(probe) == {"url": f"https://{HOST}/api/health", "status": 200}
    called = transport.requests[-1]
    assert called.url == f"https://{HOST}/api/health"
    assert "Authorization" not in called.headers


def test_a_503_is_worth_another_attempt_while_the_host_starts():
    with pytest.raises(TransientError, match=f"https://{HOST}/api/health: HTTP 503, not 200 yet"):
        function_health_endpoint(probe_with(site(), health(503))[0])


@pytest.mark.parametrize(("status", "said"), [(404, "HTTP 404, not 200$"), (401, "must allow anonymous calls")])
def test_a_missing_or_protected_health_function_fails(status, said):
    with pytest.raises(PermanentError, match=said):
        function_health_endpoint(probe_with(site(), health(status))[0])


def test_a_site_without_a_host_name_fails_before_calling_it():
    probe, transport = probe_with(site(host=None), health(200))
    with pytest.raises(PermanentError, match="dp-func-sec: ARM reports no defaultHostName"):
        function_health_endpoint(probe)
    assert len(transport.requests) == 1
