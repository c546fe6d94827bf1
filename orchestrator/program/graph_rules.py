"""The security baseline's rules across resources (orchestrator/program/baseline.py): what a private
endpoint reaches, a MySQL server's parameters, every resource's diagnostic settings, SQL auditing.

They read the mock runtime's resource IDs, which end in providers/<module>/<Type>/<name>[/<child
path>] (orchestrator/program/capture.py), matched to a resource's type token and Azure name (its
logical name where the program gives none, as the mock does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from components.diagnostics import ALL_LOGS, SUPPORTED, Sends
from orchestrator.program.rules import AUDITING, DIAGNOSTICS, IDENTITY, MISSING, PRIVATE_DATA, TLS, lookup

if TYPE_CHECKING:
    from orchestrator.program.graph import GraphResource

    Hit = tuple[GraphResource, str, str]  # a resource, the rule it breaks, how
    Inputs = dict[str, dict[str, Any]]

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"


class ResourceIds:
    """The graph's resources by the ID the mock runtime gave them."""

    def __init__(self, resources: list[GraphResource]) -> None:
        self._by_key = {(r["type"], r["physical_name"] or r["name"]): r for r in resources}

    def resolve(self, resource_id: Any) -> tuple[GraphResource | None, str]:
        """The resource an ID names, and the child path after it ("" for the resource itself)."""
        parts = str(resource_id or "").split("/providers/")[-1].split("/")
        if len(parts) < 3:
            return None, ""
        return self._by_key.get((f"azure-native:{parts[0]}:{parts[1]}", parts[2])), "/".join(parts[3:])

    def type_of(self, resource_id: Any) -> str | None:
        """The type of the graph's resource an ID names, itself (not a child of it)."""
        found, path = self.resolve(resource_id)
        return found["type"] if found is not None and not path else None


_DISABLED_AT = ("publicNetworkAccess", "properties.publicNetworkAccess", "network.publicNetworkAccess")
_DENY_AT = ("networkRuleSet.defaultAction", "networkAcls.defaultAction", "properties.networkAcls.defaultAction")


def private_endpoints_are_the_way_in(resources: list[GraphResource], inputs: Inputs) -> Iterable[Hit]:
    """A resource reached through a private endpoint does not also take public traffic: its public
    network access is disabled, or its network rules deny by default (Key Vault's way)."""
    ids = ResourceIds(resources)
    reached: dict[str, tuple[GraphResource, list[str]]] = {}  # target URN -> (target, its endpoints' names)
    for endpoint in resources:
        if endpoint["type"] != "azure-native:network:PrivateEndpoint":
            continue
        spec = inputs.get(endpoint["urn"], {})
        for link in (spec.get("privateLinkServiceConnections") or []) + (spec.get("manualPrivateLinkServiceConnections") or []):
            target, _ = ids.resolve(link.get("privateLinkServiceId"))
            if target is not None:  # else outside this stack: its own program answers for it
                reached.setdefault(target["urn"], (target, []))[1].append(endpoint["name"])
    for target, endpoints in reached.values():
        given = inputs.get(target["urn"], {})
        access = next((v for v in (lookup(given, p) for p in _DISABLED_AT) if v != MISSING), MISSING)
        if str(access).lower() == "disabled" or any(lookup(given, p) == "Deny" for p in _DENY_AT):
            continue
        yield (target, PRIVATE_DATA, f"is reached through private endpoint(s) {', '.join(map(repr, endpoints))} but "
               f"publicNetworkAccess is {'unset' if access == MISSING else repr(access)} and no network rule denies by default")


# MySQL flexible server sets TLS and Entra-only sign-in as server parameters (dbformysql:Configuration),
# not as inputs of the server: (parameter, rule, allowed values, Azure's default when unset is safe).
_MYSQL_PARAMETERS = (
    ("require_secure_transport", TLS, frozenset({"ON"}), True),
    ("tls_version", TLS, frozenset({"TLSv1.2", "TLSv1.3", "TLSv1.2,TLSv1.3"}), True),
    ("aad_auth_only", IDENTITY, frozenset({"ON"}), False),
)


def mysql_parameters(resources: list[GraphResource], inputs: Inputs) -> Iterable[Hit]:
    values: dict[tuple[str | None, str | None], Any] = {}  # (server, parameter) as the inputs name them
    for r in resources:
        if r["type"] == "azure-native:dbformysql:Configuration":
            given = inputs.get(r["urn"], {})
            values[(given.get("serverName"), given.get("configurationName"))] = given.get("value")
    for server in resources:
        if server["type"] != "azure-native:dbformysql:Server":
            continue
        name = inputs.get(server["urn"], {}).get("serverName")
        for parameter, rule, allowed, default_is_safe in _MYSQL_PARAMETERS:
            value = values.get((name, parameter), MISSING)
            if value in allowed or (value == MISSING and default_is_safe):
                continue
            shown = "unset" if value == MISSING else repr(value)
            yield server, rule, f"server parameter {parameter} is {shown}, wants {' or '.join(sorted(allowed))}"


def _sent(setting: dict[str, Any], sends: Sends) -> list[str]:
    """What `setting` leaves out of what the table says the resource sends."""
    logs = {entry.get("categoryGroup") for entry in setting.get("logs") or [] if entry.get("enabled") is True}
    metrics = {entry.get("category") for entry in setting.get("metrics") or [] if entry.get("enabled") is True}
    missing = [f"logs {ALL_LOGS}"] if sends.logs and ALL_LOGS not in logs else []
    return missing + [f"metrics {category}" for category in sends.metrics if category not in metrics]


def diagnostics_reach_the_workspace(resources: list[GraphResource], inputs: Inputs) -> Iterable[Hit]:
    """Every resource of a type with resource logs (components/diagnostics.py) has a diagnostic
    setting per target (itself, a storage account's services, a server's master database) that sends
    them, and its exportable metrics, to a Log Analytics workspace of the stack."""
    ids = ResourceIds(resources)
    settings: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (target URN, child path) -> its settings
    for r in resources:
        if r["type"] == DIAGNOSTIC_SETTING:
            given = inputs.get(r["urn"], {})
            target, path = ids.resolve(given.get("resourceUri"))
            if target is not None:
                settings.setdefault((target["urn"], path), []).append(given)
    for resource in resources:
        sends = SUPPORTED.get(resource["type"])
        if sends is None:
            continue
        targets = ([("", sends)] if sends.own else []) + list(sends.services.items())
        for path, wanted in targets:
            where = f" for {path}" if path else ""
            found = settings.get((resource["urn"], path), [])
            to_workspace = [s for s in found if ids.type_of(s.get("workspaceId")) == LOG_ANALYTICS]
            if not to_workspace:
                yield resource, DIAGNOSTICS, (f"has no diagnostic setting{where} sending to the stack's Log Analytics "
                                              "workspace" + (f" ({len(found)} send elsewhere)" if found else ""))
            elif all(_sent(s, wanted) for s in to_workspace):
                yield resource, DIAGNOSTICS, (f"diagnostic setting{where} leaves out "
                                              f"{', '.join(_sent(to_workspace[0], wanted))}")


def _audited(policy: dict[str, Any]) -> bool:
    properties = policy.get("properties", policy)  # a generic resource nests them
    return properties.get("state") == "Enabled" and properties.get("isAzureMonitorTargetEnabled") is True


def sql_auditing(resources: list[GraphResource], inputs: Inputs) -> Iterable[Hit]:
    """Every Azure SQL logical server and Synapse workspace audits to Azure Monitor: an auditing policy
    that is on, with Azure Monitor as a target (components/sql_auditing.py)."""
    policies: dict[tuple[str, Any], dict[str, Any]] = {}  # (kind, the server or workspace name) -> policy
    for r in resources:
        given = inputs.get(r["urn"], {})
        if r["type"] == "azure-native:sql:ServerBlobAuditingPolicy":
            policies[("server", given.get("serverName"))] = given
        elif (r["type"] == "azure-native:resources:Resource" and given.get("resourceType") == "auditingSettings"
              and given.get("resourceProviderNamespace") == "Microsoft.Synapse"):
            policies[("workspace", str(given.get("parentResourcePath", "")).removeprefix("workspaces/"))] = given
    audited = {"azure-native:sql:Server": ("server", "serverName"), "azure-native:synapse:Workspace": ("workspace", "workspaceName")}
    for resource in resources:
        if resource["type"] not in audited:
            continue
        kind, name_input = audited[resource["type"]]
        policy = policies.get((kind, inputs.get(resource["urn"], {}).get(name_input)))
        if policy is None:
            yield resource, AUDITING, "has no auditing policy"
        elif not _audited(policy):
            yield resource, AUDITING, "auditing is not on with Azure Monitor as a target"


GRAPH_RULES: tuple[Callable[[list[GraphResource], Inputs], Iterable[Hit]], ...] = (
    private_endpoints_are_the_way_in, mysql_parameters, diagnostics_reach_the_workspace, sql_auditing,
)
