"""The security baseline, checked offline over the inputs of the program's resource graph.

The design (ARCHITECTURE.md, conventions) asks for HTTPS only, TLS 1.2 or later, no public blob
access, Key Vault with RBAC and purge protection, databases without public network access,
NSGs that deny inbound by default, and managed identities over keys. Each rule below reads one
input of one resource type, so a new service is held to the baseline as soon as it deploys a
type listed here; `drctl coverage` reports every violation as a gap, and the tests run these
rules over every stack file of the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Violation:
    urn: str
    type: str
    name: str
    component: str | None  # the logical name of the enclosing component
    rule: str
    detail: str

    def line(self) -> str:
        return f"{self.rule}: {self.type.split(':', 1)[-1]} {self.name!r} {self.detail}"


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


def check_resource(type_: str, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule, what is wrong) for every baseline rule `inputs` of a `type_` resource break."""
    found: list[tuple[str, str]] = []
    for expect in RULES:
        if expect.type != type_:
            continue
        value = _lookup(inputs, expect.path)
        if not _is_allowed(value, expect.allowed):
            wanted = " or ".join(sorted(repr(v) if v != MISSING else "unset" for v in expect.allowed))
            shown = "unset" if value == MISSING else repr(value)
            found.append((expect.rule, f"{expect.path} is {shown}, wants {wanted}"))
    if type_ in CUSTOM:
        rule, check = CUSTOM[type_]
        found += [(rule, problem) for problem in check(inputs)]
    return found


def check_graph(graph) -> list[Violation]:
    """Every violation in a captured graph (orchestrator.preview.Graph), in resource order."""
    return list(_violations(graph.resources, graph.inputs))


def _violations(resources: Iterable[dict], inputs: dict[str, dict[str, Any]]) -> Iterable[Violation]:
    for resource in resources:
        for rule, detail in check_resource(resource["type"], inputs.get(resource["urn"], {})):
            yield Violation(resource["urn"], resource["type"], resource["name"], resource["component"], rule, detail)
