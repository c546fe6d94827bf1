"""The security baseline's rules over one resource's inputs (orchestrator/program/baseline.py).

The design (ARCHITECTURE.md, conventions) asks for HTTPS only, TLS 1.2 or later, no public blob
access, Key Vault with RBAC and purge protection, data stores and services without public network
access, NSGs that deny inbound by default, and managed identities over keys; a security review
added firewall threat intelligence that denies, and the hardening Azure offers at no cost to
recovery (Synapse data exfiltration protection, Data Explorer double encryption). Each rule reads
inputs of one resource type, so a new service is held to the baseline as soon as it deploys a type
listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HTTPS = "HTTPS only"
TLS = "TLS 1.2 or later"
PUBLIC_BLOB = "no public blob access"
KEY_VAULT = "Key Vault with RBAC and purge protection"
PRIVATE_DATA = "databases without public network access"
PRIVATE_SERVICE = "services without public network access"
PRIVATE_STORAGE = "storage accounts closed to public networks"
NSG = "NSGs deny inbound by default"
IDENTITY = "managed identities over keys"
THREAT_INTEL = "firewall threat intelligence denies"
EXFILTRATION = "managed networks prevent data exfiltration"
DOUBLE_ENCRYPTION = "double encryption at rest where offered"
DIAGNOSTICS = "diagnostic settings to the stack's workspace"
AUDITING = "SQL auditing to Azure Monitor"

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
    # Private endpoints only; trusted Azure services still pass (Key Vault's documented behaviour).
    _expect("keyvault:Vault", "properties.publicNetworkAccess", PRIVATE_SERVICE, "Disabled"),
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
    _expect("kusto:Cluster", "enableDoubleEncryption", DOUBLE_ENCRYPTION, True),
    _expect("synapse:Workspace", "publicNetworkAccess", PRIVATE_DATA, "Disabled"),
    _expect("synapse:Workspace", "azureADOnlyAuthentication", IDENTITY, True),
    _expect("synapse:Workspace", "managedVirtualNetworkSettings.preventDataExfiltration", EXFILTRATION, True),
    _expect("iothub:IotHubResource", "properties.minTlsVersion", TLS, *_TLS_12),
    _expect("iothub:IotHubResource", "properties.disableLocalAuth", IDENTITY, True),
    _expect("search:Service", "disableLocalAuth", IDENTITY, True),
    _expect("cognitiveservices:Account", "properties.disableLocalAuth", IDENTITY, True),
    # Alert only reports traffic to known-malicious addresses; Deny drops it.
    _expect("network:FirewallPolicy", "threatIntelMode", THREAT_INTEL, "Deny"),
)

# Sources that mean "anyone": an inbound Allow from one of these opens the subnet to the internet.
_ANYWHERE = frozenset({"*", "internet", "any", "0.0.0.0/0"})


def lookup(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _shown(value: Any) -> str:
    return "unset" if value == MISSING else repr(value)


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


def _storage_is_private(inputs: dict[str, Any]) -> list[str]:
    """Public network access disabled, or network rules that deny by default ("enabled from selected
    networks": only those, private endpoints and trusted services get in). Unset, both are open."""
    access, default = lookup(inputs, "publicNetworkAccess"), lookup(inputs, "networkRuleSet.defaultAction")
    if access == "Disabled" or default == "Deny":
        return []
    return [f"publicNetworkAccess is {_shown(access)} and networkRuleSet.defaultAction is {_shown(default)}, "
            "wants 'Disabled' or a default 'Deny'"]


def _site_is_private(inputs: dict[str, Any]) -> list[str]:
    """An app reached through Private Link only, or whose access restrictions deny by default."""
    access = lookup(inputs, "publicNetworkAccess")
    default = lookup(inputs, "siteConfig.ipSecurityRestrictionsDefaultAction")
    if access == "Disabled" or default == "Deny":
        return []
    return [f"publicNetworkAccess is {_shown(access)} and siteConfig.ipSecurityRestrictionsDefaultAction is "
            f"{_shown(default)}, wants 'Disabled' or a default 'Deny'"]


def _workspace_is_private(inputs: dict[str, Any]) -> list[str]:
    access = lookup(inputs, "publicNetworkAccess")
    if access == "Disabled":
        return []
    # Azure refuses Disabled for a workspace whose clusters are not in the customer's VNet: say so,
    # for it is what a justified exception names (orchestrator/program/baseline.py).
    injected = lookup(inputs, "parameters.customVirtualNetworkId") != MISSING
    return [f"publicNetworkAccess is {_shown(access)}, wants 'Disabled'"
            + ("" if injected else " (not VNet-injected: Azure allows Disabled only with VNet injection)")]


@dataclass(frozen=True)
class Custom:
    """A rule that reads more than one input of every `type` resource: `check` says what is wrong."""

    type: str
    rule: str
    check: Callable[[dict[str, Any]], list[str]]


CUSTOM: tuple[Custom, ...] = (
    Custom("azure-native:network:NetworkSecurityGroup", NSG, _nsg_denies_inbound),
    Custom("azure-native:storage:StorageAccount", PRIVATE_STORAGE, _storage_is_private),
    Custom("azure-native:web:WebApp", PRIVATE_SERVICE, _site_is_private),
    Custom("azure-native:databricks:Workspace", PRIVATE_SERVICE, _workspace_is_private),
)


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
        value = lookup(inputs, expect.path)
        if not _is_allowed(value, expect.allowed):
            wanted = " or ".join(sorted(repr(v) if v != MISSING else "unset" for v in expect.allowed))
            found.append((expect.rule, f"{expect.path} is {_shown(value)}, wants {wanted}"))
    for custom in CUSTOM:
        if custom.type == type_ and only in (None, custom.rule):
            found += [(custom.rule, problem) for problem in custom.check(inputs)]
    return found
