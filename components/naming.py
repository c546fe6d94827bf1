"""Azure physical names, built from the stack's prefix and region suffix and checked against Azure's rules.

Every physical name carries the stack's `nameSuffix`, so the secondary stack never asks for a name the
primary still holds: storage accounts, Key Vaults, servers and namespaces are globally unique, and a
soft-deleted Key Vault keeps its name reserved for its retention period.
Naming rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAYERS = ("foundation", "connectivity", "data")


class AzureNameError(ValueError):
    """A generated name that Azure would refuse; says which rule it breaks."""

    def __init__(self, kind: str, name: str, reason: str) -> None:
        self.kind, self.name, self.reason = kind, name, reason
        super().__init__(f"{kind} name {name!r}: {reason}")


@dataclass(frozen=True)
class NameRule:
    min_length: int
    max_length: int
    pattern: str  # full-match regular expression
    charset: str  # the rule in words, for the error message


_NAME_80 = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"

RULES: dict[str, NameRule] = {
    "resource group": NameRule(1, 90, r"[-\w.()]*[-\w()]", "letters, digits, '_-.()', not ending with '.'"),
    "log analytics workspace": NameRule(
        4, 63, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits and '-', alphanumeric at both ends"
    ),
    # Key Vault: a letter first, a letter or digit last, no consecutive hyphens.
    "key vault": NameRule(
        3, 24, r"[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*", "letters, digits and single '-', starting with a letter"
    ),
    "recovery services vault": NameRule(
        2, 50, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and '-', starting with a letter"
    ),
    "virtual network": NameRule(2, 64, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "firewall": NameRule(1, 56, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "public ip address": NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "firewall policy": NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "network security group": NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "route table": NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    "virtual network link": NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first"),
    # Storage: the name is the DNS label of every endpoint, hence lowercase letters and digits only.
    "storage account": NameRule(3, 24, r"[a-z0-9]+", "lowercase letters and digits only"),
    "postgresql server": NameRule(
        3, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not at either end"
    ),
    "event hubs namespace": NameRule(
        6, 50, r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", "letters, digits and '-', a letter first, not ending with '-'"
    ),
    # Data Factory: every '-' must sit between two letters or digits.
    "data factory": NameRule(
        3, 63, r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*", "letters, digits and single '-'"
    ),
}


# The common ARM rule for networking and most other resource names; services reuse it.
GENERAL_NAME = NameRule(1, 80, _NAME_80, "letters, digits, '_.-', alphanumeric first")


def check_name(kind: str, name: str, rule: NameRule | None = None) -> str:
    """Return `name` when Azure accepts it as a `kind` name; raise AzureNameError saying why not.

    `rule` is for kinds this table does not know (services declare their own rules beside them)."""
    rule = rule or RULES[kind]
    if not rule.min_length <= len(name) <= rule.max_length:
        raise AzureNameError(
            kind, name, f"{len(name)} characters; Azure allows {rule.min_length}-{rule.max_length}"
        )
    if re.fullmatch(rule.pattern, name) is None:
        raise AzureNameError(kind, name, f"allowed: {rule.charset}")
    if kind == "event hubs namespace" and name.lower().endswith(("-sb", "-mgmt")):
        # Reserved by Service Bus for its management endpoints.
        raise AzureNameError(kind, name, "must not end with '-sb' or '-mgmt'")
    return name


def resource_group_name(prefix: str, layer: str, suffix: str) -> str:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r} (known: {', '.join(LAYERS)})")
    return check_name("resource group", f"rg-{prefix}-{layer}-{suffix}")


def log_analytics_name(prefix: str, suffix: str) -> str:
    return check_name("log analytics workspace", f"log-{prefix}-{suffix}")


def key_vault_name(prefix: str, suffix: str) -> str:
    return check_name("key vault", f"kv-{prefix}-{suffix}")


def recovery_vault_name(prefix: str, suffix: str) -> str:
    return check_name("recovery services vault", f"rsv-{prefix}-{suffix}")


def vnet_name(prefix: str, suffix: str) -> str:
    return check_name("virtual network", f"vnet-{prefix}-hub-{suffix}")


def firewall_name(prefix: str, suffix: str) -> str:
    return check_name("firewall", f"afw-{prefix}-{suffix}")


def firewall_public_ip_name(prefix: str, suffix: str) -> str:
    return check_name("public ip address", f"pip-afw-{prefix}-{suffix}")


def firewall_policy_name(prefix: str, suffix: str) -> str:
    return check_name("firewall policy", f"afwp-{prefix}-{suffix}")


def nsg_name(prefix: str, subnet_role: str, suffix: str) -> str:
    return check_name("network security group", f"nsg-{prefix}-{subnet_role}-{suffix}")


def route_table_name(prefix: str, suffix: str) -> str:
    return check_name("route table", f"rt-{prefix}-{suffix}")


def vnet_link_name(prefix: str, zone_key: str, suffix: str) -> str:
    return check_name("virtual network link", f"vnl-{prefix}-{zone_key}-{suffix}")


def storage_account_name(prefix: str, suffix: str) -> str:
    return check_name("storage account", f"{prefix}lake{suffix}")


def postgres_server_name(prefix: str, suffix: str) -> str:
    return check_name("postgresql server", f"{prefix}-pg-{suffix}")


def event_hubs_namespace_name(prefix: str, suffix: str) -> str:
    return check_name("event hubs namespace", f"{prefix}-evh-{suffix}")


def data_factory_name(prefix: str, suffix: str) -> str:
    return check_name("data factory", f"{prefix}-adf-{suffix}")


def paired_postgres_server_id(subscription_id: str, paired_prefix: str, paired_suffix: str) -> str:
    """ARM id of the paired stack's flexible server: the source of a geo-restore.

    Both stacks live in one subscription and follow this module's scheme, so the id follows from the
    paired stack's prefix and suffix alone; no call to Azure is needed.
    """
    if not subscription_id or "/" in subscription_id:
        raise ValueError(f"subscription id {subscription_id!r} is not a bare id")
    group = resource_group_name(paired_prefix, "data", paired_suffix)
    server = postgres_server_name(paired_prefix, paired_suffix)
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{group}"
        f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}"
    )


# Azure creates one Network Watcher per region in this group; a stack adopts it or declares its own.
NETWORK_WATCHER_GROUP = "NetworkWatcherRG"
TRAFFIC_MANAGER_LABEL = NameRule(
    1, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', alphanumeric at both ends"
)


def network_watcher_name(region: str) -> str:
    return check_name("network watcher", f"NetworkWatcher_{region}", GENERAL_NAME)


def network_watcher_id(subscription_id: str, region: str) -> str:
    return (f"/subscriptions/{subscription_id}/resourceGroups/{NETWORK_WATCHER_GROUP}"
            f"/providers/Microsoft.Network/networkWatchers/{network_watcher_name(region)}")


def traffic_manager_profile_name(prefix: str, suffix: str) -> str:
    return check_name("traffic manager profile", f"tm-{prefix}-{suffix}", TRAFFIC_MANAGER_LABEL)
