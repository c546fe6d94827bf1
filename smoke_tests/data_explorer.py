"""Azure Data Explorer's checks, all on Azure (the cluster has no local stand-in):

- smoke: `cluster-running` (ARM says the cluster's state is Running, not Stopped), `kql-print-1`
  (the engine answers a query);
- data: `row-counts` (every event file of the recovered lake is held, by its ingest-by tag, and the
  extents' rows add up to the table's) and `max-ingestion-time` (the newest event and ingestion
  times, for the report). The cluster is re-ingested from the lake, so it is checked against the
  lake's files, not against a manifest: orchestrator/targets/azure/stores/data_explorer.py gathers
  the facts these judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, Call, PermanentError, data, smoke

COMPONENT = "data_explorer"
# The engine's REST API (queries, management commands) has no example payloads in the specs.
KUSTO_DOUBLE = TRANSPORT_DOUBLE + "the Kusto REST v1 query endpoint (tests/kusto_double.py)"


@dataclass(frozen=True)
class ExplorerProbe:
    call: Call
    kusto: Any  # a client with query(database, text) -> rows (orchestrator/targets/azure/stores/kusto.py)
    database: str
    resources: Any = None  # azure.mgmt.resource ResourceManagementClient, for cluster-running
    cluster_id: str | None = None
    api_version: str | None = None


@dataclass(frozen=True)
class ExplorerFacts:
    """What the cluster holds against what the lake holds, from metadata and one summary query."""

    files: list[tuple[str, str]]  # (source, url) of every event file in the lake
    held: set[str]  # the sources the table's extents are tagged with
    extent_rows: int
    extent_count: int
    table: dict[str, Any] = field(default_factory=dict)  # rows, max_ts, last_ingestion

    @property
    def missing(self) -> list[str]:
        return sorted({source for source, _ in self.files} - self.held)


def cluster_running(probe: ExplorerProbe) -> dict:
    if not probe.cluster_id:
        raise PermanentError("data explorer: its deploy step recorded no cluster to check")
    cluster = probe.call(f"get {probe.cluster_id}", probe.resources.resources.get_by_id, probe.cluster_id,
                         api_version=probe.api_version)
    state = (getattr(cluster, "properties", None) or {}).get("state")
    if state != "Running":
        raise PermanentError(f"data explorer cluster {probe.cluster_id.rsplit('/', 1)[-1]} is "
                             f"{state or 'in no state'}, not Running", {"state": state})
    return {"check": "cluster-running", "ok": True, "state": state}


def kql_print_1(probe: ExplorerProbe) -> dict:
    rows = probe.kusto.query(probe.database, "print ok=1")
    if not rows or rows[0].get("ok") != 1:
        raise PermanentError("data explorer: `print ok=1` did not return 1", {"rows": rows[:1]})
    return {"check": "kql-print-1", "ok": True}


def row_counts(facts: ExplorerFacts) -> tuple[list[str], dict]:
    """(mismatches, what was counted)."""
    missing, rows = facts.missing, facts.table.get("rows", 0)
    mismatches = [f"{len(missing)} lake file(s) not ingested, first {missing[0]}"] if missing else []
    if facts.extent_rows != rows:
        mismatches.append(f"extents hold {facts.extent_rows} rows but the table counts {rows}")
    if facts.files and rows < len(facts.files):
        mismatches.append(f"{rows} rows from {len(facts.files)} files: some files gave no row")
    counted = {"files_in_lake": len(facts.files), "files_held": len(facts.files) - len(missing), "rows": rows,
               "extents": facts.extent_count}
    return mismatches, counted


def max_ingestion_time(facts: ExplorerFacts) -> tuple[list[str], dict]:
    return [], {"max_ts": facts.table.get("max_ts"), "last_ingestion": facts.table.get("last_ingestion")}


CHECKS = (
    smoke(COMPONENT, "cluster-running", cluster_running, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "no Kusto cluster example in the specs kept here"),
    smoke(COMPONENT, "kql-print-1", kql_print_1, AZURE, tested_against=KUSTO_DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=KUSTO_DOUBLE),
    data(COMPONENT, "max-ingestion-time", max_ingestion_time, AZURE, tested_against=KUSTO_DOUBLE),
)
