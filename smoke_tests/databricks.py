"""Azure Databricks workspace: the checks its DR profile declares (components/databricks.py), all on
Azure. The workspace is found through ARM (its workspaceUrl); everything else is the workspace's own
REST API, as its users script it, signed in with drctl's Entra identity (smoke_tests/databricks_api.py).

Conventions, since the stack's settings name no workspace objects (they are re-applied from code
after a redeploy, components/databricks.py):
- the smoke job is the job named SMOKE_JOB ("drctl-smoke"): a short job that touches no data;
- workspace objects are counted under WORKSPACE_PATH ("/Shared"), or the path the baseline recorded;
- Delta tables are counted on the SQL warehouse named WAREHOUSE ("drctl-checks"): the tables the
  baseline recorded, or without one every table of schema DELTA_SCHEMA ("platform") in the
  warehouse's default catalog.
"""

from __future__ import annotations

import time
from collections import Counter

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, smoke
from smoke_tests.databricks_api import (
    StatementFailed,
    Workspace,
    execute,
    quoted,
    warehouse_id,
    workspace,
    workspace_url,
)
from smoke_tests.probe import ServiceProbe

COMPONENT = "databricks"
SMOKE_JOB = "drctl-smoke"
WORKSPACE_PATH = "/Shared"
WAREHOUSE = "drctl-checks"
DELTA_SCHEMA = "platform"
# A job on a new job cluster: about five minutes to start the cluster, then the job itself.
JOB_TIMEOUT_S = 1800.0
POLL_INTERVAL_S = 15.0
MAX_LISTINGS = 500  # directories listed for one count: a bound, not a sample
# Jobs API run states: https://docs.databricks.com/api/azure/workspace/jobs/getrun
RUN_ENDED = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
# The workspace API has no example payloads in the Azure REST API specs.
REST_DOUBLE = TRANSPORT_DOUBLE + "the Databricks workspace REST API (no example payloads exist for it in the specs)"


def workspace_url_resolves(probe: ServiceProbe) -> dict:
    """The workspace URL ARM reports resolves in public DNS (through the "dns" connector, a dnspython
    Resolver factory)."""
    import dns.exception
    import dns.resolver

    host = workspace_url(probe)
    resolver = probe.connector("dns", dns.resolver.Resolver)()
    try:
        answer = resolver.resolve(host, "A")
    except dns.resolver.NXDOMAIN:
        raise PermanentError(f"databricks workspace URL {host} does not exist in DNS (NXDOMAIN)", {"host": host}) from None
    except dns.resolver.NoAnswer:
        raise PermanentError(f"databricks workspace URL {host} has no address record", {"host": host}) from None
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
        raise TransientError(f"databricks workspace URL {host}: DNS did not answer ({exc})") from None
    return {"workspace_url": host, "canonical_name": answer.canonical_name.to_text(),
            "addresses": sorted(record.to_text() for record in answer)}


def current_user_me(probe: ServiceProbe) -> dict:
    """The workspace knows drctl's identity as a user: SCIM /Me answers with its userName."""
    ws = workspace(probe)
    me = ws.call("GET", "/api/2.0/preview/scim/v2/Me") or {}
    if not me.get("userName"):
        raise PermanentError(f"databricks workspace {ws.host}: SCIM /Me answered no userName", {"keys": sorted(me)})
    return {"workspace_url": ws.host, "user": me["userName"], "active": me.get("active")}


def clusters_list(probe: ServiceProbe) -> dict:
    """The clusters API answers (an empty list is an answer: job clusters come and go)."""
    ws = workspace(probe)
    listed = ws.call("GET", "/api/2.1/clusters/list") or {}
    clusters = listed.get("clusters") or []
    return {"workspace_url": ws.host, "clusters": len(clusters),
            "states": dict(Counter(str(c.get("state")) for c in clusters))}


def smoke_job_run(probe: ServiceProbe) -> dict:
    """Run the job named SMOKE_JOB now and poll it until it ends, within JOB_TIMEOUT_S; only
    TERMINATED with result SUCCESS passes."""
    ws = workspace(probe)
    job_id = _job_named(ws, SMOKE_JOB)
    started = ws.call("POST", "/api/2.1/jobs/run-now", json={"job_id": job_id}) or {}
    run_id = started.get("run_id")
    if run_id is None:
        raise PermanentError(f"databricks workspace {ws.host}: run-now of job {SMOKE_JOB} answered no run_id")
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        run = ws.call("GET", "/api/2.1/jobs/runs/get", params={"run_id": str(run_id)}) or {}
        state = run.get("state") or {}
        evidence = {"workspace_url": ws.host, "job": SMOKE_JOB, "job_id": job_id, "run_id": run_id,
                    "life_cycle_state": state.get("life_cycle_state"), "result_state": state.get("result_state"),
                    "state_message": state.get("state_message") or None, "run_page_url": run.get("run_page_url")}
        if evidence["life_cycle_state"] in RUN_ENDED:
            if evidence["life_cycle_state"] == "TERMINATED" and evidence["result_state"] == "SUCCESS":
                return evidence
            raise PermanentError(f"databricks job {SMOKE_JOB}: run {run_id} ended {evidence['life_cycle_state']} "
                                 f"{evidence['result_state'] or ''}: {evidence['state_message'] or 'no message'}",
                                 evidence)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransientError(f"databricks job {SMOKE_JOB}: run {run_id} still {evidence['life_cycle_state']} "
                                 f"after {JOB_TIMEOUT_S:.0f}s")
        time.sleep(min(POLL_INTERVAL_S, left))


def _job_named(ws: Workspace, name: str) -> int:
    listed = ws.call("GET", "/api/2.1/jobs/list", params={"name": name}) or {}
    jobs = [j for j in listed.get("jobs") or [] if (j.get("settings") or {}).get("name") == name]
    if not jobs:
        raise PermanentError(f"databricks workspace {ws.host}: no job named {name!r} to run; deploy the smoke job "
                             "with the workspace's other objects (asset bundle, databricks-sdk)")
    if len(jobs) > 1:
        raise PermanentError(f"databricks workspace {ws.host}: {len(jobs)} jobs are named {name!r}; drctl will "
                             "not guess which is the smoke job", {"job_ids": [j.get("job_id") for j in jobs]})
    return int(jobs[0]["job_id"])


def workspace_object_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Objects under the path, by type (notebooks, files, directories...), listed recursively.

    Judged against the baseline's counts (recorded on the same path) when there is one; without
    one, only the path must exist: the counts are reported."""
    baseline = probe.baseline.get("workspace-object-counts") or {}
    path = str(baseline.get("path") or WORKSPACE_PATH)
    ws = workspace(probe)
    counts: Counter[str] = Counter()
    pending, listings = [path], 0
    while pending:
        folder = pending.pop()
        listings += 1
        if listings > MAX_LISTINGS:
            raise PermanentError(f"databricks workspace {ws.host}: more than {MAX_LISTINGS} directories under "
                                 f"{path}; drctl counts no further", {"path": path, "counted": dict(counts)})
        try:
            listed = ws.call("GET", "/api/2.0/workspace/list", params={"path": folder}) or {}
        except PermanentError as exc:
            if folder == path and (exc.evidence or {}).get("status") == 404:
                return [f"{path} does not exist in the workspace"], {"path": path, "counts": {}}
            raise
        for item in listed.get("objects") or []:
            counts[str(item.get("object_type"))] += 1
            if item.get("object_type") == "DIRECTORY" and item.get("path"):
                pending.append(str(item["path"]))
    facts = {"path": path, "counts": dict(sorted(counts.items()))}
    want = baseline.get("counts")
    if not isinstance(want, dict):
        return [], facts
    mismatches = [f"{kind} objects under {path}: expected {want.get(kind, 0)}, found {counts.get(kind, 0)}"
                  for kind in sorted(set(want) | set(counts)) if want.get(kind, 0) != counts.get(kind, 0)]
    return mismatches, facts


def delta_table_row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Each table's count(*) on the WAREHOUSE warehouse (SQL Statement Execution API).

    Judged against the baseline's tables and counts when there is one; without one, every table of
    DELTA_SCHEMA must answer, and the schema must hold at least one (the lake's tables re-registered)."""
    baseline = probe.baseline.get("delta-table-row-counts") or {}
    want = baseline.get("tables") if isinstance(baseline.get("tables"), dict) else None
    ws = workspace(probe)
    warehouse = warehouse_id(ws, WAREHOUSE)
    mismatches: list[str] = []
    if want is None:
        try:
            listed = execute(ws, warehouse, f"SHOW TABLES IN {quoted(DELTA_SCHEMA)}")
        except StatementFailed as exc:
            return [f"schema {DELTA_SCHEMA} cannot be listed: {exc.detail}"], {"warehouse": WAREHOUSE, "tables": {}}
        names = [f"{schema}.{table}" for schema, table, temporary in
                 zip(listed.column("database"), listed.column("tableName"), listed.column("isTemporary"), strict=True)
                 if str(temporary).lower() != "true"]
        if not names:
            mismatches.append(f"schema {DELTA_SCHEMA} holds no table: the lake's tables are not registered")
    else:
        names = sorted(want)
    found: dict[str, int | None] = {}
    for name in names:
        try:
            rows = execute(ws, warehouse, f"SELECT count(*) AS row_count FROM {quoted(name)}")
            found[name] = int(rows.rows[0][0])
        except StatementFailed as exc:
            found[name] = None
            mismatches.append(f"table {name} is missing" if exc.table_missing else f"table {name}: {exc.detail}")
            continue
        if want is not None and want[name] != found[name]:
            mismatches.append(f"table {name}: expected {want[name]} rows, found {found[name]}")
    return mismatches, {"warehouse": WAREHOUSE, "tables": found}


CHECKS = (
    smoke(COMPONENT, "workspace-url-resolves", workspace_url_resolves, AZURE, plane="public",
          tested_against=TRANSPORT_DOUBLE + "DNS answered from a dnspython Resolver's cache (no network here); "
                                         "the URL from the specs' WorkspaceGet example"),
    smoke(COMPONENT, "current-user-me", current_user_me, AZURE, tested_against=REST_DOUBLE),
    smoke(COMPONENT, "clusters-list", clusters_list, AZURE, tested_against=REST_DOUBLE),
    smoke(COMPONENT, "smoke-job-run", smoke_job_run, AZURE, tested_against=REST_DOUBLE),
    data(COMPONENT, "workspace-object-counts", workspace_object_counts, AZURE, tested_against=REST_DOUBLE),
    data(COMPONENT, "delta-table-row-counts", delta_table_row_counts, AZURE, tested_against=REST_DOUBLE),
)
