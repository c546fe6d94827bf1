"""A thin double of the Cosmos DB REST API at azure-core's transport, for where the local server
(cosmos_server.py) is not installed: the Cosmos data plane has no example payloads in the specs.

It answers only what the checks and their tests send through azure-cosmos's CosmosClient: the account
read, database and container reads and creates, an item's upsert, point read and delete, and the two
aggregate queries the data checks run (`SELECT VALUE COUNT(1)` and `SELECT VALUE MAX(c._ts)`, the
canary excluded), answered as one partition would, as the local server does. Nothing else is modelled.
https://learn.microsoft.com/rest/api/cosmos-db/"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from tests.azure_fixtures import ExampleTransport, Route

ENDPOINT = "https://dp-cosmos-sec.documents.azure.com:443/"
_DB = r"/dbs/(?P<db>[^/]+)"
_COLL = _DB + r"/colls/(?P<coll>[^/]+)"


class CosmosDouble:
    endpoint = ENDPOINT

    def __init__(self) -> None:
        self.containers: dict[tuple[str, str], dict[str, Any]] = {}  # (db, container) -> its properties
        self.items: dict[tuple[str, str], dict[str, dict]] = {}
        self.databases: set[str] = set()

    def client_kwargs(self) -> dict[str, Any]:
        return {"transport": ExampleTransport(self.routes()), "retry_total": 0}

    def routes(self) -> list[Route]:
        return [Route("GET", "/", respond=self._account),
                Route("GET", "/dbs/?", respond=lambda r: _ok({"Databases": [{"id": d} for d in sorted(self.databases)]})),
                Route("POST", "/dbs/?", respond=self._create_database),
                Route("GET", _DB + "/?", respond=lambda r: self._found(_part(r, 2) in self.databases,
                                                                        {"id": _part(r, 2)})),
                Route("POST", _DB + "/colls/?", respond=self._create_container),
                Route("GET", _COLL + "/?", respond=lambda r: self._found(_key(r) in self.containers,
                                                                          self.containers.get(_key(r)))),
                Route("POST", _COLL + "/docs/?", respond=self._post_docs),
                Route("GET", _COLL + "/docs/[^/]+/?", respond=lambda r: self._item(r, delete=False)),
                Route("DELETE", _COLL + "/docs/[^/]+/?", respond=lambda r: self._item(r, delete=True))]

    def _account(self, request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        region = [{"name": "West US", "databaseAccountEndpoint": ENDPOINT}]
        return _ok({"id": "dp-cosmos-sec", "_self": "", "writableLocations": region, "readableLocations": region,
                    "enableMultipleWriteLocations": False,
                    "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"}})

    def _create_database(self, request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        database = _body(request)["id"]
        self.databases.add(database)
        return 201, {"id": database}, {}

    def _create_container(self, request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        properties = {**_body(request), "_rid": f"rid{len(self.containers)}"}
        key = (_part(request, 2), properties["id"])
        self.containers[key], self.items[key] = properties, {}
        return 201, properties, {}

    def _post_docs(self, request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        key = _key(request)
        if key not in self.containers:
            return _not_found()
        body = _body(request)
        if request.headers.get("x-ms-documentdb-isquery") == "true":
            return _ok({"Documents": self._aggregate(key, body), "_count": 1})
        item = {**body, "_ts": int(time.time())}
        self.items[key][item["id"]] = item
        return 200, item, {}

    def _aggregate(self, key: tuple[str, str], body: dict[str, Any]) -> list[Any]:
        excluded = {p["value"] for p in body.get("parameters") or []}
        held = [item for item_id, item in self.items[key].items() if item_id not in excluded]
        if body["query"].startswith("SELECT VALUE COUNT(1)"):
            return [len(held)]
        if body["query"].startswith("SELECT VALUE MAX(c._ts)"):
            return [max(item["_ts"] for item in held)] if held else []
        raise AssertionError(f"the Cosmos double answers no query {body['query']!r}")

    def _item(self, request: requests.PreparedRequest, *, delete: bool) -> tuple[int, Any, dict[str, str]]:
        held = self.items.get(_key(request), {})
        item_id = _part(request, 6)
        if item_id not in held:
            return _not_found()
        if delete:
            del held[item_id]
            return 204, None, {}
        return 200, held[item_id], {}

    @staticmethod
    def _found(exists: bool, body: Any) -> tuple[int, Any, dict[str, str]]:
        return _ok(body) if exists else _not_found()


def _ok(body: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, body, {}


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return 404, {"code": "NotFound", "message": "Entity with the specified id does not exist in the system."}, {}


def _part(request: requests.PreparedRequest, index: int) -> str:
    return requests.utils.unquote(requests.utils.urlparse(request.url).path.split("/")[index])


def _key(request: requests.PreparedRequest) -> tuple[str, str]:
    return _part(request, 2), _part(request, 4)


def _body(request: requests.PreparedRequest) -> dict[str, Any]:
    return dict(json.loads(request.body or b"{}"))
