"""A minimal Azure Data Explorer (Kusto) client: management commands and queries over REST v1.

drctl needs a handful of calls (ingest a blob, follow an operation, count rows), so it speaks the
documented REST API through azure-core (Entra token, retries, the same transport hook as every
other client) instead of pulling in another SDK:
https://learn.microsoft.com/kusto/api/rest/request
https://learn.microsoft.com/kusto/api/rest/response-v1

A v1 response is {"Tables": [{"TableName", "Columns": [{"ColumnName", "DataType"}], "Rows": [[...]]}]};
the first table holds the result. Errors come back as {"error": {"code", "message"}} with an HTTP
status, which orchestrator/data/errors.py classifies like any Azure error.
"""

from __future__ import annotations

import uuid
from typing import Any

from azure.core import PipelineClient
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, HeadersPolicy, RetryPolicy
from azure.core.rest import HttpRequest

from orchestrator.model import PermanentError
from orchestrator.targets.azure.errors import call


def cluster_uri(cluster_name: str, region: str) -> str:
    return f"https://{cluster_name}.{region}.kusto.windows.net"


class KustoClient:
    """One cluster; `database` is given per call, as the REST API takes it."""

    def __init__(self, uri: str, credential: Any, *, transport: Any = None, retry_total: int = 3) -> None:
        self.uri = uri.rstrip("/")
        policies = [
            HeadersPolicy({"Accept": "application/json", "x-ms-app": "drctl"}),
            RetryPolicy(retry_total=retry_total),
            # The cluster is its own audience: https://learn.microsoft.com/kusto/api/rest/authentication
            BearerTokenCredentialPolicy(credential, f"{self.uri}/.default"),
        ]
        kwargs = {"transport": transport} if transport is not None else {}
        self._client = PipelineClient(base_url=self.uri, policies=policies, **kwargs)

    def management(self, database: str, command: str) -> list[dict]:
        """A control command (starts with a dot), e.g. `.show operations`: rows of its first table."""
        return self._run("/v1/rest/mgmt", database, command)

    def query(self, database: str, query: str) -> list[dict]:
        return self._run("/v1/rest/query", database, query)

    def _run(self, path: str, database: str, csl: str) -> list[dict]:
        # The request id lets the cluster's own logs (.show commands-and-queries) find this call.
        request = HttpRequest("POST", f"{self.uri}{path}", json={"db": database, "csl": csl},
                              headers={"x-ms-client-request-id": f"drctl;{uuid.uuid4()}"})
        what = f"data explorer {self.uri} ({database})"
        response = call(what, self._send, request)
        return first_table(response, what)

    def _send(self, request: Any) -> Any:
        response = self._client.send_request(request)
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return response.json()


def first_table(document: Any, what: str) -> list[dict]:
    """The rows of the first table, each as {column name: value}."""
    try:
        table = document["Tables"][0]
        columns = [c["ColumnName"] for c in table["Columns"]]
        return [dict(zip(columns, row, strict=True)) for row in table["Rows"]]
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise PermanentError(f"{what}: not a Kusto v1 response ({type(err).__name__}: {err})") from None


def quoted(text: str) -> str:
    """A KQL string literal: single-quoted, with quotes and backslashes escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
