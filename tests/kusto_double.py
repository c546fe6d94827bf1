"""A test double of an Azure Data Explorer cluster at the HTTP boundary (Kusto REST v1).

The Azure REST API specifications hold no Kusto data-plane examples (it is not an ARM API), so
the bodies here follow the documented v1 response shape instead:
https://learn.microsoft.com/kusto/api/rest/response-v1 . The double understands exactly the
commands drctl sends, and "ingests" a blob by reading it from Azurite through the URL in the
command, as the cluster reads the lake with its own identity.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from azure.storage.blob import BlobClient

from tests.azure_fixtures import ExampleTransport, Route

_INGEST = re.compile(r"^\.ingest async into table Events \(h'(?P<url>[^']+);managed_identity=system'\) with \("
                     r"format='multijson', ingestionMappingReference='events_json', "
                     r"tags='\[\"ingest-by:(?P<tag>[^\"]+)\"\]', ingestIfNotExists='\[\"(?P<source>[^\"]+)\"\]'\)$")
_SHOW_OPS = re.compile(r"^\.show operations \((?P<ids>[0-9a-f, -]+)\)$")
_SUMMARY = ("Events | summarize rows=count(), max_ts=max(ts), last_ingestion=max(ingestion_time())")


def _table(columns: list[str], rows: list[list[Any]]) -> dict:
    return {"Tables": [{"TableName": "Table_0", "Columns": [{"ColumnName": c, "DataType": "String"} for c in columns],
                        "Rows": rows}]}


class KustoDouble:
    def __init__(self, read_credential: dict, *, throttle_once: set[str] = frozenset(),
                 fail: set[str] = frozenset()) -> None:
        self.read_credential = read_credential
        self.extents: list[dict] = []  # {"tag", "rows": [event, ...]}
        self.operations: dict[str, dict] = {}
        self.throttle_once, self.fail = set(throttle_once), set(fail)
        self.commands: list[str] = []
        self.auth: list[str] = []
        self.max_in_flight_seen = 0

    def transport(self) -> ExampleTransport:
        return ExampleTransport([Route("POST", "/v1/rest/mgmt", respond=self._respond),
                                 Route("POST", "/v1/rest/query", respond=self._respond)])

    def _respond(self, request) -> tuple[int, Any, dict]:
        self.auth.append(request.headers.get("Authorization", ""))
        body = json.loads(request.body)
        csl = body["csl"]
        self.commands.append(csl)
        if body["db"] != "platform":
            return 400, {"error": {"code": "BadRequest_EntityNotFound", "message": f"database {body['db']}"}}, {}
        if csl == ".show table Events extents":
            rows = [[str(i), "Events", len(e["rows"]), f"ingest-by:{e['tag']}"] for i, e in enumerate(self.extents)]
            return 200, _table(["ExtentId", "TableName", "RowCount", "Tags"], rows), {}
        if match := _INGEST.match(csl):
            op = str(uuid.uuid4())
            self.operations[op] = {"url": match["url"], "tag": match["tag"], "source": match["source"], "state": "InProgress"}
            in_flight = sum(o["state"] == "InProgress" for o in self.operations.values())
            self.max_in_flight_seen = max(self.max_in_flight_seen, in_flight)
            return 200, _table(["OperationId"], [[op]]), {}
        if match := _SHOW_OPS.match(csl):
            ids = [i.strip() for i in match["ids"].split(",")]
            return 200, _table(["OperationId", "State", "Status"], [self._advance(i) for i in ids]), {}
        if csl == _SUMMARY:
            events = [row for e in self.extents for row in e["rows"]]
            last = max((e["ts"] for e in events), default=None)
            return 200, _table(["rows", "max_ts", "last_ingestion"], [[len(events), last, "2026-11-22T00:00:00Z"]]), {}
        if csl == "print ok=1":
            return 200, _table(["ok"], [[1]]), {}
        return 400, {"error": {"code": "BadRequest_SyntaxError", "message": f"the double does not know: {csl[:80]}"}}, {}

    def _advance(self, op_id: str) -> list[Any]:
        op = self.operations[op_id]
        if op["state"] == "InProgress":
            if op["source"] in self.fail:
                op["state"], op["status"] = "Failed", "Mapping error: path $.ts is not a datetime"
            elif op["source"] in self.throttle_once:
                self.throttle_once.discard(op["source"])
                op["state"] = "Throttled"
            elif any(e["tag"] == op["source"] for e in self.extents):
                op["state"] = "Skipped"  # ingestIfNotExists found the tag
            else:
                self._ingest(op)
                op["state"] = "Completed"
        return [op_id, op["state"], op.get("status", "")]

    def _ingest(self, op: dict) -> None:
        blob = BlobClient.from_blob_url(op["url"], credential=self.read_credential)
        lines = blob.download_blob().readall().decode().splitlines()
        self.extents.append({"tag": op["tag"], "rows": [json.loads(line) for line in lines if line]})
