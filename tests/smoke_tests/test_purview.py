"""Purview's checks, through the real Resource Manager client and an azure-core REST pipeline.

No Purview example payload (the account's ARM GET, the collections API, the Data Map search) is
kept with the Azure REST API specs here (INDEX.md): the bodies below are a thin double at the
transport, hand-written in the shape of the collections API 2019-11-01-preview and the Data Map API
2023-09-01."""

from __future__ import annotations

import json

import pytest

from smoke_tests import purview
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

ACCOUNT_ID = arm_id("Microsoft.Purview/accounts", "dp-purview-sec")
HOST = "https://dp-purview-sec.purview.azure.com"
ROOT = {"name": "dp-purview-sec", "friendlyName": "dp-purview-sec", "collectionProvisioningState": "Succeeded"}
LAKE = {"name": "lake01", "friendlyName": "Lake", "parentCollection": {"referenceName": "dp-purview-sec"},
        "collectionProvisioningState": "Succeeded"}
COUNTS = {None: 40, "dp-purview-sec": 4, "lake01": 36}
FORBIDDEN = {"error": {"code": "Forbidden", "message": "Not authorized to access account"}}


def _probe(*, state="Succeeded", pages=((ROOT,), (LAKE,)), counts=None, baseline=None, refused=(), approximate=False):
    counts = COUNTS if counts is None else counts

    def listed(request):
        if "collections" in refused:
            return 403, FORBIDDEN, {}
        page = 1 if "skipToken=2" in request.url else 0
        body = {"value": list(pages[page]), "count": len(pages[page])}
        if page + 1 < len(pages):
            body["nextLink"] = f"{HOST}/account/collections?api-version={purview.COLLECTIONS_API}&$skipToken=2"
        return 200, body, {}

    def searched(request):
        if "search" in refused:
            return 403, FORBIDDEN, {}
        collection = (json.loads(request.body).get("filter") or {}).get("collectionId")
        return 200, {"@search.count": counts.get(collection, 0), "@search.count.approximate": approximate,
                     "value": []}, {}

    routes = [Route("GET", f"(?i){ACCOUNT_ID}", body={"id": ACCOUNT_ID, "name": "dp-purview-sec",
                                                      "properties": {"provisioningState": state}}),
              Route("GET", "/account/collections", respond=listed),
              Route("POST", "/datamap/api/search/query", respond=searched)]
    return service_probe("purview", routes, [deployed(purview.ACCOUNT, ACCOUNT_ID, "2024-04-01-preview")],
                         baseline=baseline)


# -- purview-account-provisioned -------------------------------------------------------------------
def test_the_account_provisioned_reads_its_state_through_arm():
    assert purview.purview_account_provisioned(_probe()[0]) == {"id": ACCOUNT_ID, "provisioningState": "Succeeded"}


@pytest.mark.parametrize(("state", "error"), [("SoftDeleted", PermanentError), ("Failed", PermanentError),
                                              ("Creating", TransientError)])
def test_an_account_not_succeeded_fails_or_waits(state, error):
    with pytest.raises(error, match=f"provisioningState {state}"):
        purview.purview_account_provisioned(_probe(state=state)[0])


# -- purview-collections-readable ------------------------------------------------------------------
def test_collections_are_read_from_the_accounts_endpoint_across_pages():
    probe, transport = _probe()
    scopes = []
    real = probe.credential.get_token_info
    probe.credential.get_token_info = lambda *s, **kw: scopes.append(s) or real(*s, **kw)
    assert purview.purview_collections_readable(probe) == {"account": "dp-purview-sec", "count": 2,
                                                           "collections": ["(root)", "lake01"]}
    urls = [r.url for r in transport.requests if "/account/collections" in r.url]
    assert urls[0] == f"{HOST}/account/collections?api-version=2019-11-01-preview" and "skipToken=2" in urls[1]
    assert ("https://purview.azure.net/.default",) in scopes


def test_a_collections_list_without_its_root_fails():
    with pytest.raises(PermanentError, match="no root collection"):
        purview.purview_collections_readable(_probe(pages=((LAKE,),))[0])


def test_collections_refused_fails():
    with pytest.raises(PermanentError, match="account/collections: HTTP 403"):
        purview.purview_collections_readable(_probe(refused={"collections"})[0])


# -- asset-counts ----------------------------------------------------------------------------------
def test_asset_counts_hold_against_the_baseline_keyed_by_the_root():
    baseline = {"asset-counts": {"total": 40, "collections": {"(root)": 4, "lake01": 30}}}
    probe, transport = _probe(baseline=baseline)
    mismatches, facts = purview.asset_counts(probe)
    assert mismatches == [] and facts == {"total": 40, "collections": {"(root)": 4, "lake01": 36}}
    queries = [(r.url, json.loads(r.body)) for r in transport.requests if r.method == "POST"]
    assert queries[0] == (f"{HOST}/datamap/api/search/query?api-version=2023-09-01", {"limit": 1})
    assert queries[2][1] == {"limit": 1, "filter": {"collectionId": "lake01"}}


def test_fewer_assets_than_recorded_or_a_missing_collection_is_a_mismatch():
    baseline = {"asset-counts": {"total": 55, "collections": {"(root)": 4, "lake01": 50, "finance": 1}}}
    assert purview.asset_counts(_probe(baseline=baseline)[0])[0] == [
        "the Data Map holds 40 assets, fewer than the 55 recorded",
        "collection finance is missing (recorded with 1 asset(s))",
        "collection lake01 holds 36 assets, fewer than the 50 recorded"]


def test_without_a_baseline_an_empty_data_map_is_a_mismatch():
    assert purview.asset_counts(_probe()[0])[0] == []
    assert purview.asset_counts(_probe(counts={})[0])[0] == [
        "the Data Map holds no asset: the lake is not registered and scanned yet"]


def test_an_approximate_count_says_so():
    assert purview.asset_counts(_probe(approximate=True)[0])[1]["approximate"] is True


def test_a_refused_search_fails():
    with pytest.raises(PermanentError, match="search/query: HTTP 403"):
        purview.asset_counts(_probe(refused={"search"})[0])
