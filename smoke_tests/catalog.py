"""The readiness checks of the SaaS and Microsoft-recovered services the platform relies on
(components/catalog.py): one per service whose API can prove it is available; the others (Dataverse)
get a person's confirmation in the plan (a manual gate) instead of a check.

Nothing of these is deployed: each check gets a ServiceProbe with no resources and no settings
(orchestrator/targets/azure/data_steps.py `smoke`), so every name comes from the probe's names
(subscription, region, prefix, suffix, groups) and components/naming.py, as the program names it.
Each calls the API a user of the service would: Entra ID's token endpoint through the credential,
the subscription through azure-mgmt-resource-subscriptions, Log Analytics through azure-monitor-query,
and the REST-only services (ARM providers with no SDK installed here, Power BI, Fabric, the public
status pages) through the probe's azure-core pipeline (`probe.rest`).

No payload in the Azure REST API specs kept for the tests covers these operations, so every test
answers with a thin double at the SDK's transport, shaped as the service's documentation shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from components import naming
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, Check, PermanentError, Plane, enum_text, smoke
from smoke_tests.probe import ServiceProbe

ARM = "https://management.azure.com"
ARM_SCOPE = f"{ARM}/.default"
POWER_BI_SCOPE = "https://analysis.windows.net/powerbi/api/.default"
FABRIC_SCOPE = "https://api.fabric.microsoft.com/.default"
DEVOPS_STATUS = "https://status.dev.azure.com/_apis/status/health"
GITHUB_STATUS = "https://www.githubstatus.com/api/v2/status.json"
WORKSPACE_TYPE = "azure-native:operationalinsights:Workspace"
NO_SPEC = "no example payload for it in the specs kept here"
NOT_ARM = "a public status page, outside the Azure REST API specs"


# -- one REST call -------------------------------------------------------------------------------------
def _rest(probe: ServiceProbe, url: str, scope: str | None, params: Mapping[str, str] | None = None, *,
          method: str = "GET", body: Any = None, needs: str = "") -> dict[str, Any]:
    """`method url` through the probe's pipeline (a token for `scope`, none when None): the JSON object
    answered, or a PermanentError naming the component, and what the identity needs on a 401/403."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        answer = probe.rest(f"{parts.scheme}://{parts.netloc}", scope).request(method, path, json=body, params=params)
    except PermanentError as err:
        status = (err.evidence or {}).get("status")
        hint = f" (drctl's identity needs {needs})" if needs and status in (401, 403) else ""
        raise PermanentError(f"{probe.component}: {err}{hint}", err.evidence) from None
    if not isinstance(answer, dict) or not answer:
        raise PermanentError(f"{probe.component}: {method} {url} answered with no JSON object",
                             {"answer": str(answer)[:200]})
    return answer


def _listed(probe: ServiceProbe, url: str, scope: str, params: Mapping[str, str], needs: str) -> list[dict]:
    """Every item of a list API that pages with `value` and `nextLink` (ARM's convention)."""
    items: list[dict] = []
    next_url: str | None = url
    while next_url:
        page = _rest(probe, next_url, scope, params if next_url == url else None, needs=needs)
        if not isinstance(page.get("value"), list):
            raise PermanentError(f"{probe.component}: GET {next_url} answered without a `value` list",
                                 {"keys": sorted(page)[:10]})
        items += page["value"]
        next_url = page.get("nextLink")
        if next_url and urlsplit(next_url).netloc != urlsplit(url).netloc:  # the token goes where the link says
            raise PermanentError(f"{probe.component}: GET {url} paged to another host", {"next": next_url[:200]})
    return items


# -- Entra ID, the subscription, the management group --------------------------------------------------
def token_acquisition(probe: ServiceProbe) -> dict:
    """Entra ID issues drctl's credential a token for Azure Resource Manager, which every deploy and
    check starts with. The evidence says it was acquired, never what it is."""
    from azure.core.exceptions import ClientAuthenticationError

    credential = type(probe.credential).__name__
    try:
        token = probe.token(ARM_SCOPE)
    except ClientAuthenticationError as err:  # CredentialUnavailableError included: no identity configured
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise PermanentError(f"entra_id: {credential} got no token for {ARM_SCOPE}: {type(err).__name__}: "
                             f"{first_line}", {"credential": credential, "error": type(err).__name__}) from None
    if not token:
        raise PermanentError(f"entra_id: {credential} returned an empty token for {ARM_SCOPE}",
                             {"credential": credential})
    return {"credential": credential, "scope": ARM_SCOPE, "token": "acquired"}


def _subscription(probe: ServiceProbe) -> Any:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    subscription_id = probe.names["subscription"]
    client = probe.client(SubscriptionClient)
    return probe.call(f"{probe.component}: get subscription {subscription_id}", client.subscriptions.get, subscription_id)


def subscription_reachable(probe: ServiceProbe) -> dict:
    """The stack's subscription (Subscriptions_Get) is Enabled: Warned, PastDue and Disabled
    subscriptions refuse new resources or are read-only, so a recovery cannot deploy into them."""
    found = _subscription(probe)
    state = enum_text(found.state)
    evidence = {"subscription": probe.names["subscription"], "state": state, "display_name": found.display_name}
    if state != "Enabled":
        raise PermanentError(f"subscriptions: subscription {probe.names['subscription']} is {state}, not Enabled",
                             evidence)
    return evidence


def management_group_readable(probe: ServiceProbe) -> dict:
    """The tenant's root management group answers (Management Groups - Get, 2023-04-01). The stack names
    no management group, so the root is read; its id is the tenant id, taken from the subscription."""
    tenant = _subscription(probe).tenant_id
    if not tenant:
        raise PermanentError("management_groups: the subscription names no tenant, so no root group to read")
    url = f"{ARM}/providers/Microsoft.Management/managementGroups/{tenant}"
    group = _rest(probe, url, ARM_SCOPE, {"api-version": "2023-04-01"},
                  needs="Management Group Reader on the tenant root group")
    if group.get("name") != tenant:
        raise PermanentError(f"management_groups: GET {url} answered with group {group.get('name')!r}",
                             {"tenant": tenant, "name": group.get("name")})
    return {"management_group": tenant, "display_name": (group.get("properties") or {}).get("displayName")}


# -- public status pages -----------------------------------------------------------------------------
def _status(probe: ServiceProbe, url: str, value: Any, ok: frozenset[str], down: frozenset[str]) -> dict:
    evidence = {"url": url, "status": value}
    if value in ok:
        return evidence
    verdict = "an outage" if value in down else "no status drctl knows"
    raise PermanentError(f"{probe.component}: {url} reports {value!r}: {verdict}", evidence)


def devops_status_api(probe: ServiceProbe) -> dict:
    """Azure DevOps' public Status API (Health - Get, 7.1-preview.1): the all-up health is healthy,
    advisory or degraded (a partial outage, like GitHub's "minor"); unhealthy fails."""
    answer = _rest(probe, DEVOPS_STATUS, None, {"api-version": "7.1-preview.1"})
    health = (answer.get("status") or {}).get("health")
    return _status(probe, DEVOPS_STATUS, health, frozenset({"healthy", "advisory", "degraded"}),
                   frozenset({"unhealthy"}))


def github_status_api(probe: ServiceProbe) -> dict:
    """githubstatus.com's status summary: indicator none or minor; major or critical fails."""
    answer = _rest(probe, GITHUB_STATUS, None)
    indicator = (answer.get("status") or {}).get("indicator")
    return _status(probe, GITHUB_STATUS, indicator, frozenset({"none", "minor"}), frozenset({"major", "critical"}))


# -- Azure Monitor, Cost Management, Defender for Cloud ------------------------------------------------
def log_analytics_query(probe: ServiceProbe) -> dict:
    """`print ok=1` answers 1 in the stack's Log Analytics workspace (LogsQueryClient.query_workspace).

    The workspace is the foundation's (components/foundation.py), named as the program names it in the
    foundation resource group of the stack being recovered: its ARM GET gives the customerId the query
    API takes. The catalog probe carries no deployed resources, so the name is the only way to it."""
    from azure.monitor.query import LogsQueryClient, LogsQueryStatus

    prefix, suffix = probe.names["prefix"], probe.names["suffix"]
    group = naming.resource_group_name(prefix, "foundation", suffix)
    workspace_id = (f"/subscriptions/{probe.names['subscription']}/resourceGroups/{group}/providers/"
                    f"Microsoft.OperationalInsights/workspaces/{naming.log_analytics_name(prefix, suffix)}")
    customer_id = (probe.get({"id": workspace_id, "type": WORKSPACE_TYPE}).get("properties") or {}).get("customerId")
    if not customer_id:
        raise PermanentError(f"azure_monitor: workspace {workspace_id} has no customerId", {"id": workspace_id})
    client = probe.client(LogsQueryClient)
    result = probe.call(f"azure_monitor: query Log Analytics workspace {customer_id}", client.query_workspace, customer_id,
                        "print ok=1", timespan=None)
    rows = [list(row) for table in (getattr(result, "tables", None) or []) for row in table.rows]
    evidence = {"workspace": workspace_id, "customer_id": customer_id, "status": enum_text(result.status),
                "rows": rows[:1]}
    if result.status != LogsQueryStatus.SUCCESS or rows[:1] != [[1]]:
        raise PermanentError(f"azure_monitor: `print ok=1` in workspace {customer_id} did not answer 1", evidence)
    return evidence


def cost_query(probe: ServiceProbe) -> dict:
    """A minimal month-to-date actual-cost query on the subscription (Cost Management Query - Usage,
    2023-11-01) answers with columns; rows may be none on a new subscription."""
    scope = f"/subscriptions/{probe.names['subscription']}"
    query = {"type": "ActualCost", "timeframe": "MonthToDate",
             "dataset": {"granularity": "None", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}}}}
    answer = _rest(probe, f"{ARM}{scope}/providers/Microsoft.CostManagement/query", ARM_SCOPE,
                   {"api-version": "2023-11-01"}, method="POST", body=query, needs="Cost Management Reader")
    properties = answer.get("properties") or {}
    columns = [column.get("name") for column in properties.get("columns") or []]
    if not columns:
        raise PermanentError(f"cost_management: the cost query on {scope} answered with no columns",
                             {"scope": scope, "keys": sorted(properties)})
    return {"scope": scope, "columns": columns, "rows": len(properties.get("rows") or [])}


def secure_score_readable(probe: ServiceProbe) -> dict:
    """Defender for Cloud's overall secure score of the subscription (Secure Scores - Get "ascScore",
    2020-01-01) is readable and carries a score."""
    url = f"{ARM}/subscriptions/{probe.names['subscription']}/providers/Microsoft.Security/secureScores/ascScore"
    answer = _rest(probe, url, ARM_SCOPE, {"api-version": "2020-01-01"}, needs="Security Reader")
    score = (answer.get("properties") or {}).get("score") or {}
    if "max" not in score:
        raise PermanentError(f"defender_for_cloud: GET {url} answered with no score", {"keys": sorted(answer)})
    return {"current": score.get("current"), "max": score.get("max"), "percentage": score.get("percentage")}


# -- Power BI and Fabric -------------------------------------------------------------------------------
def _reachable(probe: ServiceProbe, url: str, scope: str, needs: str, params: Mapping[str, str] | None = None) -> dict:
    """The service's REST API lists what drctl's identity can see (an empty list still proves it answers)."""
    answer = _rest(probe, url, scope, params, needs=needs)
    if not isinstance(answer.get("value"), list):
        raise PermanentError(f"{probe.component}: GET {url} answered without a `value` list", {"keys": sorted(answer)})
    return {"url": url, "listed": len(answer["value"])}


def powerbi_rest_reachable(probe: ServiceProbe) -> dict:
    """Power BI's REST API answers Groups - Get Groups ($top=1) with a workspace list."""
    return _reachable(probe, "https://api.powerbi.com/v1.0/myorg/groups", POWER_BI_SCOPE,
                      "the Power BI tenant setting that lets service principals use its APIs", {"$top": "1"})


def fabric_rest_reachable(probe: ServiceProbe) -> dict:
    """Fabric's REST API answers Workspaces - List Workspaces: every Fabric experience is served by it."""
    return _reachable(probe, "https://api.fabric.microsoft.com/v1/workspaces", FABRIC_SCOPE,
                      "the Fabric tenant setting that lets service principals use its APIs")


# -- AI Foundry, Site Recovery -------------------------------------------------------------------------
def foundry_project_reachable(probe: ServiceProbe) -> dict:
    """An AI Foundry project in the stack's region is provisioned (ARM: Microsoft.CognitiveServices
    accounts of kind AIServices, then their projects, 2025-06-01). The program deploys no Foundry project
    and the stack names none, so any in the region being recovered to counts, wherever it was created."""
    version = {"api-version": "2025-06-01"}
    region = probe.names["region"].replace(" ", "").lower()
    accounts = _listed(probe, f"{ARM}/subscriptions/{probe.names['subscription']}/providers/"
                       "Microsoft.CognitiveServices/accounts", ARM_SCOPE, version, "Reader on the subscription")
    foundry = [a for a in accounts if a.get("kind") == "AIServices"
               and str(a.get("location", "")).replace(" ", "").lower() == region]
    projects = [p for account in foundry
                for p in _listed(probe, f"{ARM}{account['id']}/projects", ARM_SCOPE, version, "Reader on the account")]
    ready = sorted(p.get("name", "") for p in projects if (p.get("properties") or {}).get("provisioningState") == "Succeeded")
    evidence = {"region": region, "accounts": len(foundry), "projects": ready}
    if not ready:
        raise PermanentError(f"ai_foundry: no provisioned AI Foundry project in {region} ({len(foundry)} AIServices "
                             f"account(s), {len(projects)} project(s) listed)", evidence)
    return evidence


def recovery_plan_readable(probe: ServiceProbe) -> dict:
    """The Site Recovery vault's recovery plans are listable (Replication Recovery Plans - List,
    2023-08-01). The vault is the sqlServerVm service's (components/sql_server_vm.py `vault_name`), in
    the data resource group of the stack being recovered to; no plan is declared by the program, so an
    empty list passes: the check proves Site Recovery answers for the vault."""
    from components.sql_server_vm import vault_name

    vault = vault_name(probe.names["prefix"], probe.names["suffix"])
    url = (f"{ARM}/subscriptions/{probe.names['subscription']}/resourceGroups/{probe.names['data_group']}/providers/"
           f"Microsoft.RecoveryServices/vaults/{vault}/replicationRecoveryPlans")
    try:
        plans = _listed(probe, url, ARM_SCOPE, {"api-version": "2023-08-01"}, "Site Recovery Reader on the vault")
    except PermanentError as err:
        if (err.evidence or {}).get("status") != 404:
            raise
        raise PermanentError(f"site_recovery: no vault {vault} in {probe.names['data_group']}: enable sqlServerVm "
                             "on this stack (Site Recovery's vault lives in the target region)", err.evidence) from None
    return {"vault": vault, "recovery_plans": sorted(str(plan.get("name")) for plan in plans)}


def _ready(component: str, name: str, function: Any, plane: Plane, what: str, why: str = NO_SPEC) -> Check:
    return smoke(component, name, function, AZURE, plane=plane, tested_against=f"{TRANSPORT_DOUBLE}{what}: {why}")


FABRIC = ("fabric_onelake", "fabric_sql_database", "fabric_data_engineering", "fabric_data_warehouse",
          "fabric_sql_analytics_endpoint", "fabric_mirrored_database", "fabric_real_time_intelligence",
          "fabric_data_science")

# By catalog key. Dataverse has none: only a person can confirm it (the Power Platform admin center).
READINESS: dict[str, tuple[Check, ...]] = {
    "entra_id": (_ready("entra_id", "token-acquisition", token_acquisition, "public",
                        "a credential that issues or refuses a token", "no Entra ID to sign in to here"),),
    "azure_devops": (_ready("azure_devops", "devops-status-api", devops_status_api, "public",
                            "the DevOps Status API's health document", NOT_ARM),),
    "github": (_ready("github", "github-status-api", github_status_api, "public", "githubstatus.com's status.json",
                    NOT_ARM),),
    "subscriptions": (_ready("subscriptions", "subscription-reachable", subscription_reachable, "management",
                             "Subscriptions_Get"),),
    "management_groups": (_ready("management_groups", "management-group-readable", management_group_readable,
                                 "management", "Management Groups - Get"),),
    "azure_monitor": (_ready("azure_monitor", "log-analytics-query", log_analytics_query, "public",
                             "the workspace's ARM GET and the Logs query API's tables"),),
    "cost_management": (_ready("cost_management", "cost-query", cost_query, "management", "Cost Management Query"),),
    "defender_for_cloud": (_ready("defender_for_cloud", "secure-score-readable", secure_score_readable, "management",
                                  "Secure Scores - Get"),),
    "power_bi": (_ready("power_bi", "powerbi-rest-reachable", powerbi_rest_reachable, "public",
                        "Power BI's Get Groups"),),
    **{key: (_ready(key, "fabric-rest-reachable", fabric_rest_reachable, "public", "Fabric's List Workspaces"),)
       for key in FABRIC},
    "ai_foundry": (_ready("ai_foundry", "foundry-project-reachable", foundry_project_reachable, "management",
                          "Cognitive Services accounts and projects lists"),),
    "site_recovery": (_ready("site_recovery", "recovery-plan-readable", recovery_plan_readable, "management",
                             "Replication Recovery Plans - List"),),
}
