"""The security baseline, checked offline over the inputs of the program's resource graph.

The design (ARCHITECTURE.md, conventions) asks for HTTPS only, TLS 1.2 or later, no public blob
access, Key Vault with RBAC and purge protection, databases without public network access,
NSGs that deny inbound by default, and managed identities over keys. Most rules below read one
input of one resource type, so a new service is held to the baseline as soon as it deploys a
type listed here; two read across resources (GRAPH_RULES: what a private endpoint reaches, and a
MySQL server's parameters). `drctl coverage` reports every violation as a gap, and the tests run
these rules over every stack file of the repository.

A resource that must break a rule for a reason is listed in EXCEPTIONS with that reason: its
violation is reported as excepted (never silently passed), and the tests fail on an exception
that no longer matches a violation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.program.capture import Graph, GraphResource

    Hit = tuple[GraphResource, str, str]  # a resource, the rule it breaks, how

HTTPS = "HTTPS only"
TLS = "TLS 1.2 or later"
PUBLIC_BLOB = "no public blob access"
KEY_VAULT = "Key Vault with RBAC and purge protection"
PRIVATE_DATA = "databases without public network access"
NSG = "NSGs deny inbound by default"
IDENTITY = "managed identities over keys"

MISSING = "<not set>"  # an input the program leaves out: allowed only where Azure's default is safe
_TLS_12 = frozenset({"TLS1_2", "TLS1_3", "1.2", "1.3", "Tls12", "Tls13"})


@dataclass(frozen=True)
class Expect:
    """`path` (dotted, into the resource's inputs) of every `type` must be one of `allowed`."""

    type: str
    path: str
    allowed: frozenset[Any]
    rule: str


def _expect(type_: str, path: str, rule: str, *allowed: Any) -> Expect:
    return Expect(f"azure-native:{type_}", path, frozenset(allowed), rule)


RULES: tuple[Expect, ...] = (
    _expect("storage:StorageAccount", "enableHttpsTrafficOnly", HTTPS, True),
    _expect("storage:StorageAccount", "minimumTlsVersion", TLS, *_TLS_12),
    _expect("storage:StorageAccount", "allowBlobPublicAccess", PUBLIC_BLOB, False),
    # Unset, Azure allows the account's shared keys: every caller would hold the whole account.
    _expect("storage:StorageAccount", "allowSharedKeyAccess", IDENTITY, False),
    # A container without publicAccess is private: that is Azure's default.
    _expect("storage:BlobContainer", "publicAccess", PUBLIC_BLOB, "None", MISSING),
    _expect("web:WebApp", "httpsOnly", HTTPS, True),
    _expect("web:WebApp", "siteConfig.minTlsVersion", TLS, *_TLS_12),
    _expect("keyvault:Vault", "properties.enableRbacAuthorization", KEY_VAULT, True),
    _expect("keyvault:Vault", "properties.enablePurgeProtection", KEY_VAULT, True),
    _expect("eventhub:Namespace", "minimumTlsVersion", TLS, *_TLS_12),
    _expect("eventhub:Namespace", "disableLocalAuth", IDENTITY, True),
    _expect("dbforpostgresql:Server", "network.publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("dbforpostgresql:Server", "authConfig.passwordAuth", IDENTITY, "Disabled"),
    _expect("dbformysql:Server", "network.publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("sql:Server", "publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("sql:Server", "minimalTlsVersion", TLS, *_TLS_12),
    _expect("sql:Server", "administrators.azureADOnlyAuthentication", IDENTITY, True),
    # The public data endpoint of a managed instance is off unless asked for.
    _expect("sql:ManagedInstance", "publicDataEndpointEnabled", PRIVATE_DATA, False, MISSING),
    _expect("sql:ManagedInstance", "minimalTlsVersion", TLS, *_TLS_12),
    _expect("sql:ManagedInstance", "administrators.azureADOnlyAuthentication", IDENTITY, True),
    _expect("cosmosdb:DatabaseAccount", "publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("cosmosdb:DatabaseAccount", "minimalTlsVersion", TLS, *_TLS_12),
    _expect("cosmosdb:DatabaseAccount", "disableLocalAuth", IDENTITY, True),
    _expect("kusto:Cluster", "publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("synapse:Workspace", "publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("synapse:Workspace", "azureADOnlyAuthentication", IDENTITY, True),
    _expect("iothub:IotHubResource", "properties.minTlsVersion", TLS, *_TLS_12),
    _expect("iothub:IotHubResource", "properties.disableLocalAuth", IDENTITY, True),
    _expect("search:Service", "disableLocalAuth", IDENTITY, True),
    _expect("cognitiveservices:Account", "properties.disableLocalAuth", IDENTITY, True),
)

# Sources that mean "anyone": an inbound Allow from one of these opens the subnet to the internet.
_ANYWHERE = frozenset({"*", "internet", "any", "0.0.0.0/0"})


def _nsg_denies_inbound(inputs: dict[str, Any]) -> list[str]:
    """An explicit lowest-priority deny-all inbound rule, and no inbound allow from anywhere.

    Azure's implicit DenyAllInBound sits below AllowVnetInBound and AllowAzureLoadBalancerInBound;
    the platform states its own deny so the policy reads whole in code."""
    rules = [r for r in inputs.get("securityRules") or [] if str(r.get("direction", "")).lower() == "inbound"]
    problems = []
    if not any(
        str(r.get("access", "")).lower() == "deny"
        and r.get("sourceAddressPrefix") == "*"
        and r.get("destinationPortRange") == "*"
        and r.get("protocol") == "*"
        for r in rules
    ):
        problems.append("no deny-all inbound rule")
    for r in rules:
        sources = {r.get("sourceAddressPrefix"), *(r.get("sourceAddressPrefixes") or [])}
        if str(r.get("access", "")).lower() == "allow" and {str(s).lower() for s in sources if s} & _ANYWHERE:
            problems.append(f"rule {r.get('name')!r} allows inbound from anywhere")
    return problems


# Rules that read more than one input.
CUSTOM: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "azure-native:network:NetworkSecurityGroup": (NSG, _nsg_denies_inbound),
}


# -- rules across resources ----------------------------------------------------------------------------

_DISABLED_AT = ("publicNetworkAccess", "properties.publicNetworkAccess", "network.publicNetworkAccess")
_DENY_AT = ("networkRuleSet.defaultAction", "networkAcls.defaultAction", "properties.networkAcls.defaultAction")


def _private_endpoints_are_the_way_in(resources: list[GraphResource], inputs: dict[str, dict]) -> Iterable[Hit]:
    """A resource reached through a private endpoint does not also take public traffic: its public
    network access is disabled, or its network rules deny by default (Key Vault's way).

    The endpoint names its target by resource ID; the mock runtime's IDs end in
    providers/<module>/<Type>/<name>, matched here to the type token and physical name."""
    by_id = {(r["type"], r["physical_name"]): r for r in resources if r["physical_name"]}
    reached: dict[str, tuple[GraphResource, list[str]]] = {}  # target URN -> (target, its endpoints' names)
    for endpoint in resources:
        if endpoint["type"] != "azure-native:network:PrivateEndpoint":
            continue
        spec = inputs.get(endpoint["urn"], {})
        for link in (spec.get("privateLinkServiceConnections") or []) + (spec.get("manualPrivateLinkServiceConnections") or []):
            parts = str(link.get("privateLinkServiceId", "")).split("/providers/")[-1].split("/")
            target = by_id.get((f"azure-native:{parts[0]}:{parts[1]}", parts[2])) if len(parts) >= 3 else None
            if target is not None:  # else outside this stack: its own program answers for it
                reached.setdefault(target["urn"], (target, []))[1].append(endpoint["name"])
    for target, endpoints in reached.values():
        given = inputs.get(target["urn"], {})
        access = next((v for v in (_lookup(given, p) for p in _DISABLED_AT) if v != MISSING), MISSING)
        if str(access).lower() == "disabled" or any(_lookup(given, p) == "Deny" for p in _DENY_AT):
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


def _mysql_parameters(resources: list[GraphResource], inputs: dict[str, dict]) -> Iterable[Hit]:
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


GRAPH_RULES: tuple[Callable[[list[GraphResource], dict[str, dict]], Iterable[Hit]], ...] = (
    _private_endpoints_are_the_way_in, _mysql_parameters,
)


# -- justified exceptions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excepted:
    """`rule` does not apply to the `type` resources whose logical name matches `name` (a glob), because `reason`."""

    type: str
    name: str
    rule: str
    reason: str

    def matches(self, violation: Violation) -> bool:
        return violation.type == self.type and violation.rule == self.rule and fnmatchcase(violation.name, self.name)


EXCEPTIONS: tuple[Excepted, ...] = (
    Excepted("azure-native:storage:StorageAccount", "machine-learning-storage", IDENTITY,
               "Azure Machine Learning's default datastores and compute file shares sign in with the account's "
               "shared key; identity-only datastores would need the workspace's system datastores in identity "
               "mode (components/machine_learning.py)"),
    Excepted("azure-native:storage:StorageAccount", "analysis-services-backups", IDENTITY,
               "Azure Analysis Services writes and reads its backups through a SAS, which only the account's "
               "shared key signs (components/analysis_services.py)"),
)


@dataclass(frozen=True)
class Violation:
    urn: str
    type: str
    name: str
    component: str | None  # the logical name of the enclosing component
    rule: str
    detail: str
    excepted: str | None = None  # the reason of the EXCEPTIONS entry that covers it

    def line(self) -> str:
        line = f"{self.rule}: {self.type.split(':', 1)[-1]} {self.name!r} {self.detail}"
        return f"{line}; excepted: {self.excepted}" if self.excepted else line


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _is_allowed(value: Any, allowed: frozenset[Any]) -> bool:
    # Same type as well as equal: 1 is not True, and "true" is not True.
    return any(type(value) is type(option) and value == option for option in allowed)


def check_resource(type_: str, inputs: dict[str, Any], only: str | None = None) -> list[tuple[str, str]]:
    """(rule, what is wrong) for every baseline rule (or the `only` one) `inputs` of a `type_` resource break.

    `only` lets the policy pack (orchestrator/policy) run each rule on its own: a value one rule
    cannot read during a preview then stops that rule, not the others."""
    found: list[tuple[str, str]] = []
    for expect in RULES:
        if expect.type != type_ or only not in (None, expect.rule):
            continue
        value = _lookup(inputs, expect.path)
        if not _is_allowed(value, expect.allowed):
            wanted = " or ".join(sorted(repr(v) if v != MISSING else "unset" for v in expect.allowed))
            shown = "unset" if value == MISSING else repr(value)
            found.append((expect.rule, f"{expect.path} is {shown}, wants {wanted}"))
    if type_ in CUSTOM and only in (None, CUSTOM[type_][0]):
        rule, check = CUSTOM[type_]
        found += [(rule, problem) for problem in check(inputs)]
    return found


def check_graph(graph: Graph, exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Violation]:
    """Every violation in a captured graph (orchestrator.preview.Graph) no exception covers."""
    return [v for v in assess_graph(graph, exceptions) if not v.excepted]


def assess_graph(graph: Graph, exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Violation]:
    """Every violation in the graph, in resource order, each excepted one carrying its reason."""
    found = []
    for violation in _violations(list(graph.resources), graph.inputs):
        cover = next((e for e in exceptions if e.matches(violation)), None)
        found.append(replace(violation, excepted=cover.reason) if cover else violation)
    return found


def stale_exceptions(graphs: Iterable[Graph], exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Excepted]:
    """The exceptions that cover no violation of any of `graphs`: the reason they stood for is gone."""
    violations = [v for graph in graphs for v in _violations(list(graph.resources), graph.inputs)]
    return [e for e in exceptions if not any(e.matches(v) for v in violations)]


def _violations(resources: list[GraphResource], inputs: dict[str, dict[str, Any]]) -> Iterable[Violation]:
    found = [(r, rule, detail) for r in resources for rule, detail in check_resource(r["type"], inputs.get(r["urn"], {}))]
    found += [hit for graph_rule in GRAPH_RULES for hit in graph_rule(resources, inputs)]
    order = {r["urn"]: index for index, r in enumerate(resources)}
    for resource, rule, detail in sorted(found, key=lambda hit: order[hit[0]["urn"]]):
        yield Violation(resource["urn"], resource["type"], resource["name"], resource["component"], rule, detail)
