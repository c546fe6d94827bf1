"""Connecting to the data stores: a bounded retry of a transient failure at the call itself.

The engine retries whole steps (orchestrator/engine/retry.py): right for a store that is away for a
while, costly for one refused connection or one throttled request, since the step starts over.
So two small retries sit under it, each bounded, each giving up to the step retry:

- PostgreSQL: opening a connection is retried (3 attempts) when it fails as a busy or restarting
  server refuses one; a statement that fails once connected is not retried here (the step is).
- Blob: the storage SDK retries 5xx, timeouts and resets itself but hands a 429 straight back
  (Azure Storage throttles with 503 ServerBusy; a 429 comes from a gateway in front of it, or
  from drctl's fault injection): `RetryThrottled` waits what its Retry-After asks, a few times.

Every connection goes through orchestrator/data/faults.py, which is a plain psycopg.connect unless a
drill injects faults.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from orchestrator.data import faults
from orchestrator.engine.retry import RetryPolicy

# Short waits: a server that refuses connections for longer is the step retry's business.
CONNECT_RETRY = RetryPolicy(max_attempts=3, max_total_s=30.0, initial_backoff_s=0.5, max_backoff_s=2.0,
                            jitter_s=0.25, classifier=lambda error: isinstance(error, psycopg.OperationalError))


def pg_connect(conninfo: str, *, site: str, retry: RetryPolicy = CONNECT_RETRY, **kwargs: Any) -> psycopg.Connection:
    """psycopg.connect with a bounded retry of failed connection attempts. `site` names the caller
    (fault injection counts by it)."""
    return retry.call(lambda _attempt: faults.connect(conninfo, site=site, **kwargs))


def client_command(program: str | os.PathLike[str], dsn: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of a libpq client process (pg_dump, pg_restore, psql) reaching `dsn`:
    its password moves from the connection string to PGPASSWORD, since a command line is readable by
    every local user (ps, /proc/<pid>/cmdline) and a process's environment only by its owner."""
    params = conninfo_to_dict(dsn)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return [str(program), *args, "--dbname", make_conninfo("", **params)], env


class RetryThrottled(HTTPPolicy):
    """A storage client's retry policy (`inner`), plus a retry of 429 that honours Retry-After."""

    def __init__(self, inner: HTTPPolicy, max_retries: int = 3, max_wait_s: float = 10.0) -> None:
        super().__init__()
        self.inner, self.max_retries, self.max_wait_s = inner, max_retries, max_wait_s

    def send(self, request: PipelineRequest) -> PipelineResponse:
        self.inner.next = self.next  # the pipeline links this policy; the inner one sends through it
        body = request.http_request.body
        position = _tell(body)
        for retry in range(self.max_retries + 1):
            response = self.inner.send(request)
            wait = _retry_after_s(response.http_response) if response.http_response.status_code == 429 else None
            if wait is None or wait > self.max_wait_s or retry == self.max_retries:
                return response  # not throttled, or beyond what is worth waiting for here: the caller's
            if hasattr(body, "read"):
                if position is None:
                    return response  # a stream that cannot be rewound cannot be sent again
                body.seek(position)
            transport = request.context.transport
            assert transport is not None, "a request in a pipeline carries the pipeline's transport"
            transport.sleep(wait)
        return response


def _tell(body: Any) -> int | None:
    try:
        return body.tell() if hasattr(body, "read") else None
    except (AttributeError, OSError, ValueError):
        return None


def _retry_after_s(response: Any) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is left to the step retry)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
