"""The catalog's readiness checks (smoke_tests/catalog.py), each through the SDK or azure-core pipeline a
user of the service would use. None of these operations has an example payload in the specs kept here
(../shared/fixtures/azure-rest-api-specs/INDEX.md), so every answer below is a thin double at the
transport (tests/azure_fixtures.Route), shaped as the service's REST reference documents it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from components.catalog import CATALOG
from smoke_tests import catalog
from smoke_tests.check import TRANSPORT_DOUBLE, PermanentError, Target, TransientError
from tests.azure_fixtures import SUBSCRIPTION, Route
from tests.smoke_tests.probe_support import GROUP, service_probe

TENANT = "11111111-1111-1111-1111-111111111111"
SUB_PATH = f"/subscriptions/{SUBSCRIPTION}"


class Recording:
    """A credential that records the scopes asked for, and issues (or refuses) a token."""

    def __init__(self, token: str = "secret-token-value", refuse: Exception | None = None) -> None:
        self.token, self.refuse, self.scopes = token, refuse, []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes += scopes
        if self.refuse:
            raise self.refuse
        return AccessToken(self.token, 4102444800)


def probe_of(component: str, *routes: Route, credential: Any = None):
    probe, transport = service_probe(component, list(routes))
    return (dataclasses.replace(probe, credential=credential) if credential else probe), transport


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


# -- the table ----------------------------------------------------------------------------------------
def test_every_readiness_check_runs_on_azure_and_says_what_its_tests_stand_in_for():
    checks = [check for profile in CATALOG for check in profile.checks]
    assert {profile.key for profile in CATALOG if not profile.checks} == {"dataverse"}  # a person confirms it
    for check in checks:
        assert check.implemented and check.runs_on == frozenset({Target.AZURE}), check
        assert check.tested_against.startswith(TRANSPORT_DOUBLE) and check.plane in ("public", "management"), check
    assert {check.function for check in checks if check.name == "fabric-rest-reachable"} == {
        catalog.fabric_rest_reachable}


# -- Entra ID ---------------------------------------------------------------------------------------------
def test_a_token_for_arm_is_acquired_and_never_kept():
    credential = Recording()
    probe, _ = probe_of("entra_id", credential=credential)
    evidence = catalog.token_acquisition(probe)
    assert credential.scopes == ["https://management.azure.com/.default"]
    assert evidence["token"] == "acquired" and "secret-token-value" not in json.dumps(evidence)


def test_a_refused_sign_in_names_the_error_and_the_credential():
    refused = ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.\nTrace ID: x")
    probe, _ = probe_of("entra_id", credential=Recording(refuse=refused))
    with pytest.raises(PermanentError, match=r"Recording got no token .*ClientAuthenticationError: AADSTS7000215: "
                                             r"Invalid client secret provided\.$"):
        catalog.token_acquisition(probe)
    with pytest.raises(PermanentError, match="empty token"):
        catalog.token_acquisition(probe_of("entra_id", credential=Recording(token=""))[0])


# -- the subscription and the management group ------------------------------------------------------------
def subscription(state: str = "Enabled") -> Route:
    return Route("GET", SUB_PATH, body={"id": SUB_PATH, "subscriptionId": SUBSCRIPTION, "tenantId": TENANT,
                                        "displayName": "data platform", "state": state,
                                        "subscriptionPolicies": {"spendingLimit": "Off"}})


def test_an_enabled_subscription_is_reachable_through_the_subscriptions_sdk():
    probe, transport = probe_of("subscriptions", subscription())
    assert catalog.subscription_reachable(probe) == {"subscription": SUBSCRIPTION, "state": "Enabled",
                                                     "display_name": "data platform"}
    request = transport.requests[0]
    assert urlsplit(request.url).netloc == "management.azure.com" and query(request)["api-version"] == ["2022-12-01"]
    assert request.headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize("state", ["Warned", "PastDue", "Disabled"])
def test_a_subscription_not_enabled_fails_naming_its_state(state):
    with pytest.raises(PermanentError, match=f"subscription {SUBSCRIPTION} is {state}, not Enabled"):
        catalog.subscription_reachable(probe_of("subscriptions", subscription(state))[0])


ROOT_GROUP = f"/providers/Microsoft.Management/managementGroups/{TENANT}"


def test_the_tenant_root_group_is_read_by_the_subscriptions_tenant_id():
    root = {"id": ROOT_GROUP, "type": "Microsoft.Management/managementGroups", "name": TENANT,
            "properties": {"tenantId": TENANT, "displayName": "Tenant Root Group"}}
    probe, transport = probe_of("management_groups", subscription(), Route("GET", ROOT_GROUP, body=root))
    assert catalog.management_group_readable(probe) == {"management_group": TENANT, "display_name": "Tenant Root Group"}
    assert query(transport.requests[-1])["api-version"] == ["2023-04-01"]


def test_a_root_group_the_identity_cannot_read_fails_saying_what_it_needs():
    probe, _ = probe_of("management_groups", subscription(),
                        Route("GET", ROOT_GROUP, status=403, body={"error": {"code": "AuthorizationFailed"}}))
    with pytest.raises(PermanentError, match=r"management_groups: GET .*: HTTP 403 \(drctl's identity needs "
                                             r"Management Group Reader"):
        catalog.management_group_readable(probe)


# -- the public status pages ------------------------------------------------------------------------------
def devops(health: str | None) -> Route:
    body = {"status": {"health": health, "message": "..."}, "services": []} if health else {}
    return Route("GET", "/_apis/status/health", body=body)


def test_devops_status_is_read_anonymously_and_healthy_passes():
    probe, transport = probe_of("azure_devops", devops("healthy"))
    assert catalog.devops_status_api(probe)["status"] == "healthy"
    request = transport.requests[0]
    assert urlsplit(request.url).netloc == "status.dev.azure.com"
    assert query(request)["api-version"] == ["7.1-preview.1"] and "Authorization" not in request.headers


def test_devops_unhealthy_or_an_empty_answer_fails():
    with pytest.raises(PermanentError, match=r"reports 'unhealthy': an outage"):
        catalog.devops_status_api(probe_of("azure_devops", devops("unhealthy"))[0])
    with pytest.raises(PermanentError, match="answered with no JSON object"):
        catalog.devops_status_api(probe_of("azure_devops", devops(None))[0])


def github(indicator: str) -> Route:
    return Route("GET", "/api/v2/status.json", body={"page": {"id": "kctbh9vrtdwd", "name": "GitHub"},
                                                     "status": {"indicator": indicator, "description": "..."}})


@pytest.mark.parametrize("indicator", ["none", "minor"])
def test_github_without_a_major_outage_passes(indicator):
    probe, transport = probe_of("github", github(indicator))
    assert catalog.github_status_api(probe)["status"] == indicator
    assert urlsplit(transport.requests[0].url).netloc == "www.githubstatus.com"


@pytest.mark.parametrize(("indicator", "verdict"), [("major", "an outage"), ("critical", "an outage"),
                                                    ("unknown", "no status drctl knows")])
def test_github_in_a_major_outage_fails(indicator, verdict):
    with pytest.raises(PermanentError, match=f"reports '{indicator}': {verdict}"):
        catalog.github_status_api(probe_of("github", github(indicator))[0])


def test_a_status_page_that_is_down_is_worth_retrying():
    with pytest.raises(TransientError, match="HTTP 503"):
        catalog.github_status_api(probe_of("github", Route("GET", "/api/v2/status.json", status=503))[0])


# -- Azure Monitor ---------------------------------------------------------------------------------------
CUSTOMER_ID = "a8f2c1d0-0000-4000-8000-000000000abc"
WORKSPACE = f"(?i){SUB_PATH}/resourceGroups/rg-dp-foundation-sec/providers/Microsoft.OperationalInsights/workspaces/log-dp-sec"


def monitor(rows: list[list[Any]], status: int = 200) -> tuple[Route, Route]:
    workspace = {"id": "x", "name": "log-dp-sec", "properties": {"customerId": CUSTOMER_ID, "provisioningState": "Succeeded"}}
    tables = {"tables": [{"name": "PrimaryResult", "columns": [{"name": "ok", "type": "int"}], "rows": rows}]}
    return (Route("GET", WORKSPACE, body=workspace),
            Route("POST", f"/v1/workspaces/{CUSTOMER_ID}/query", status=status,
                  body=tables if status == 200 else {"error": {"code": "InsufficientAccessError", "message": "no"}}))


def test_log_analytics_answers_print_ok_in_the_foundations_workspace():
    probe, transport = probe_of("azure_monitor", *monitor([[1]]))
    evidence = catalog.log_analytics_query(probe)
    assert evidence["customer_id"] == CUSTOMER_ID and evidence["rows"] == [[1]] and evidence["status"] == "Success"
    sent = transport.requests[-1]
    assert urlsplit(sent.url).netloc == "api.loganalytics.io" and json.loads(sent.body)["query"] == "print ok=1"


def test_log_analytics_with_no_row_or_refused_fails():
    with pytest.raises(PermanentError, match=f"`print ok=1` in workspace {CUSTOMER_ID} did not answer 1"):
        catalog.log_analytics_query(probe_of("azure_monitor", *monitor([]))[0])
    with pytest.raises(PermanentError, match=f"azure_monitor: query Log Analytics workspace {CUSTOMER_ID}: .*"
                                             "InsufficientAccessError") as refused:
        catalog.log_analytics_query(probe_of("azure_monitor", *monitor([[1]], status=403))[0])
    assert refused.value.evidence["status"] == 403


def test_a_missing_workspace_fails_naming_it():
    with pytest.raises(PermanentError, match="log-dp-sec"):
        catalog.log_analytics_query(probe_of("azure_monitor")[0])


# -- Cost Management and Defender for Cloud --------------------------------------------------------------
COST = f"{SUB_PATH}/providers/Microsoft.CostManagement/query"


def test_a_month_to_date_cost_query_answers_with_columns():
    body = {"id": f"{SUB_PATH}/providers/Microsoft.CostManagement/query/q1", "type": "Microsoft.CostManagement/query",
            "properties": {"nextLink": None, "columns": [{"name": "Cost", "type": "Number"},
                                                          {"name": "Currency", "type": "String"}],
                           "rows": [[12.5, "USD"]]}}
    probe, transport = probe_of("cost_management", Route("POST", COST, body=body))
    assert catalog.cost_query(probe) == {"scope": SUB_PATH, "columns": ["Cost", "Currency"], "rows": 1}
    sent = transport.requests[0]
    assert query(sent)["api-version"] == ["2023-11-01"] and json.loads(sent.body)["timeframe"] == "MonthToDate"


def test_a_cost_query_without_columns_or_refused_fails():
    with pytest.raises(PermanentError, match="answered with no columns"):
        catalog.cost_query(probe_of("cost_management", Route("POST", COST, body={"properties": {"rows": []}}))[0])
    with pytest.raises(PermanentError, match=r"HTTP 401 \(drctl's identity needs Cost Management Reader\)"):
        catalog.cost_query(probe_of("cost_management", Route("POST", COST, status=401, body={"error": {}}))[0])
    with pytest.raises(TransientError, match="HTTP 429"):  # Cost Management throttles hard: worth another try
        catalog.cost_query(probe_of("cost_management", Route("POST", COST, status=429, body={"error": {}}))[0])


SCORE = f"{SUB_PATH}/providers/Microsoft.Security/secureScores/ascScore"


def test_the_secure_score_is_read():
    body = {"id": SCORE, "name": "ascScore", "type": "Microsoft.Security/secureScores",
            "properties": {"displayName": "ASC score", "score": {"max": 39, "current": 15.4, "percentage": 0.3949},
                           "weight": 0}}
    probe, transport = probe_of("defender_for_cloud", Route("GET", SCORE, body=body))
    assert catalog.secure_score_readable(probe) == {"current": 15.4, "max": 39, "percentage": 0.3949}
    assert query(transport.requests[0])["api-version"] == ["2020-01-01"]


def test_a_secure_score_refused_or_without_score_fails():
    with pytest.raises(PermanentError, match=r"HTTP 403 \(drctl's identity needs Security Reader\)"):
        catalog.secure_score_readable(probe_of("defender_for_cloud", Route("GET", SCORE, status=403, body={}))[0])
    with pytest.raises(PermanentError, match="answered with no score"):
        catalog.secure_score_readable(probe_of("defender_for_cloud", Route("GET", SCORE, body={"name": "ascScore"}))[0])


# -- Power BI and Fabric ---------------------------------------------------------------------------------
def test_power_bi_lists_groups_with_its_own_token():
    credential = Recording()
    body = {"@odata.context": "https://api.powerbi.com/v1.0/myorg/$metadata#groups", "value": [{"id": "g", "name": "Sales"}]}
    probe, transport = probe_of("power_bi", Route("GET", "/v1.0/myorg/groups", body=body), credential=credential)
    assert catalog.powerbi_rest_reachable(probe)["listed"] == 1
    assert credential.scopes == ["https://analysis.windows.net/powerbi/api/.default"]
    assert urlsplit(transport.requests[0].url).netloc == "api.powerbi.com" and query(transport.requests[0])["$top"] == ["1"]


@pytest.mark.parametrize(("status", "body", "message"), [
    (401, {"error": {"code": "TokenExpired"}}, r"power_bi: GET /v1.0/myorg/groups: HTTP 401 \(drctl's identity needs the Power BI tenant setting"),
    (200, {}, "answered with no JSON object"),
    (200, {"@odata.context": "x"}, "answered without a `value` list")])
def test_power_bi_refused_or_empty_fails(status, body, message):
    with pytest.raises(PermanentError, match=message):
        catalog.powerbi_rest_reachable(probe_of("power_bi", Route("GET", "/v1.0/myorg/groups", status=status, body=body))[0])


@pytest.mark.parametrize("component", catalog.FABRIC)
def test_every_fabric_experience_asks_the_fabric_api_for_workspaces(component):
    credential = Recording()
    probe, _ = probe_of(component, Route("GET", "/v1/workspaces", body={"value": []}), credential=credential)
    assert catalog.fabric_rest_reachable(probe) == {"url": "https://api.fabric.microsoft.com/v1/workspaces", "listed": 0}
    assert credential.scopes == ["https://api.fabric.microsoft.com/.default"]
    with pytest.raises(PermanentError, match=f"{component}: GET /v1/workspaces: HTTP 403"):
        catalog.fabric_rest_reachable(probe_of(component, Route("GET", "/v1/workspaces", status=403, body={}))[0])


# -- AI Foundry ------------------------------------------------------------------------------------------
ACCOUNTS = f"{SUB_PATH}/providers/Microsoft.CognitiveServices/accounts"


def account(name: str, location: str = "westus", kind: str = "AIServices") -> dict:
    return {"id": f"{SUB_PATH}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{name}",
            "name": name, "kind": kind, "location": location}


def projects(name: str, state: str = "Succeeded") -> Route:
    project = {"name": f"{name}/chat", "type": "Microsoft.CognitiveServices/accounts/projects",
               "properties": {"provisioningState": state}}
    return Route("GET", f"{SUB_PATH}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{name}/projects",
                 body={"value": [project]})


def test_a_foundry_project_in_the_stacks_region_passes_following_pages():
    def pages(request):  # ARM pages with nextLink: the in-region account is on the second page
        if "skiptoken" in request.url:
            return 200, {"value": [account("foundry-west")]}, {}
        return 200, {"value": [account("openai-west", kind="OpenAI"), account("foundry-east", "eastus")],
                     "nextLink": f"https://management.azure.com{ACCOUNTS}?api-version=2025-06-01&$skiptoken=2"}, {}

    probe, transport = probe_of("ai_foundry", Route("GET", ACCOUNTS, respond=pages), projects("foundry-west"),
                                projects("foundry-east"))
    assert catalog.foundry_project_reachable(probe) == {"region": "westus", "accounts": 1, "projects": ["foundry-west/chat"]}
    assert [urlsplit(r.url).path.rsplit("/", 1)[-1] for r in transport.requests] == ["accounts", "accounts", "projects"]


def test_a_next_page_on_another_host_is_refused_before_a_token_goes_there():
    elsewhere = {"value": [], "nextLink": "https://attacker.example/collect?$skiptoken=2"}
    probe, transport = probe_of("ai_foundry", Route("GET", ACCOUNTS, body=elsewhere))
    with pytest.raises(PermanentError, match="paged to another host"):
        catalog.foundry_project_reachable(probe)
    assert len(transport.requests) == 1


def test_no_provisioned_foundry_project_in_the_region_fails():
    accounts = Route("GET", ACCOUNTS, body={"value": [account("foundry-west")]})
    probe, _ = probe_of("ai_foundry", accounts, projects("foundry-west", state="Failed"))
    with pytest.raises(PermanentError, match=r"no provisioned AI Foundry project in westus \(1 AIServices account"):
        catalog.foundry_project_reachable(probe)
    with pytest.raises(PermanentError, match=r"\(0 AIServices account\(s\), 0 project\(s\) listed\)"):
        catalog.foundry_project_reachable(probe_of("ai_foundry", Route("GET", ACCOUNTS, body={"value": []}))[0])


# -- Site Recovery ---------------------------------------------------------------------------------------
PLANS = (f"{SUB_PATH}/resourceGroups/{GROUP}/providers/Microsoft.RecoveryServices/vaults/rsv-dp-asr-sec/"
         "replicationRecoveryPlans")


def test_the_sql_vm_vaults_recovery_plans_are_listed():
    plans = {"value": [{"name": "sql-vms", "type": "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans",
                        "properties": {"friendlyName": "sql-vms"}}]}
    probe, transport = probe_of("site_recovery", Route("GET", PLANS, body=plans))
    assert catalog.recovery_plan_readable(probe) == {"vault": "rsv-dp-asr-sec", "recovery_plans": ["sql-vms"]}
    assert query(transport.requests[0])["api-version"] == ["2023-08-01"]


def test_a_missing_vault_or_a_refused_listing_fails():
    with pytest.raises(PermanentError, match=f"no vault rsv-dp-asr-sec in {GROUP}: enable sqlServerVm on this stack"):
        catalog.recovery_plan_readable(probe_of("site_recovery")[0])
    with pytest.raises(PermanentError, match=r"HTTP 403 \(drctl's identity needs Site Recovery Reader"):
        catalog.recovery_plan_readable(probe_of("site_recovery", Route("GET", PLANS, status=403, body={}))[0])
    with pytest.raises(PermanentError, match="without a `value` list"):
        catalog.recovery_plan_readable(probe_of("site_recovery", Route("GET", PLANS, body={"error": None}))[0])
