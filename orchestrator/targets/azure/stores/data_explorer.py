"""Data Explorer recovery: re-ingest the lake's event files into the new cluster, then check it.

ADX has no regional failover (components/data_explorer.py), so the secondary's cluster is
empty after its deploy; the schema comes with the deploy (kql/events.kql). drctl then asks the
cluster to ingest every event file of the recovered lake, reading it as the cluster's own identity
(the bytes go from storage to the cluster; none pass through drctl):
https://learn.microsoft.com/kusto/management/data-ingestion/ingest-from-storage

Each file is ingested with an `ingest-by:` tag naming it and `ingestIfNotExists` on that name, so
a retried, resumed or replayed step never ingests a file twice, and the extents' tags say which
files the table holds without reading a row:
https://learn.microsoft.com/kusto/management/extent-tags
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.errors import call
from orchestrator.targets.azure.stores.kusto import KustoClient, quoted
from smoke_tests.check import Check
from smoke_tests.data_explorer import ExplorerFacts

TABLE = "Events"
MAPPING = "events_json"  # kql/events.kql
RAW_CONTAINER = "raw"
EVENTS_PREFIX = "events/"
TAG_PREFIX = "ingest-by:"
# Blob names go into KQL literals and tags: anything else is refused rather than escaped twice.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9/_.=-]{1,900}$")

# .show operations states: https://learn.microsoft.com/kusto/management/show-operations
DONE = frozenset({"Completed", "Skipped"})
RUNNING = frozenset({"InProgress", "Scheduled"})
RESUBMIT = frozenset({"Throttled"})  # the cluster shed the load: submit the file again later


def source_name(blob: str) -> str:
    return f"{RAW_CONTAINER}/{blob}"


def lake_event_files(lake: Any) -> list[tuple[str, str]]:
    """(source name, blob url) of every event file in the lake's raw zone, in name order."""
    container = lake.get_container_client(RAW_CONTAINER)
    names = call("lake: list raw event files",
                 lambda: sorted(b.name for b in container.list_blobs(name_starts_with=EVENTS_PREFIX)))
    files = []
    for name in names:
        if not _SAFE_NAME.match(name):
            raise PermanentError(f"lake: event file name {name!r} has characters drctl will not put in a KQL command")
        files.append((source_name(name), container.get_blob_client(name).url))
    return files


def ingest_command(source: str, url: str) -> str:
    # h'...' keeps the URL out of the cluster's command logs; the cluster reads it as itself.
    return (f".ingest async into table {TABLE} (h{quoted(url + ';managed_identity=system')}) with ("
            f"format='multijson', ingestionMappingReference='{MAPPING}', "
            f"tags='[\"{TAG_PREFIX}{source}\"]', ingestIfNotExists='[\"{source}\"]')")


def extents(client: KustoClient, database: str) -> tuple[set[str], int, int]:
    """(sources the table's extents are tagged with, row count, extent count), from metadata only."""
    rows = client.management(database, f".show table {TABLE} extents")
    sources: set[str] = set()
    for row in rows:
        for tag in str(row.get("Tags") or "").split():
            if tag.startswith(TAG_PREFIX):
                sources.add(tag[len(TAG_PREFIX):])
    return sources, sum(int(row.get("RowCount") or 0) for row in rows), len(rows)


def reingest(client: KustoClient, database: str, files: list[tuple[str, str]], *, max_in_flight: int = 8,
             poll_interval_s: float = 10.0, timeout_s: float = 3600.0,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> dict:
    """Ingest every file the table does not hold yet, at most `max_in_flight` at a time. Evidence."""
    held, _, _ = extents(client, database)
    queue = deque((source, url) for source, url in files if source not in held)
    to_ingest = len(queue)
    in_flight: dict[str, tuple[str, str]] = {}
    failed: list[dict] = []
    resubmitted = polls = 0
    deadline = clock() + timeout_s
    while queue or in_flight:
        while queue and len(in_flight) < max_in_flight:
            source, url = queue.popleft()
            (row, *_) = client.management(database, ingest_command(source, url)) or [{}]
            if not row.get("OperationId"):
                raise PermanentError(f"data explorer: ingesting {source} returned no OperationId")
            in_flight[str(row["OperationId"])] = (source, url)
        if clock() >= deadline:
            # Submitting again is harmless (ingestIfNotExists): the retried step picks up from here.
            raise TransientError(f"data explorer: {len(in_flight) + len(queue)} of {to_ingest} files still "
                                 f"ingesting after {timeout_s:.0f}s")
        sleep(poll_interval_s)
        polls += 1
        ids = ", ".join(in_flight)
        for op in client.management(database, f".show operations ({ids})"):
            op_id, state = str(op.get("OperationId")), str(op.get("State"))
            if op_id not in in_flight or state in RUNNING:
                continue
            source, url = in_flight.pop(op_id)
            if state in RESUBMIT:
                queue.append((source, url))
                resubmitted += 1
            elif state not in DONE:
                failed.append({"source": source, "state": state, "status": str(op.get("Status") or "")[:300]})
    evidence = {"files_in_lake": len(files), "already_held": len(files) - to_ingest, "ingested": to_ingest - len(failed),
                "resubmitted_after_throttling": resubmitted, "polls": polls, "max_in_flight": max_in_flight}
    if failed:
        raise PermanentError(f"data explorer: {len(failed)} file(s) failed to ingest, first {failed[0]['source']} "
                             f"({failed[0]['state']})", {**evidence, "failed": failed[:20]})
    return evidence


def table_state(client: KustoClient, database: str) -> dict:
    """Rows, newest event time and newest ingestion time of the table (one short query)."""
    rows = client.query(database, f"{TABLE} | summarize rows=count(), max_ts=max(ts), "
                                  "last_ingestion=max(ingestion_time())")
    row = rows[0] if rows else {}
    return {"rows": int(row.get("rows") or 0), "max_ts": row.get("max_ts") or None,
            "last_ingestion": row.get("last_ingestion") or None}


def validate(client: KustoClient, database: str, files: list[tuple[str, str]], checks: Sequence[Check]) -> dict:
    """The data checks (smoke_tests/data_explorer.py: row-counts, max-ingestion-time) over what the
    cluster holds against the lake's files. Exact when none finds a mismatch."""
    held, extent_rows, extent_count = extents(client, database)
    facts = ExplorerFacts(files=files, held=held, extent_rows=extent_rows, extent_count=extent_count,
                          table=table_state(client, database))
    mismatches: list[str] = []
    judged: dict[str, dict] = {}
    for check in checks:
        assert check.function is not None, f"data check {check.name!r} runs on no target"
        found, judged[check.name] = check.function(facts)
        mismatches += found
    return {"store": "data_explorer", "exact": not mismatches, "mismatches": mismatches, "checks": judged,
            "missing_files": facts.missing[:20]}
