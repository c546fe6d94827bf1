"""Microsoft Purview account (Data Map): the smoke and data checks its DR profile declares (components/purview.py).

The account's data plane is https://{account}.purview.azure.com (the account's name from its ARM
id), reached with an Entra token for https://purview.azure.net/.default over the probe's REST
client: drctl installs no Purview SDK, and the REST API is what the SDKs wrap.

- smoke `purview-account-provisioned`: ARM says the account's provisioningState is Succeeded;
- smoke `purview-collections-readable`: the collections API answers and lists the root collection
  (Purview creates it with the account, named as the account);
- data `asset-counts`: the Data Map's asset count, in all and per collection, from a Data Map
  search query (its `@search.count`), against the baseline (below).
"""

from __future__ import annotations

from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import IN_PROGRESS, RestClient, ServiceProbe, provisioned

COMPONENT = "purview"
ACCOUNT = "azure-native:purview:Account"
SCOPE = "https://purview.azure.net/.default"
COLLECTIONS_API = "2019-11-01-preview"  # the account data plane's collections API
DATAMAP_API = "2023-09-01"  # the GA Data Map API: POST /datamap/api/search/query
# The root collection is named as the account, which differs between the regions' accounts: the
# baseline and the facts key it so, to compare a primary's root with a secondary's.
ROOT = "(root)"
MAX_PAGES = 20
ARM_DOUBLE = TRANSPORT_DOUBLE + "the account's ARM GET: no Microsoft.Purview example payload is kept with the specs"
DATA_MAP_DOUBLE = TRANSPORT_DOUBLE + ("the account's collections and Data Map search answers: no Purview data-plane "
                                      "example payload is kept with the specs")


def purview_account_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, ACCOUNT, coming=IN_PROGRESS | {"Moving"})


def _account(probe: ServiceProbe) -> str:
    return str(probe.resource(ACCOUNT)["id"]).rsplit("/", 1)[-1]


def _rest(probe: ServiceProbe) -> RestClient:
    return probe.rest(f"https://{_account(probe)}.purview.azure.com", SCOPE)


def collections(probe: ServiceProbe, rest: RestClient) -> list[dict[str, Any]]:
    """Every collection of the account, following the API's nextLink."""
    path, params = "account/collections", {"api-version": COLLECTIONS_API}
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        body = rest.request("GET", path, params=params) or {}
        found += [c for c in body.get("value") or [] if isinstance(c, dict)]
        next_link = body.get("nextLink")
        if not next_link:
            return found
        path, params = str(next_link).removeprefix(rest.base_url), {}
    raise PermanentError(f"{COMPONENT} {_account(probe)}: more than {MAX_PAGES} pages of collections")


def _key(collection: dict[str, Any]) -> str:
    return ROOT if not collection.get("parentCollection") else str(collection.get("name"))


def purview_collections_readable(probe: ServiceProbe) -> dict:
    found = collections(probe, _rest(probe))
    keys = sorted(_key(c) for c in found)
    evidence = {"account": _account(probe), "count": len(found), "collections": keys}
    if ROOT not in keys:
        raise PermanentError(f"{COMPONENT} {_account(probe)}: the collections list has no root collection", evidence)
    return evidence


def _count(rest: RestClient, collection: str | None) -> tuple[int, bool]:
    """(assets, whether Purview says the count is approximate), from one search with limit 1."""
    query: dict[str, Any] = {"limit": 1}
    if collection is not None:
        query["filter"] = {"collectionId": collection}
    body = rest.request("POST", "datamap/api/search/query", json=query, params={"api-version": DATAMAP_API}) or {}
    return int(body.get("@search.count") or 0), bool(body.get("@search.count.approximate"))


def asset_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The Data Map holds at least the assets the baseline recorded, in all and per collection.

    The baseline (`probe.baseline["asset-counts"]`) is these facts as recorded of the primary's Data
    Map: `{"total": n, "collections": {name: n}}`, the root collection under "(root)". Fewer assets
    than recorded is a mismatch (a source not re-registered or not re-scanned yet); more is not.
    Without a baseline the settings name no sources, so the stated invariant is that the Data Map
    holds at least one asset: the lake is re-registered and scanned (components/purview.py)."""
    rest = _rest(probe)
    total, approximate = _count(rest, None)
    per_collection = {_key(c): _count(rest, str(c.get("name")))[0] for c in collections(probe, rest)}
    facts: dict[str, Any] = {"total": total, "collections": per_collection}
    if approximate:
        facts["approximate"] = True
    recorded = probe.baseline.get("asset-counts")
    if not recorded:
        return ([] if total else ["the Data Map holds no asset: the lake is not registered and scanned yet"]), facts
    mismatches = []
    if total < int(recorded.get("total") or 0):
        mismatches.append(f"the Data Map holds {total} assets, fewer than the {recorded['total']} recorded")
    for name, want in sorted((recorded.get("collections") or {}).items()):
        got = per_collection.get(name)
        if got is None:
            mismatches.append(f"collection {name} is missing (recorded with {want} asset(s))")
        elif got < int(want):
            mismatches.append(f"collection {name} holds {got} assets, fewer than the {want} recorded")
    return mismatches, facts


CHECKS = (
    smoke(COMPONENT, "purview-account-provisioned", purview_account_provisioned, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "purview-collections-readable", purview_collections_readable, AZURE,
          tested_against=DATA_MAP_DOUBLE),
    data(COMPONENT, "asset-counts", asset_counts, AZURE, tested_against=DATA_MAP_DOUBLE),
)
