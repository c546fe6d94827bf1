"""Fault injection for local drills: `drctl drill --local --inject-faults RATE`.

Each blob request of the local region pair's clients (under the SDK's retry policy, so every retry
is a call of its own) and each PostgreSQL connection drctl opens in the failover's steps meets a
fault with probability RATE, of a kind drawn from the chosen ones:

    throttle     blob: 429 with Retry-After;             postgres: sorry, too many clients already
    unavailable  blob: 503 ServerBusy;                   postgres: connection refused
    timeout      blob: done by the service, answer lost; postgres: connect timeout expired
    reset        blob: reset by peer before it was sent; postgres: socket cut, first statement fails

They are what the SDK and libpq give for the real thing, so the SDK's retry, drctl's call retries
(orchestrator/data/connect.py), error mapping (orchestrator/data/errors.py) and bounded step
retries (orchestrator/engine/retry.py) meet them as on the day. Where they do not apply: APPLIES_TO.
Off by default: nothing here runs unless a drill installs an injector with `injecting()`.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import requests
from azure.storage.blob import LinearRetry
from psycopg.conninfo import conninfo_to_dict
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3.exceptions import ProtocolError

from orchestrator.atomic import write_json_atomic
from orchestrator.errors import BadInput
from orchestrator.run.rundir import RunDir

KINDS = ("throttle", "unavailable", "timeout", "reset")
RETRY_AFTER_S = 1  # what an injected 429 asks for: whole seconds, as HTTP's Retry-After has it
# Long digit runs in blob names are clock readings (the smoke test's canary): masked, so a call's
# identity, and with it the fault it meets, does not depend on when the drill ran.
_CLOCK_DIGITS = re.compile(r"\d{10,}")


@dataclass(frozen=True)
class FaultSettings:
    rate: float
    seed: int = 0
    kinds: tuple[str, ...] = KINDS

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed, "kinds": list(self.kinds)}


def parse_settings(rate: Any, seed: Any = 0, kinds: Any = None, where: str = "--inject-faults") -> FaultSettings:
    """FaultSettings from the CLI or run.json; BadInput (one line) naming what is wrong."""
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise BadInput(f"{where}: {rate!r} is not a number (a rate from 0 to 1)") from None
    if not 0.0 <= rate <= 1.0:  # also refuses nan
        raise BadInput(f"{where}: {rate} is outside 0..1")
    if isinstance(seed, bool) or not isinstance(seed, int):  # the CLI gives an int; run.json might not
        raise BadInput(f"--fault-seed: {seed!r} is not an integer")
    names = KINDS if kinds is None else kinds.split(",") if isinstance(kinds, str) else list(kinds)
    chosen = tuple(dict.fromkeys(str(n).strip() for n in names if str(n).strip()))
    unknown = [n for n in chosen if n not in KINDS]
    if unknown or not chosen:
        what = f"unknown kind {unknown[0]!r}" if unknown else "no kind given"
        raise BadInput(f"--fault-kinds: {what} (choose from {','.join(KINDS)})")
    return FaultSettings(rate=rate, seed=seed, kinds=chosen)


def from_cli(rate: str | None, seed: int | None, kinds: str | None) -> FaultSettings | None:
    """--inject-faults RATE [--fault-seed N] [--fault-kinds K,...]; None when not asked for."""
    if rate is None:
        if seed is not None or kinds is not None:
            raise BadInput(f"{'--fault-seed' if seed is not None else '--fault-kinds'}: only with --inject-faults RATE")
        return None
    return parse_settings(rate, 0 if seed is None else seed, kinds)


def settings_from_run(run: dict[str, Any]) -> FaultSettings | None:
    """The settings a run was started with (run.json "faults"), so `drctl resume` injects alike."""
    data = run.get("faults")
    if not data:
        return None
    if not isinstance(data, dict):
        raise BadInput("RUN: run.json's faults is not an object")
    return parse_settings(data.get("rate"), data.get("seed", 0), data.get("kinds"), where="RUN: run.json's faults.rate")


class FaultInjector:
    """Decides, per call, whether it meets a fault, and counts what it injected.

    Deterministic from the seed: the decision for the n-th occurrence of a call (the same request
    to the same blob, or a connection from the same place to the same database) comes from a
    random.Random seeded with (seed, call, n). One shared generator would not do: copies run 16
    at a time and steps in parallel, so its sequence would land on other calls in every run.
    """

    def __init__(self, settings: FaultSettings, previous: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._occurrences: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()  # site -> calls seen
        self.injected: Counter[tuple[str, str]] = Counter()  # (site, kind) -> faults injected
        previous = previous or {}  # the counts of a resumed run's earlier segments
        self.calls.update({site: int(n) for site, n in (previous.get("calls_by_site") or {}).items()})
        self.injected.update({(site, kind): int(n) for site, kinds in (previous.get("by_site") or {}).items()
                              for kind, n in kinds.items()})

    def draw(self, site: str, call: str) -> str | None:
        """The kind of fault this call meets, or None."""
        with self._lock:
            n = self._occurrences[call]
            self._occurrences[call] += 1
            self.calls[site] += 1
        rng = random.Random(f"{self.settings.seed}|{call}|{n}")
        if self.settings.rate <= 0 or rng.random() >= self.settings.rate:
            return None
        kind = rng.choice(self.settings.kinds)
        with self._lock:
            self.injected[(site, kind)] += 1
        return kind

    def summary(self) -> dict[str, Any]:
        with self._lock:
            by_kind = {kind: sum(n for (_, k), n in self.injected.items() if k == kind) for kind in self.settings.kinds}
            by_site: dict[str, dict[str, int]] = {}
            for (site, kind), n in sorted(self.injected.items()):
                by_site.setdefault(site, {})[kind] = n
            return {**self.settings.to_json(), "calls": sum(self.calls.values()), "injected": sum(by_kind.values()),
                    "by_kind": by_kind, "by_site": by_site, "calls_by_site": dict(sorted(self.calls.items()))}

    # -- PostgreSQL -------------------------------------------------------------------------------
    def connect(self, conninfo: str, site: str, **kwargs: Any) -> psycopg.Connection:
        params = conninfo_to_dict(conninfo)
        kind = self.draw(site, f"{site} {params.get('dbname')}")
        if kind is None:
            return psycopg.connect(conninfo, **kwargs)
        server = f'connection to server at "{params.get("host")}", port {params.get("port")} failed'
        if kind == "throttle":
            raise psycopg.OperationalError(f"{server}: FATAL:  sorry, too many clients already (injected fault)")
        if kind == "unavailable":
            raise psycopg.OperationalError(f"{server}: Connection refused (injected fault)\n\tIs the server "
                                           "running on that host and accepting TCP/IP connections?")
        if kind == "timeout":
            raise psycopg.OperationalError(f"{server}: timeout expired (injected fault)")
        conn = psycopg.connect(conninfo, **kwargs)
        # reset: cut the real socket under libpq; the first statement then fails as it would
        # when the server or a middlebox drops the connection (libpq's own error, not ours)
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        return conn


def _blob_call(request: Any) -> tuple[str, str]:
    """(site, call) of an Azure Storage request: site is the account and operation."""
    url = urlparse(request.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    path = _CLOCK_DIGITS.sub("#", url.path)
    parts = [p for p in path.split("/") if p]
    method, comp, restype = request.method, query.get("comp"), query.get("restype")
    blob = len(parts) > 2
    if method == "PUT" and "x-ms-copy-source" in request.headers:
        operation = "Copy Blob"
    else:
        operation = {
            ("PUT", None, True): "Put Blob", ("GET", None, True): "Get Blob", ("HEAD", None, True): "Get Blob Properties",
            ("DELETE", None, True): "Delete Blob", ("PUT", "copy", True): "Abort Copy Blob",
            ("PUT", None, False): "Create Container", ("GET", "list", False): "List Blobs" if restype else "List Containers",
        }.get((method, comp, blob), f"{method} {comp or restype or ('blob' if blob else 'container')}")
    account = parts[0] if parts else url.netloc
    return f"{account}: {operation}", f"{method} {path}?comp={comp}&restype={restype}&copy={operation == 'Copy Blob'}"


def _error_response(adapter: HTTPAdapter, request: Any, status: int, reason: str, code: str, message: str,
                    headers: dict[str, str]) -> requests.Response:
    """An error answer shaped as Azure Storage sends it (x-ms-error-code and an XML body), built by
    requests from a urllib3 response as a real one is."""
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}\n'
            "RequestId:00000000-0000-0000-0000-000000000000\nTime:1970-01-01T00:00:00.0000000Z</Message></Error>").encode()
    headers = {"Content-Type": "application/xml", "Content-Length": str(len(body)), "x-ms-error-code": code, **headers}
    return adapter.build_response(request, HTTPResponse(body=io.BytesIO(body), headers=headers, status=status,
                                                        reason=reason, preload_content=False))


class FaultyAdapter(requests.adapters.BaseAdapter):
    """The HTTP adapter under a blob client's azure-core transport, failing some requests. Faults
    enter where real ones do, so azure-core turns them into its own exceptions and responses and the
    SDK's retry policy, above, meets each as it would meet the real one."""

    def __init__(self, inner: HTTPAdapter, injector: FaultInjector) -> None:
        super().__init__()
        self.inner, self.injector = inner, injector

    def close(self) -> None:
        self.inner.close()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """BaseAdapter.send: its other parameters (stream, timeout, ...) go to the inner adapter as they came."""
        site, call = _blob_call(request)
        kind = self.injector.draw(site, call)
        if kind is None:
            return self.inner.send(request, *args, **kwargs)
        if kind == "throttle":
            return _error_response(self.inner, request, 429, "Too Many Requests", "TooManyRequests",
                                   "The request was throttled (injected fault).", {"Retry-After": str(RETRY_AFTER_S)})
        if kind == "unavailable":
            return _error_response(self.inner, request, 503, "Server Busy", "ServerBusy",
                                   "The server is currently unable to receive requests. Please retry your request. "
                                   "(injected fault)", {})
        if kind == "reset":
            reset = ConnectionResetError(104, "Connection reset by peer (injected fault)")
            raise requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", reset), request=request)
        # timeout: the service received and performed the request; its answer is dropped
        self.inner.send(request, *args, **kwargs).close()
        raise requests.exceptions.ReadTimeout(f"Read timed out (injected fault) on {request.method} "
                                              f"{urlparse(request.url or '').path}", request=request)


# -- the run's injector: installed by the drill around its engine run, None otherwise --------------
_active: FaultInjector | None = None


@contextmanager
def injecting(injector: FaultInjector | None) -> Iterator[None]:
    global _active
    _active = injector
    try:
        yield
    finally:
        _active = None


def connect(conninfo: str, *, site: str, **kwargs: Any) -> psycopg.Connection:
    """psycopg.connect, through the run's injector when one is installed. Every connection drctl
    opens during a drill's steps comes here; `site` names the caller in the counts."""
    injector = _active
    if injector is None:
        return psycopg.connect(conninfo, **kwargs)
    return injector.connect(conninfo, site, **kwargs)


def for_blob_client(retry: Any, adapter: HTTPAdapter) -> tuple[Any, requests.adapters.BaseAdapter]:
    """A blob client's storage retry policy and HTTP adapter, as they are unless an injector is
    installed. Then the adapter fails some requests, and the SDK's retry waits 0.1-0.3 s instead of
    ~1 s and ~3 s: as many retries, so the same bounds are proven, in a drill that stays short."""
    injector = _active
    if injector is None:
        return retry, adapter
    # LinearRetry annotates its seconds as int; it computes with them as floats (random.uniform).
    retry = LinearRetry(backoff=0.2, random_jitter_range=0.1,  # type: ignore[arg-type]
                        retry_total=retry.total_retries)
    return retry, FaultyAdapter(adapter, injector)


# -- a drill's run directory: settings in run.json, counts in faults.json and report.json ----------


def start(run_dir: Path, run: dict[str, Any]) -> FaultInjector | None:
    """The injector of a run started with --inject-faults (None otherwise). A resumed run goes on
    with the same settings and adds to the counts of its earlier segments."""
    settings = settings_from_run(run)
    if settings is None:
        return None
    try:
        previous = json.loads(RunDir(run_dir).faults_json.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        previous = None  # a segment killed before it wrote its counts: they are not known
    return FaultInjector(settings, previous if isinstance(previous, dict) else None)


def record(run_dir: Path, injector: FaultInjector) -> dict[str, Any]:
    """Write faults.json (what was injected, and the step retries the journal holds); return it."""
    from orchestrator.engine.journal import Journal

    steps = Journal.open(run_dir).state.steps
    retries = {step: len(rec.retries) for step, rec in steps.items() if rec.retries}
    attempts = {step: rec.attempts for step, rec in steps.items() if rec.attempts}
    document = {**injector.summary(), "step_retries": sum(retries.values()), "retries_by_step": retries,
                "max_attempts": max(attempts.values(), default=0), "applies_to": APPLIES_TO}
    write_json_atomic(RunDir(run_dir).faults_json, document)
    return document


# The prelude is the world before the disaster, not the recovery; the restored server reads its WAL
# archive itself (restore_command), and pg_verifybackup reads files, through no connection of drctl's.
APPLIES_TO = ("every blob request and PostgreSQL connection of the failover's steps; not the prelude "
              "(staging the dataset and backups), readiness probes, PostgreSQL's own WAL replay or the fallback")
