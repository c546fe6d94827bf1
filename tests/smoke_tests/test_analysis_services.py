"""Analysis Services' checks, through the real Resource Manager client and an azure-core REST pipeline.

No Microsoft.AnalysisServices example payload is kept with the Azure REST API specs here, and the
asynchronous refresh REST API is not in the specs at all: the bodies below are a thin double at the
transport, hand-written in the shape the refresh API's documentation gives
(https://learn.microsoft.com/azure/analysis-services/analysis-services-async-refresh)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from smoke_tests import analysis_services as aas
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

SERVER_ID = arm_id("Microsoft.AnalysisServices/servers", "dpaassec")
FULL_NAME = "asazure://westus.asazure.windows.net/dpaassec"


def _run(status, start, end="2025-03-01T02:10:00Z"):
    return {"refreshId": f"id-{start}", "startTime": start, "endTime": end, "status": status}


GOOD = {"sales": [_run("failed", "2025-03-01T01:00:00Z"), _run("succeeded", "2025-03-01T02:00:00Z")],
        "Adventure Works": [_run("succeeded", "2025-03-01T02:05:00Z")]}
BASELINE = {"model-refresh": {"models": {"sales": "succeeded", "Adventure Works": "succeeded"}}}


def _probe(*, state="Succeeded", history=None, baseline=BASELINE, full_name=FULL_NAME, refused=False):
    history = GOOD if history is None else history

    def refreshes(request):
        if refused:
            return 403, {"code": "Unauthorized", "message": "not a server administrator"}, {}
        model = unquote(re.search(r"/models/([^/]+)/refreshes", request.url).group(1))
        if model not in history:
            return 404, {"code": "NotFound", "message": f"model {model} not found"}, {}
        return 200, history[model], {}

    routes = [Route("GET", f"(?i){SERVER_ID}", body={
                  "id": SERVER_ID, "name": "dpaassec", "location": "West US", "sku": {"name": "S0", "tier": "Standard"},
                  "properties": {"state": state, "provisioningState": state, "serverFullName": full_name}}),
              Route("GET", "/servers/dpaassec/models/[^/]+/refreshes", respond=refreshes)]
    return service_probe("analysis_services", routes, [deployed(aas.SERVER, SERVER_ID, "2017-08-01")], baseline=baseline)


# -- analysis-server-succeeded ---------------------------------------------------------------------
def test_the_server_succeeded_reads_its_state_through_arm():
    assert aas.analysis_server_succeeded(_probe()[0]) == {"id": SERVER_ID, "state": "Succeeded"}


@pytest.mark.parametrize(("state", "error"), [("Paused", PermanentError), ("Failed", PermanentError),
                                              ("Provisioning", TransientError), ("Preparing", TransientError)])
def test_a_server_not_succeeded_fails_or_waits(state, error):
    with pytest.raises(error, match=f"state {state}"):
        aas.analysis_server_succeeded(_probe(state=state)[0])


def test_xmla_connect_left_the_profile_with_its_reason():
    assert "xmla-connect" not in {check.name for check in aas.CHECKS}
    assert "ADOMD.NET" in (aas.__doc__ or "")


# -- model-refresh ---------------------------------------------------------------------------------
def test_every_models_latest_refresh_succeeded_at_the_regions_endpoint_with_the_asazure_audience():
    probe, transport = _probe()
    scopes = []
    real = probe.credential.get_token_info
    probe.credential.get_token_info = lambda *s, **kw: scopes.append(s) or real(*s, **kw)
    mismatches, facts = aas.model_refresh(probe)
    assert mismatches == []
    assert facts == {"server": "dpaassec", "models": {"Adventure Works": "succeeded", "sales": "succeeded"},
                     "refreshed_at": {"Adventure Works": "2025-03-01T02:10:00Z", "sales": "2025-03-01T02:10:00Z"}}
    urls = [r.url for r in transport.requests if "/refreshes" in r.url]
    assert urls == ["https://westus.asazure.windows.net/servers/dpaassec/models/Adventure%20Works/refreshes",
                    "https://westus.asazure.windows.net/servers/dpaassec/models/sales/refreshes"]
    # ARM for serverFullName, then the refresh API's own audience.
    assert set(scopes) == {("https://management.azure.com/.default",), ("https://*.asazure.windows.net/.default",)}


def test_a_latest_refresh_that_failed_is_a_mismatch_whatever_the_order_listed():
    history = {**GOOD, "sales": [_run("failed", "2025-03-01T03:00:00Z"), _run("succeeded", "2025-03-01T02:00:00Z")]}
    assert aas.model_refresh(_probe(history=history)[0])[0] == [
        "model sales: its latest refresh (started 2025-03-01T03:00:00Z) ended failed"]


def test_a_model_never_refreshed_or_not_on_the_server_is_a_mismatch():
    mismatches, _ = aas.model_refresh(_probe(history={"sales": []})[0])
    assert mismatches == ["model Adventure Works is not on the server (HTTP 404)", "model sales has never been refreshed"]


def test_a_refresh_still_running_is_worth_another_attempt():
    history = {**GOOD, "sales": [_run("inProgress", "2025-03-01T03:00:00Z", end=None)]}
    with pytest.raises(TransientError, match="still running for sales"):
        aas.model_refresh(_probe(history=history)[0])


def test_without_a_baseline_nothing_is_judged_and_that_is_a_mismatch():
    mismatches, facts = aas.model_refresh(_probe(baseline={})[0])
    assert mismatches[0].startswith("no model to check") and facts == {"models": {}}


def test_a_caller_who_is_not_a_server_administrator_fails():
    with pytest.raises(PermanentError, match="HTTP 403"):
        aas.model_refresh(_probe(refused=True)[0])


def test_a_server_without_its_full_name_fails_naming_the_field():
    with pytest.raises(PermanentError, match="serverFullName"):
        aas.model_refresh(_probe(full_name="")[0])
