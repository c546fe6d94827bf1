"""The Azure Databricks workspace's REST API as drctl's checks call it (smoke_tests/databricks.py): the
workspace URL from ARM, JSON over an azure-core pipeline (ServiceProbe.rest) with an Entra token for
the Azure Databricks resource, and the SQL Statement Execution API's run-and-poll.

The workspace API has no example payloads in the Azure REST API specs: the tests answer it with a
thin double at the transport (tests/smoke_tests/test_databricks.py).
https://learn.microsoft.com/azure/databricks/dev-tools/auth/azure-mi
https://docs.databricks.com/api/azure/workspace/statementexecution
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.probe import RestClient, ServiceProbe

WORKSPACE_TYPE = "azure-native:databricks:Workspace"
# The Azure Databricks first-party application: an Entra token for it signs into any workspace
# where the identity is a user (https://learn.microsoft.com/azure/databricks/dev-tools/auth/user-aad-token).
AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
NOT_A_USER = (": drctl's identity is not a user of this workspace; add it (or a group it is in) in the "
              "workspace's admin settings, or make it a workspace admin through Azure RBAC")

# A serverless or auto-starting warehouse answers its first statement once started: minutes at most.
STATEMENT_TIMEOUT_S = 600.0
POLL_INTERVAL_S = 5.0
STATEMENT_ENDED = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"})


@dataclass(frozen=True)
class Workspace:
    host: str  # adb-<workspace id>.<n>.azuredatabricks.net, as ARM reports it
    api: RestClient

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        try:
            return self.api.request(method, path, json=json, params=params)
        except PermanentError as exc:
            status = (exc.evidence or {}).get("status")
            hint = NOT_A_USER if status in (401, 403) else ""
            raise PermanentError(f"databricks workspace {self.host}: {exc}{hint}", exc.evidence) from None
        except TransientError as exc:
            raise TransientError(f"databricks workspace {self.host}: {exc}", exc.retry_after_s) from None


def workspace_url(probe: ServiceProbe) -> str:
    """The workspace's host name, from its ARM GET (properties.workspaceUrl)."""
    properties = probe.properties(WORKSPACE_TYPE)
    url = properties.get("workspaceUrl")
    if not url:
        raise PermanentError(f"databricks: ARM reports no workspaceUrl for the workspace (provisioningState "
                             f"{properties.get('provisioningState')})", {"properties": sorted(properties)})
    return str(url).removeprefix("https://").rstrip("/")


def workspace(probe: ServiceProbe) -> Workspace:
    host = workspace_url(probe)
    return Workspace(host, probe.rest(f"https://{host}", AZURE_DATABRICKS_SCOPE))


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[list[Any]]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


class StatementFailed(Exception):
    """The warehouse ran the statement and refused it (a missing table, a syntax error)."""

    def __init__(self, statement: str, error: Mapping[str, Any]) -> None:
        self.error_code = str(error.get("error_code") or "")
        self.detail = str(error.get("message") or "no message")
        super().__init__(f"{statement}: {self.error_code} {self.detail}".strip())

    @property
    def table_missing(self) -> bool:
        return "TABLE_OR_VIEW_NOT_FOUND" in f"{self.error_code} {self.detail}"


def warehouse_id(ws: Workspace, name: str) -> str:
    listed = ws.call("GET", "/api/2.0/sql/warehouses") or {}
    found = [w for w in listed.get("warehouses") or [] if w.get("name") == name]
    if not found:
        raise PermanentError(f"databricks workspace {ws.host}: no SQL warehouse named {name!r}, which drctl's "
                             "data checks run their statements on; create it from code with the workspace's objects",
                             {"warehouses": sorted(str(w.get("name")) for w in listed.get("warehouses") or [])})
    return str(found[0]["id"])


def execute(ws: Workspace, warehouse: str, statement: str) -> Rows:
    """Run `statement` on the warehouse and wait for it, within STATEMENT_TIMEOUT_S; its rows
    (every result chunk), or StatementFailed when the warehouse refused it."""
    answer = ws.call("POST", "/api/2.0/sql/statements", json={
        "warehouse_id": warehouse, "statement": statement, "wait_timeout": "30s", "on_wait_timeout": "CONTINUE",
        "disposition": "INLINE", "format": "JSON_ARRAY"}) or {}
    statement_id = answer.get("statement_id")
    deadline = time.monotonic() + STATEMENT_TIMEOUT_S
    while _state(answer) not in STATEMENT_ENDED:
        if not statement_id:
            raise PermanentError(f"databricks workspace {ws.host}: the statement API answered no statement_id")
        left = deadline - time.monotonic()
        if left <= 0:
            ws.call("POST", f"/api/2.0/sql/statements/{statement_id}/cancel")
            raise TransientError(f"databricks workspace {ws.host}: {statement} still {_state(answer)} after "
                                 f"{STATEMENT_TIMEOUT_S:.0f}s (cancelled)")
        time.sleep(min(POLL_INTERVAL_S, left))
        answer = ws.call("GET", f"/api/2.0/sql/statements/{statement_id}") or {}
    if _state(answer) != "SUCCEEDED":
        raise StatementFailed(statement, (answer.get("status") or {}).get("error") or {"error_code": _state(answer)})
    columns = [str(c.get("name")) for c in ((answer.get("manifest") or {}).get("schema") or {}).get("columns") or []]
    result = answer.get("result") or {}
    rows: list[list[Any]] = []
    while True:
        rows.extend(result.get("data_array") or [])
        following = result.get("next_chunk_internal_link")
        if not following:
            return Rows(columns, rows)
        result = ws.call("GET", str(following)) or {}


def _state(answer: Mapping[str, Any]) -> str:
    return str((answer.get("status") or {}).get("state") or "")


def quoted(name: str) -> str:
    """A dotted table name as Databricks SQL identifiers: a.b.c -> `a`.`b`.`c`."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split("."))
