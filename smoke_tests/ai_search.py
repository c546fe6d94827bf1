"""Azure AI Search service: the smoke and data checks its DR profile declares (components/ai_search.py).

The data plane is reached as Search's users reach it, with azure-search-documents (SearchIndexClient,
SearchClient, SearchIndexerClient) and drctl's Entra credential: the service is Entra-only
(disable_local_auth), so the runner needs Search Index Data Reader and Search Service Contributor.
The endpoint is https://{service}.search.windows.net, the service's name from its ARM id.

- smoke `service-running`: ARM says status running (provisioning and degraded are worth waiting for);
- smoke `index-names-list`: the service lists its indexes, and holds at least one: the smoke step
  runs after the rehydrate step rebuilt them, and a search service without an index serves nothing;
- smoke `search-top-1`: `search("*", top=1)` answers on every index;
- data `document-counts`: every index's document count against the baseline (below);
- data `indexer-status`: every indexer's last run succeeded, none in error.
"""

from __future__ import annotations

from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, enum_text, smoke
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "ai_search"
SERVICE = "azure-native:search:Service"
# No Search example payload (management or data plane) is kept with the specs here (INDEX.md).
SEARCH_DOUBLE = TRANSPORT_DOUBLE + ("the Search REST API's answers to azure-search-documents: no Search "
                                    "example payload is kept with the specs")
ARM_DOUBLE = TRANSPORT_DOUBLE + "the search service's ARM GET: no Microsoft.Search example payload is kept with the specs"
# An indexer's last run: https://learn.microsoft.com/rest/api/searchservice/indexers/get-status
RUNNING = "inProgress"


def endpoint(probe: ServiceProbe) -> str:
    return f"https://{_name(probe)}.search.windows.net"


def _name(probe: ServiceProbe) -> str:
    return str(probe.resource(SERVICE)["id"]).rsplit("/", 1)[-1]


def service_running(probe: ServiceProbe) -> dict:
    # Search spells its states in lower case; degraded (a replica unhealthy) can heal by itself.
    return provisioned(probe, SERVICE, "status", want=frozenset({"running"}),
                       coming=frozenset({"provisioning", "degraded"}))


def index_names(probe: ServiceProbe) -> list[str]:
    from azure.search.documents.indexes import SearchIndexClient

    client = probe.client(SearchIndexClient, endpoint(probe))
    return sorted(probe.call(f"list the indexes of {_name(probe)}", _listed, client.list_index_names))


def _listed(pages: Any) -> list[str]:
    return list(pages())  # the pages are fetched as they are read: inside call(), for its errors


def index_names_list(probe: ServiceProbe) -> dict:
    names = index_names(probe)
    evidence = {"service": _name(probe), "indexes": names}
    if not names:
        raise PermanentError(f"{COMPONENT} {_name(probe)}: the service holds no index (the rehydrate step "
                             "rebuilds them from the lake)", evidence)
    return evidence


def search_top_1(probe: ServiceProbe) -> dict:
    from azure.search.documents import SearchClient

    names = index_names(probe)
    if not names:
        raise PermanentError(f"{COMPONENT} {_name(probe)}: no index to query", {"service": _name(probe)})
    hits = {}
    for name in names:
        client = probe.client(SearchClient, endpoint(probe), name)
        hits[name] = probe.call(f"search index {name} of {_name(probe)}", _first_hit, client)
    return {"service": _name(probe), "hits": hits}


def _first_hit(client: Any) -> int:
    """1 when `search("*", top=1)` returned a document, 0 when the index answered empty."""
    return sum(1 for _ in client.search("*", top=1))


def document_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every index the baseline names holds at least the documents it held then.

    The baseline (`probe.baseline["document-counts"]`) is these facts as recorded of the primary:
    `{"indexes": {name: count}}`. Fewer documents than recorded is a mismatch (the rebuild did not
    reach them); more is not, since the sources keep receiving documents after the record. Without a
    baseline (the settings name no index), every index must hold at least one document: an empty
    index after the rehydrate step means its indexer never filled it."""
    from azure.search.documents import SearchClient

    counts: dict[str, int] = {}
    for name in index_names(probe):
        client = probe.client(SearchClient, endpoint(probe), name)
        counts[name] = int(probe.call(f"count the documents of index {name}", client.get_document_count))
    recorded = (probe.baseline.get("document-counts") or {}).get("indexes")
    if recorded:
        mismatches = [_short(name, want, counts.get(name)) for name, want in sorted(recorded.items())
                      if counts.get(name) is None or counts[name] < int(want)]
    elif counts:
        mismatches = [f"index {name} holds no document" for name, count in sorted(counts.items()) if count == 0]
    else:
        mismatches = ["the service holds no index"]
    return mismatches, {"indexes": counts}


def _short(name: str, want: int, got: int | None) -> str:
    if got is None:
        return f"index {name} is missing (it held {want} documents)"
    return f"index {name} holds {got} documents, {int(want) - got} fewer than the {want} recorded"


def indexer_status(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every indexer's last run succeeded and none is in error; the baseline's indexers all exist.

    The baseline (`probe.baseline["indexer-status"]`) is these facts as recorded of the primary:
    `{"indexers": {name: {...}}}`; without one, the indexers the service has are judged, and a
    service with none is a mismatch: the profile rebuilds the indexes with indexers. A run still in
    progress, with nothing else wrong, is worth another attempt (TransientError)."""
    from azure.search.documents.indexes import SearchIndexerClient

    client = probe.client(SearchIndexerClient, endpoint(probe))
    names = sorted(probe.call(f"list the indexers of {_name(probe)}", client.get_indexer_names))
    found = {name: _status(probe.call(f"get the status of indexer {name}", client.get_indexer_status, name))
             for name in names}
    recorded = (probe.baseline.get("indexer-status") or {}).get("indexers") or {}
    mismatches = [f"indexer {name} is missing" for name in sorted(set(recorded) - set(found))]
    if not found and not recorded:
        mismatches.append("the service has no indexer: its indexes are rebuilt by indexers")
    for name, status in found.items():
        mismatches += _indexer_mismatches(name, status)
    running = [name for name, status in found.items() if status["last_result"] == RUNNING]
    if running and not mismatches:
        raise TransientError(f"{COMPONENT}: indexer(s) still running: {', '.join(running)}")
    return mismatches, {"indexers": found}


def _status(status: Any) -> dict[str, Any]:
    last = status.last_result
    error = (getattr(last, "error_message", None) or "")[:300]
    return {"status": enum_text(status.status), "last_result": enum_text(last.status) if last else None,
            "items_processed": getattr(last, "item_count", None), "items_failed": getattr(last, "failed_item_count", None),
            "error": error or None}


def _indexer_mismatches(name: str, status: dict[str, Any]) -> list[str]:
    last = status["last_result"]
    if status["status"] == "error":
        return [f"indexer {name} is in error: {status['error'] or 'no message'}"]
    if last is None:
        return [f"indexer {name} has never run"]
    if last not in ("success", RUNNING):
        return [f"indexer {name}'s last run ended {last}: {status['error'] or 'no message'}"]
    if last == "success" and status["error"]:
        return [f"indexer {name}'s last run succeeded with an error: {status['error']}"]
    return []


CHECKS = (
    smoke(COMPONENT, "service-running", service_running, AZURE, plane="management", tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "index-names-list", index_names_list, AZURE, tested_against=SEARCH_DOUBLE),
    smoke(COMPONENT, "search-top-1", search_top_1, AZURE, tested_against=SEARCH_DOUBLE),
    data(COMPONENT, "document-counts", document_counts, AZURE, tested_against=SEARCH_DOUBLE),
    data(COMPONENT, "indexer-status", indexer_status, AZURE, tested_against=SEARCH_DOUBLE),
)
