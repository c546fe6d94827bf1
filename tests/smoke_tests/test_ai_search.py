"""AI Search's checks: azure-search-documents' real clients (SearchIndexClient, SearchClient,
SearchIndexerClient) and the real Resource Manager client, run through the test transport.

No Search example payload, management or data plane, is kept with the Azure REST API specs here
(INDEX.md): the bodies below are a thin double at the transport, hand-written in the shape of the
Search REST API (indexes list, docs/$count, docs/search.post.search, indexers, search.status)."""

from __future__ import annotations

import json
import re

import pytest

from smoke_tests import ai_search
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

SERVICE_ID = arm_id("Microsoft.Search/searchServices", "srch-dp-sec")
FORBIDDEN = {"error": {"code": "Forbidden", "message": "Authorization failed."}}


def _success(processed=12):
    return {"status": "success", "errorMessage": None, "errors": [], "warnings": [], "itemsProcessed": processed,
            "itemsFailed": 0, "startTime": "2025-01-01T00:00:00Z", "endTime": "2025-01-01T00:01:00Z"}


def _indexer(last, status="running"):
    return {"name": "ignored", "status": status, "lastResult": last, "executionHistory": [], "limits": {}}


class SearchService:
    """What the double serves: indexes with their documents, indexers with their status, refusals."""

    def __init__(self, indexes=None, indexers=None, refused=(), state="running"):
        self.indexes = {"docs": 12, "faq": 0} if indexes is None else indexes
        self.indexers = {"docs-indexer": _indexer(_success())} if indexers is None else indexers
        self.refused, self.state = set(refused), state

    def routes(self):
        return [
            Route("GET", f"(?i){SERVICE_ID}", body={"id": SERVICE_ID, "name": "srch-dp-sec", "location": "westus",
                                                     "properties": {"status": self.state, "provisioningState": "succeeded"}}),
            Route("GET", "/indexes", respond=lambda r: self._answer("indexes", {"value": [
                {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True}]} for name in self.indexes]})),
            Route("GET", r"/indexes\('[^']+'\)/docs/\$count", respond=lambda r: self._per_index(r, lambda n: self.indexes[n])),
            Route("POST", r"/indexes\('[^']+'\)/docs/search\.post\.search", respond=lambda r: self._per_index(
                r, lambda n: {"value": [{"@search.score": 1.0, "id": "1"}][: min(1, self.indexes[n])]})),
            Route("GET", "/indexers", respond=lambda r: self._answer("indexers", {"value": [
                {"name": name, "dataSourceName": "lake", "targetIndexName": "docs"} for name in self.indexers]})),
            Route("GET", r"/indexers\('[^']+'\)/search\.status", respond=self._status),
        ]

    def _answer(self, what, body):
        return (403, FORBIDDEN, {}) if what in self.refused else (200, body, {})

    def _per_index(self, request, body):
        name = re.search(r"/indexes\('([^']+)'\)", request.url).group(1)
        if name not in self.indexes:
            return 404, {"error": {"code": "ResourceNotFound", "message": f"No index with the name '{name}'"}}, {}
        return self._answer(name, body(name))

    def _status(self, request):
        name = re.search(r"/indexers\('([^']+)'\)", request.url).group(1)
        return self._answer(name, {**self.indexers[name], "name": name})


def _probe(service=None, baseline=None):
    service = service or SearchService()
    return service_probe("ai_search", service.routes(), [deployed(ai_search.SERVICE, SERVICE_ID, "2025-05-01")],
                         baseline=baseline)


# -- service-running -------------------------------------------------------------------------------
def test_service_running_reads_the_status_through_arm():
    assert ai_search.service_running(_probe()[0]) == {"id": SERVICE_ID, "status": "running"}


@pytest.mark.parametrize(("state", "error"), [("error", PermanentError), ("stopped", PermanentError),
                                              ("provisioning", TransientError), ("degraded", TransientError)])
def test_a_service_not_running_fails_or_waits(state, error):
    with pytest.raises(error, match=f"status {state}"):
        ai_search.service_running(_probe(SearchService(state=state))[0])


# -- index-names-list ------------------------------------------------------------------------------
def test_index_names_list_asks_the_services_endpoint_with_a_bearer_token():
    probe, transport = _probe()
    assert ai_search.index_names_list(probe) == {"service": "srch-dp-sec", "indexes": ["docs", "faq"]}
    listed = next(r for r in transport.requests if r.url.split("?")[0].endswith("/indexes"))
    assert listed.url.startswith("https://srch-dp-sec.search.windows.net/indexes")
    assert listed.headers["Authorization"] == "Bearer fake-token-for-tests"


def test_a_service_without_an_index_fails():
    with pytest.raises(PermanentError, match="holds no index"):
        ai_search.index_names_list(_probe(SearchService(indexes={}))[0])


def test_index_names_refused_is_a_failure_naming_the_call():
    with pytest.raises(PermanentError, match=r"list the indexes of srch-dp-sec.*Authorization failed"):
        ai_search.index_names_list(_probe(SearchService(refused={"indexes"}))[0])


# -- search-top-1 ----------------------------------------------------------------------------------
def test_search_top_1_queries_every_index_for_one_document():
    probe, transport = _probe()
    assert ai_search.search_top_1(probe) == {"service": "srch-dp-sec", "hits": {"docs": 1, "faq": 0}}
    queries = [r for r in transport.requests if r.method == "POST"]
    bodies = [json.loads(r.body) for r in queries]
    assert len(bodies) == 2 and all(body["top"] == 1 and body["search"] == "*" for body in bodies)


def test_an_index_that_refuses_the_query_fails_naming_it():
    with pytest.raises(PermanentError, match="search index faq of srch-dp-sec"):
        ai_search.search_top_1(_probe(SearchService(refused={"faq"}))[0])


def test_search_top_1_with_no_index_fails():
    with pytest.raises(PermanentError, match="no index to query"):
        ai_search.search_top_1(_probe(SearchService(indexes={}))[0])


# -- document-counts -------------------------------------------------------------------------------
def test_document_counts_hold_against_the_baseline():
    baseline = {"document-counts": {"indexes": {"docs": 12, "faq": 0}}}
    assert ai_search.document_counts(_probe(baseline=baseline)[0]) == ([], {"indexes": {"docs": 12, "faq": 0}})


def test_more_documents_than_recorded_is_not_a_mismatch():
    baseline = {"document-counts": {"indexes": {"docs": 10}}}
    assert ai_search.document_counts(_probe(baseline=baseline)[0])[0] == []


def test_a_count_below_the_baseline_or_a_missing_index_is_a_mismatch():
    baseline = {"document-counts": {"indexes": {"docs": 15, "faq": 0, "products": 40}}}
    mismatches, facts = ai_search.document_counts(_probe(baseline=baseline)[0])
    assert mismatches == ["index docs holds 12 documents, 3 fewer than the 15 recorded",
                          "index products is missing (it held 40 documents)"]
    assert facts == {"indexes": {"docs": 12, "faq": 0}}


def test_without_a_baseline_an_empty_index_is_a_mismatch():
    assert ai_search.document_counts(_probe()[0])[0] == ["index faq holds no document"]
    assert ai_search.document_counts(_probe(SearchService(indexes={}))[0])[0] == ["the service holds no index"]


def test_a_count_refused_is_a_failure():
    with pytest.raises(PermanentError, match="count the documents of index docs"):
        ai_search.document_counts(_probe(SearchService(refused={"docs"}))[0])


# -- indexer-status --------------------------------------------------------------------------------
def test_indexer_status_passes_when_every_last_run_succeeded():
    mismatches, facts = ai_search.indexer_status(_probe()[0])
    assert mismatches == []
    assert facts == {"indexers": {"docs-indexer": {"status": "running", "last_result": "success",
                                                   "items_processed": 12, "items_failed": 0, "error": None}}}


def test_an_indexer_whose_last_run_failed_is_a_mismatch_with_the_services_message():
    failed = {**_success(), "status": "transientFailure", "errorMessage": "Access denied to the data source"}
    service = SearchService(indexers={"docs-indexer": _indexer(failed)})
    assert ai_search.indexer_status(_probe(service)[0])[0] == [
        "indexer docs-indexer's last run ended transientFailure: Access denied to the data source"]


def test_an_indexer_in_error_or_never_run_is_a_mismatch():
    service = SearchService(indexers={"a": _indexer(_success(), status="error"), "b": _indexer(None)})
    assert ai_search.indexer_status(_probe(service)[0])[0] == ["indexer a is in error: no message",
                                                               "indexer b has never run"]


def test_an_indexer_still_running_is_worth_another_attempt():
    running = {**_success(), "status": "inProgress", "endTime": None}
    with pytest.raises(TransientError, match="still running: docs-indexer"):
        ai_search.indexer_status(_probe(SearchService(indexers={"docs-indexer": _indexer(running)}))[0])


def test_an_indexer_the_baseline_recorded_is_missing_and_none_at_all_is_a_mismatch():
    baseline = {"indexer-status": {"indexers": {"docs-indexer": {}, "faq-indexer": {}}}}
    assert ai_search.indexer_status(_probe(baseline=baseline)[0])[0] == ["indexer faq-indexer is missing"]
    assert ai_search.indexer_status(_probe(SearchService(indexers={}))[0])[0] == [
        "the service has no indexer: its indexes are rebuilt by indexers"]
