"""Azure Machine Learning's checks, through the real Resource Manager client's pipeline.

No Machine Learning example payload is kept with the Azure REST API specs here (INDEX.md), so the
workspace, models and datastores bodies are hand-written, minimal, in the shape of the 2024-04-01 REST
API (a thin double at the transport; the checks say so in tested_against)."""

from __future__ import annotations

import pytest

from smoke_tests import machine_learning as ml
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

WS_ID = arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-dp-sec")
NEXT = f"https://management.azure.com{WS_ID}/models?api-version={ml.API_VERSION}&$skipToken=page2"


def _workspace(state="Succeeded"):
    return {"id": WS_ID, "name": "mlw-dp-sec", "type": "Microsoft.MachineLearningServices/workspaces",
            "location": "westus", "properties": {"provisioningState": state}}


def _model(name, version):
    return {"id": f"{WS_ID}/models/{name}", "name": name, "type": "Microsoft.MachineLearningServices/workspaces/models",
            "properties": {"latestVersion": version, "isArchived": False, "provisioningState": "Succeeded"}}


def _store(name, kind="AzureBlob", default=False):
    return {"id": f"{WS_ID}/datastores/{name}", "name": name,
            "properties": {"datastoreType": kind, "isDefault": default, "credentials": {"credentialsType": "AccountKey"}}}


DEFAULT_STORES = [_store("workspaceblobstore", default=True), _store("workspacefilestore", "AzureFile")]


def _models_pages(request):
    # Page one links to page two, as ARM pages a long list.
    if "skipToken=page2" in request.url:
        return 200, {"value": [_model("fraud", "2")]}, {}
    return 200, {"value": [_model("churn", "3")], "nextLink": NEXT}, {}


def _probe(*, workspace=None, models=None, stores=None, baseline=None, status=200):
    routes = [
        Route("GET", f"(?i){WS_ID}", body=workspace or _workspace()),
        Route("GET", f"(?i){WS_ID}/models", respond=models or _models_pages),
        Route("GET", f"(?i){WS_ID}/datastores", status=status,
              body=({"value": DEFAULT_STORES if stores is None else stores} if status == 200 else
                    {"error": {"code": "AuthorizationFailed", "message": "no read on datastores"}})),
    ]
    return service_probe("machine_learning", routes, [deployed(ml.WORKSPACE, WS_ID, "2024-10-01")], baseline=baseline)


def test_workspace_provisioned_reads_the_workspace_through_arm():
    probe, transport = _probe()
    assert ml.workspace_provisioned(probe) == {"id": WS_ID, "provisioningState": "Succeeded"}
    assert "api-version=2024-10-01" in transport.requests[0].url


@pytest.mark.parametrize(("state", "error"), [("Failed", PermanentError), ("Creating", TransientError)])
def test_a_workspace_not_succeeded_fails_or_waits(state, error):
    with pytest.raises(error, match=f"provisioningState {state}"):
        ml.workspace_provisioned(_probe(workspace=_workspace(state))[0])


def test_models_list_follows_arms_pages_at_the_pinned_api_version():
    probe, transport = _probe()
    evidence = ml.models_list(probe)
    assert evidence == {"workspace": "mlw-dp-sec", "count": 2, "models": {"churn": "3", "fraud": "2"}}
    listed = [r.url for r in transport.requests if "/models" in r.url]
    assert f"api-version={ml.API_VERSION}" in listed[0] and "skipToken=page2" in listed[1]


def test_models_list_refused_is_a_failure_naming_the_list():
    probe, _ = _probe(models=lambda request: (403, {"error": {"code": "AuthorizationFailed", "message": "no"}}, {}))
    with pytest.raises(PermanentError, match=r"list models of .*mlw-dp-sec.*AuthorizationFailed"):
        ml.models_list(probe)


def test_datastores_list_gives_names_types_and_the_default_never_credentials():
    evidence = ml.datastores_list(_probe()[0])
    assert evidence["datastores"] == {"workspaceblobstore": {"type": "AzureBlob", "default": True},
                                      "workspacefilestore": {"type": "AzureFile", "default": False}}
    assert "AccountKey" not in str(evidence)


def test_a_workspace_without_datastores_fails():
    with pytest.raises(PermanentError, match=r"lists no datastore.*workspaceblobstore"):
        ml.datastores_list(_probe(stores=[])[0])


def test_datastores_refused_is_a_failure():
    with pytest.raises(PermanentError, match=r"403|AuthorizationFailed"):
        ml.datastores_list(_probe(status=403)[0])


def test_asset_parity_holds_against_the_baseline():
    baseline = {"asset-parity": {"models": ["churn", "fraud"], "datastores": ["workspaceblobstore"]}}
    mismatches, facts = ml.asset_parity(_probe(baseline=baseline)[0])
    assert mismatches == []
    assert facts == {"models": ["churn", "fraud"], "datastores": ["workspaceblobstore", "workspacefilestore"]}


def test_a_model_or_datastore_the_baseline_names_and_the_workspace_lacks_is_a_mismatch():
    baseline = {"asset-parity": {"models": ["churn", "fraud", "pricing"], "datastores": ["lake_raw"]}}
    mismatches, _ = ml.asset_parity(_probe(baseline=baseline)[0])
    assert mismatches == ["model pricing is not registered in the workspace",
                          "datastore lake_raw is missing from the workspace"]


def test_without_a_baseline_the_default_datastores_are_expected_and_models_only_reported():
    mismatches, facts = ml.asset_parity(_probe()[0])
    assert mismatches == [] and "models" in facts["not_judged"]
    mismatches, _ = ml.asset_parity(_probe(stores=[_store("workspaceblobstore", default=True)])[0])
    assert mismatches == ["datastore workspacefilestore is missing from the workspace"]
