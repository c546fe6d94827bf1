"""Databricks' checks. The workspace is read through the real azure-mgmt-resource client answering
with the specs' WorkspaceGet example. The workspace's own REST API has no example payloads in the
specs: its answers here are a thin double at the transport (hand-written minimal bodies, in the
shapes of https://docs.databricks.com/api/azure/workspace), behind the real azure-core pipeline that
ServiceProbe.rest builds. DNS is a real dnspython Resolver answering from its cache, with no
nameserver to ask, so nothing leaves the machine."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs, urlparse

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import pytest

import smoke_tests.databricks as checks
import smoke_tests.databricks_api as api
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import FakeCredential, Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

WORKSPACE_GET = "databricks/resource-manager/Microsoft.Databricks/stable/2024-05-01/examples/WorkspaceGet.json"
WORKSPACE = example_body(WORKSPACE_GET)
WORKSPACE_ID = arm_id("Microsoft.Databricks/workspaces", "myWorkspace")
HOST = WORKSPACE["properties"]["workspaceUrl"]


def probe_with(*routes: Route, baseline: dict | None = None, dns_answers: str | None = None):
    connectors = {"dns": lambda: cached_resolver(dns_answers)} if dns_answers is not None else None
    return service_probe("databricks", [Route("GET", f"(?i){WORKSPACE_ID}", body=WORKSPACE), *routes],
                         [deployed(api.WORKSPACE_TYPE, WORKSPACE_ID, "2024-05-01")],
                         connectors=connectors, baseline=baseline)


def workspace_calls(transport) -> list[str]:
    return [f"{r.method} {urlparse(r.url).path}" for r in transport.requests if urlparse(r.url).hostname == HOST]


# -- workspace-url-resolves ---------------------------------------------------------------------------
def cached_resolver(answers: str) -> dns.resolver.Resolver:
    """A dnspython Resolver with no nameserver, whose cache holds one response (as text)."""
    response = dns.message.from_text(answers)
    question = response.question[0]
    rdtype = dns.rdatatype.ANY if response.rcode() == dns.rcode.NXDOMAIN else question.rdtype
    resolver = dns.resolver.Resolver(configure=False)
    resolver.cache = dns.resolver.Cache()
    resolver.cache.put((question.name, rdtype, dns.rdataclass.IN),
                       dns.resolver.Answer(question.name, rdtype, dns.rdataclass.IN, response))
    return resolver


def dns_response(rcode: str, records: str = "") -> str:
    return (f"id 1\nopcode QUERY\nrcode {rcode}\nflags QR RD RA\n;QUESTION\n{HOST}. IN A\n"
            f"{';ANSWER' if rcode == 'NOERROR' else ';AUTHORITY'}\n{records}\n")


def test_the_workspace_url_from_arm_resolves():
    answers = dns_response("NOERROR", f"{HOST}. 300 IN CNAME eastus2-c2.azuredatabricks.net.\n"
                                      "eastus2-c2.azuredatabricks.net. 300 IN A 20.41.4.113")
    probe, _ = probe_with(dns_answers=answers)
    assert checks.workspace_url_resolves(probe) == {
        "workspace_url": HOST, "canonical_name": "eastus2-c2.azuredatabricks.net.", "addresses": ["20.41.4.113"]}


def test_a_workspace_url_dns_does_not_know_fails():
    answers = dns_response("NXDOMAIN", "azuredatabricks.net. 300 IN SOA ns1-06.azure-dns.com. "
                                       "azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300")
    with pytest.raises(PermanentError, match=f"URL {HOST} does not exist in DNS"):
        checks.workspace_url_resolves(probe_with(dns_answers=answers)[0])


def test_dns_that_does_not_answer_is_worth_another_attempt():
    probe, _ = service_probe("databricks", [Route("GET", f"(?i){WORKSPACE_ID}", body=WORKSPACE)],
                             [deployed(api.WORKSPACE_TYPE, WORKSPACE_ID)],
                             connectors={"dns": lambda: dns.resolver.Resolver(configure=False)})
    with pytest.raises(TransientError, match="DNS did not answer"):
        checks.workspace_url_resolves(probe)


def test_a_workspace_without_a_url_yet_fails_saying_so():
    body = json.loads(json.dumps(WORKSPACE))
    del body["properties"]["workspaceUrl"]
    body["properties"]["provisioningState"] = "Failed"
    probe, _ = service_probe("databricks", [Route("GET", f"(?i){WORKSPACE_ID}", body=body)],
                             [deployed(api.WORKSPACE_TYPE, WORKSPACE_ID)])
    with pytest.raises(PermanentError, match=r"no workspaceUrl .*provisioningState Failed"):
        checks.workspace_url_resolves(probe)


# -- current-user-me, clusters-list ---------------------------------------------------------------------
ME = {"id": "7788", "userName": "drctl-runner@contoso.com", "active": True, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}


class ScopeRecorder(FakeCredential):
    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token_info(self, *scopes: str, **kwargs):
        self.scopes.extend(scopes)
        return super().get_token_info(*scopes, **kwargs)


def test_the_workspace_knows_drctls_identity_signed_in_for_azure_databricks():
    probe, transport = probe_with(Route("GET", "/api/2.0/preview/scim/v2/Me", body=ME))
    credential = ScopeRecorder()
    probe = dataclasses.replace(probe, credential=credential)
    assert checks.current_user_me(probe) == {"workspace_url": HOST, "user": "drctl-runner@contoso.com", "active": True}
    assert workspace_calls(transport) == ["GET /api/2.0/preview/scim/v2/Me"]
    assert transport.requests[-1].headers["Authorization"] == "Bearer fake-token-for-tests"
    assert credential.scopes == ["2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"]


def test_a_403_from_the_workspace_fails_saying_drctl_is_not_a_user():
    probe, _ = probe_with(Route("GET", "/api/2.0/preview/scim/v2/Me", status=403,
                                body={"error_code": "PERMISSION_DENIED", "message": "User not authorized."}))
    with pytest.raises(PermanentError, match=f"workspace {HOST}: GET /api/2.0/preview/scim/v2/Me: HTTP 403: "
                                             "drctl's identity is not a user of this workspace"):
        checks.current_user_me(probe)


def test_clusters_are_counted_by_state():
    listed = {"clusters": [{"cluster_id": "a", "state": "RUNNING"}, {"cluster_id": "b", "state": "TERMINATED"},
                           {"cluster_id": "c", "state": "TERMINATED"}]}
    probe, _ = probe_with(Route("GET", "/api/2.1/clusters/list", body=listed))
    assert checks.clusters_list(probe) == {"workspace_url": HOST, "clusters": 3,
                                           "states": {"RUNNING": 1, "TERMINATED": 2}}
    assert checks.clusters_list(probe_with(Route("GET", "/api/2.1/clusters/list", body={}))[0])["clusters"] == 0


def test_a_clusters_api_that_errors_is_retried_and_one_that_refuses_fails():
    with pytest.raises(TransientError, match="HTTP 503"):
        checks.clusters_list(probe_with(Route("GET", "/api/2.1/clusters/list", status=503, body={}))[0])
    with pytest.raises(PermanentError, match="clusters/list: HTTP 403"):
        checks.clusters_list(probe_with(Route("GET", "/api/2.1/clusters/list", status=403, body={}))[0])


# -- smoke-job-run --------------------------------------------------------------------------------------
JOBS = {"jobs": [{"job_id": 42, "settings": {"name": "drctl-smoke"}}], "has_more": False}


def job_routes(*states: tuple[str, str | None], jobs: dict = JOBS) -> list[Route]:
    answers = [{"run_id": 9001, "run_page_url": f"https://{HOST}/#job/42/run/9001",
                "state": {"life_cycle_state": life, **({"result_state": result} if result else {}),
                          "state_message": "" if result != "FAILED" else "Task smoke failed with message: boom"}}
               for life, result in states]

    def respond(request):
        assert parse_qs(urlparse(request.url).query) == {"run_id": ["9001"]}
        return 200, answers.pop(0) if len(answers) > 1 else answers[0], {}

    def run_now(request):
        assert json.loads(request.body) == {"job_id": 42}
        return 200, {"run_id": 9001, "number_in_job": 1}, {}

    return [Route("GET", "/api/2.1/jobs/list", body=jobs), Route("POST", "/api/2.1/jobs/run-now", respond=run_now),
            Route("GET", "/api/2.1/jobs/runs/get", respond=respond)]


@pytest.fixture
def no_wait(monkeypatch):
    monkeypatch.setattr(checks, "POLL_INTERVAL_S", 0.0)
    monkeypatch.setattr(api, "POLL_INTERVAL_S", 0.0)


def test_the_smoke_job_runs_until_it_terminates_with_success(no_wait):
    probe, transport = probe_with(*job_routes(("PENDING", None), ("RUNNING", None), ("TERMINATED", "SUCCESS")))
    evidence = checks.smoke_job_run(probe)
    assert (evidence["job_id"], evidence["run_id"], evidence["result_state"]) == (42, 9001, "SUCCESS")
    assert workspace_calls(transport) == ["GET /api/2.1/jobs/list", "POST /api/2.1/jobs/run-now",
                                          *["GET /api/2.1/jobs/runs/get"] * 3]
    assert parse_qs(urlparse(transport.requests[1].url).query) == {"name": ["drctl-smoke"]}


def test_a_failed_run_fails_with_its_message():
    probe, _ = probe_with(*job_routes(("TERMINATED", "FAILED")))
    with pytest.raises(PermanentError, match="run 9001 ended TERMINATED FAILED: Task smoke failed with message: boom"):
        checks.smoke_job_run(probe)


def test_a_run_still_going_at_the_bound_is_worth_another_attempt(no_wait, monkeypatch):
    monkeypatch.setattr(checks, "JOB_TIMEOUT_S", 0.0)
    with pytest.raises(TransientError, match="run 9001 still RUNNING after 0s"):
        checks.smoke_job_run(probe_with(*job_routes(("RUNNING", None)))[0])


def test_no_smoke_job_fails_naming_the_convention_and_two_are_not_guessed_between():
    with pytest.raises(PermanentError, match="no job named 'drctl-smoke'"):
        checks.smoke_job_run(probe_with(*job_routes(("TERMINATED", "SUCCESS"), jobs={"has_more": False}))[0])
    twice = {"jobs": [*JOBS["jobs"], {"job_id": 43, "settings": {"name": "drctl-smoke"}}]}
    with pytest.raises(PermanentError, match="2 jobs are named 'drctl-smoke'"):
        checks.smoke_job_run(probe_with(*job_routes(("TERMINATED", "SUCCESS"), jobs=twice))[0])


# -- workspace-object-counts ----------------------------------------------------------------------------
TREE = {"/Shared": [("DIRECTORY", "/Shared/etl"), ("NOTEBOOK", "/Shared/readme")],
        "/Shared/etl": [("NOTEBOOK", "/Shared/etl/ingest"), ("NOTEBOOK", "/Shared/etl/clean"), ("FILE", "/Shared/etl/conf.yml")]}


def listing(tree: dict) -> Route:
    def respond(request):
        path = parse_qs(urlparse(request.url).query)["path"][0]
        if path not in tree:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Path ({path}) doesn't exist."}, {}
        return 200, {"objects": [{"object_type": kind, "path": p, "object_id": 1} for kind, p in tree[path]]}, {}

    return Route("GET", "/api/2.0/workspace/list", respond=respond)


def test_objects_are_counted_recursively_and_equal_to_the_baseline_pass():
    baseline = {"workspace-object-counts": {"path": "/Shared", "counts": {"DIRECTORY": 1, "FILE": 1, "NOTEBOOK": 3}}}
    mismatches, facts = checks.workspace_object_counts(probe_with(listing(TREE), baseline=baseline)[0])
    assert mismatches == []
    assert facts == {"path": "/Shared", "counts": {"DIRECTORY": 1, "FILE": 1, "NOTEBOOK": 3}}


def test_a_count_off_from_the_baseline_is_a_mismatch_naming_the_type():
    baseline = {"workspace-object-counts": {"path": "/Shared", "counts": {"DIRECTORY": 1, "FILE": 1, "NOTEBOOK": 4,
                                                                          "DASHBOARD": 1}}}
    mismatches, _ = checks.workspace_object_counts(probe_with(listing(TREE), baseline=baseline)[0])
    assert mismatches == ["DASHBOARD objects under /Shared: expected 1, found 0",
                          "NOTEBOOK objects under /Shared: expected 4, found 3"]


def test_without_a_baseline_the_path_must_exist():
    assert checks.workspace_object_counts(probe_with(listing(TREE))[0])[0] == []
    mismatches, facts = checks.workspace_object_counts(probe_with(listing({}))[0])
    assert mismatches == ["/Shared does not exist in the workspace"] and facts["counts"] == {}


# -- delta-table-row-counts -----------------------------------------------------------------------------
WAREHOUSES = Route("GET", "/api/2.0/sql/warehouses", body={"warehouses": [{"id": "wh1", "name": "drctl-checks",
                                                                           "state": "RUNNING"}]})


def statements(answers: dict[str, dict], pending_once: bool = False) -> list[Route]:
    """The Statement Execution API: each statement's final answer, by its text (PENDING first, then
    polled, when `pending_once`)."""
    polled: dict[str, dict] = {}

    def submit(request):
        sent = json.loads(request.body)
        assert (sent["warehouse_id"], sent["format"], sent["disposition"]) == ("wh1", "JSON_ARRAY", "INLINE")
        statement_id = f"s{len(polled)}"
        polled[statement_id] = answers[sent["statement"]]
        if pending_once:
            return 200, {"statement_id": statement_id, "status": {"state": "PENDING"}}, {}
        return 200, {"statement_id": statement_id, **polled[statement_id]}, {}

    def poll(request):
        statement_id = urlparse(request.url).path.rsplit("/", 1)[-1]
        return 200, {"statement_id": statement_id, **polled[statement_id]}, {}

    return [WAREHOUSES, Route("POST", "/api/2.0/sql/statements", respond=submit),
            Route("GET", "/api/2.0/sql/statements/s[0-9]+", respond=poll)]


def rows(columns: list[str], *data: list) -> dict:
    return {"status": {"state": "SUCCEEDED"}, "manifest": {"schema": {"columns": [{"name": c} for c in columns]}},
            "result": {"data_array": [list(r) for r in data]}}


def count(n: int) -> dict:
    return rows(["row_count"], [str(n)])


MISSING = {"status": {"state": "FAILED", "error": {"error_code": "BAD_REQUEST", "message":
           "[TABLE_OR_VIEW_NOT_FOUND] The table or view `platform`.`devices` cannot be found."}}}
SHOW = "SHOW TABLES IN `platform`"
EVENTS, DEVICES = "SELECT count(*) AS row_count FROM `platform`.`events`", "SELECT count(*) AS row_count FROM `platform`.`devices`"


def test_row_counts_equal_to_the_baseline_pass(no_wait):
    baseline = {"delta-table-row-counts": {"tables": {"platform.events": 120, "platform.devices": 7}}}
    probe, transport = probe_with(*statements({EVENTS: count(120), DEVICES: count(7)}, pending_once=True),
                                  baseline=baseline)
    assert checks.delta_table_row_counts(probe) == ([], {"warehouse": "drctl-checks",
                                                         "tables": {"platform.devices": 7, "platform.events": 120}})
    calls = workspace_calls(transport)
    assert (calls.count("POST /api/2.0/sql/statements"), calls.count("GET /api/2.0/sql/statements/s1")) == (2, 1)


def test_a_count_off_or_a_table_missing_is_a_mismatch_naming_the_table():
    baseline = {"delta-table-row-counts": {"tables": {"platform.events": 120, "platform.devices": 7}}}
    probe, _ = probe_with(*statements({EVENTS: count(118), DEVICES: MISSING}), baseline=baseline)
    mismatches, facts = checks.delta_table_row_counts(probe)
    assert mismatches == ["table platform.devices is missing", "table platform.events: expected 120 rows, found 118"]
    assert facts["tables"] == {"platform.devices": None, "platform.events": 118}


def test_without_a_baseline_every_table_of_the_schema_is_counted_and_an_empty_schema_is_a_mismatch():
    show = rows(["database", "tableName", "isTemporary"], ["platform", "events", "false"], ["", "scratch", "true"])
    assert checks.delta_table_row_counts(probe_with(*statements({SHOW: show, EVENTS: count(3)}))[0]) == (
        [], {"warehouse": "drctl-checks", "tables": {"platform.events": 3}})
    empty = rows(["database", "tableName", "isTemporary"])
    assert checks.delta_table_row_counts(probe_with(*statements({SHOW: empty}))[0])[0] == [
        "schema platform holds no table: the lake's tables are not registered"]


def test_no_warehouse_by_the_convention_fails_naming_it():
    probe, _ = probe_with(Route("GET", "/api/2.0/sql/warehouses", body={"warehouses": [{"id": "x", "name": "bi"}]}))
    with pytest.raises(PermanentError, match="no SQL warehouse named 'drctl-checks'"):
        checks.delta_table_row_counts(probe)


def test_a_statement_still_running_at_the_bound_is_cancelled_and_retried_later(no_wait, monkeypatch):
    monkeypatch.setattr(api, "STATEMENT_TIMEOUT_S", 0.0)
    routes = statements({EVENTS: {"status": {"state": "RUNNING"}}}, pending_once=True)
    probe, transport = probe_with(*routes, Route("POST", "/api/2.0/sql/statements/s0/cancel", body={}),
                                  baseline={"delta-table-row-counts": {"tables": {"platform.events": 1}}})
    with pytest.raises(TransientError, match="still PENDING after 0s"):
        checks.delta_table_row_counts(probe)
    assert workspace_calls(transport)[-1] == "POST /api/2.0/sql/statements/s0/cancel"


def test_every_check_says_its_rest_answers_are_a_transport_double():
    assert all(c.tested_against.startswith("transport double: ") for c in checks.CHECKS)
