"""Physical names: the scheme, Azure's limits, and the paired server id."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components import naming
from components.naming import AzureNameError, check_name
from components.registry import SERVICES, globally_unique_types, physical_name_inputs

# The same rules stacks/schema.py enforces on prefix and nameSuffix (which refuses the two suffixes
# that would end the Event Hubs namespace in a name Service Bus reserves).
PREFIXES = st.from_regex(r"[a-z][a-z0-9]{1,9}", fullmatch=True)
SUFFIXES = st.from_regex(r"[a-z0-9]{2,6}", fullmatch=True).filter(lambda suffix: suffix not in ("sb", "mgmt"))

BUILDERS = {
    "log analytics workspace": naming.log_analytics_name,
    "key vault": naming.key_vault_name,
    "recovery services vault": naming.recovery_vault_name,
    "virtual network": naming.vnet_name,
    "firewall": naming.firewall_name,
    "public ip address": naming.firewall_public_ip_name,
    "firewall policy": naming.firewall_policy_name,
    "route table": naming.route_table_name,
    "storage account": naming.storage_account_name,
    "postgresql server": naming.postgres_server_name,
    "event hubs namespace": naming.event_hubs_namespace_name,
    "data factory": naming.data_factory_name,
}


def test_scheme_for_the_shipped_prefix_and_suffix():
    assert naming.resource_group_name("contoso", "foundation", "aue") == "rg-contoso-foundation-aue"
    assert naming.resource_group_name("contoso", "connectivity", "aue") == "rg-contoso-connectivity-aue"
    assert naming.resource_group_name("contoso", "data", "ase") == "rg-contoso-data-ase"
    assert naming.log_analytics_name("contoso", "aue") == "log-contoso-aue"
    assert naming.key_vault_name("contoso", "aue") == "kv-contoso-aue"
    assert naming.recovery_vault_name("contoso", "aue") == "rsv-contoso-aue"
    assert naming.vnet_name("contoso", "aue") == "vnet-contoso-hub-aue"
    assert naming.firewall_name("contoso", "aue") == "afw-contoso-aue"
    assert naming.firewall_public_ip_name("contoso", "aue") == "pip-afw-contoso-aue"
    assert naming.firewall_policy_name("contoso", "aue") == "afwp-contoso-aue"
    assert naming.storage_account_name("contoso", "aue") == "contosolakeaue"
    assert naming.postgres_server_name("contoso", "aue") == "contoso-pg-aue"
    assert naming.event_hubs_namespace_name("contoso", "aue") == "contoso-evh-aue"
    assert naming.data_factory_name("contoso", "aue") == "contoso-adf-aue"


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown layer 'compute'"):
        naming.resource_group_name("contoso", "compute", "aue")


@given(prefix=PREFIXES, suffix=SUFFIXES)
def test_every_config_valid_prefix_and_suffix_gives_names_azure_accepts(prefix, suffix):
    # The config patterns were chosen so no valid config can produce a name Azure refuses.
    for kind, build in BUILDERS.items():
        name = build(prefix, suffix)
        rule = naming.RULES[kind]
        assert rule.min_length <= len(name) <= rule.max_length, (kind, name)
        assert re.fullmatch(rule.pattern, name), (kind, name)
    for layer in naming.LAYERS:
        assert naming.resource_group_name(prefix, layer, suffix).endswith(f"-{suffix}")


@given(prefix=PREFIXES, a=SUFFIXES, b=SUFFIXES)
def test_different_suffixes_never_share_a_globally_unique_name(prefix, a, b):
    if a == b:
        return
    for build in (naming.storage_account_name, naming.key_vault_name, naming.postgres_server_name,
                  naming.event_hubs_namespace_name, naming.data_factory_name):
        assert build(prefix, a) != build(prefix, b)


def test_storage_account_too_long_is_refused_with_the_limit():
    with pytest.raises(AzureNameError, match=r"25 characters; Azure allows 3-24"):
        naming.storage_account_name("abcdefghijklmno", "abcdef")


@pytest.mark.parametrize("name", ["Contosolake", "contoso-lake", "contoso_lake", "lake!"])
def test_storage_account_charset(name):
    with pytest.raises(AzureNameError, match="lowercase letters and digits only"):
        check_name("storage account", name)


@pytest.mark.parametrize(
    "name, accepted",
    [
        ("kv-contoso-aue", True),
        ("kv1", True),
        ("1kv-contoso", False),  # must start with a letter
        ("kv--contoso", False),  # no consecutive hyphens
        ("kv-contoso-", False),  # must end with a letter or digit
        ("kv_contoso", False),
        ("kv", False),  # too short
        ("k" * 25, False),  # too long
    ],
)
def test_key_vault_rules(name, accepted):
    if accepted:
        assert check_name("key vault", name) == name
    else:
        with pytest.raises(AzureNameError):
            check_name("key vault", name)


def test_key_vault_name_over_24_characters_is_refused():
    with pytest.raises(AzureNameError, match="key vault name 'kv-averylongprefix-abcdef'"):
        naming.key_vault_name("averylongprefix", "abcdef")


@pytest.mark.parametrize("name", ["-pg-aue", "contoso-pg-", "Contoso-pg", "pg"])
def test_postgres_server_rules(name):
    with pytest.raises(AzureNameError):
        check_name("postgresql server", name)


@pytest.mark.parametrize("name", ["contoso-sb", "contoso-mgmt", "1contoso", "short"])
def test_event_hubs_namespace_rules(name):
    with pytest.raises(AzureNameError):
        check_name("event hubs namespace", name)


def test_data_factory_rejects_consecutive_hyphens():
    with pytest.raises(AzureNameError):
        check_name("data factory", "contoso--adf")


def test_resource_group_may_not_end_with_a_period():
    with pytest.raises(AzureNameError):
        check_name("resource group", "rg-contoso.")
    assert check_name("resource group", "rg-(contoso).x") == "rg-(contoso).x"


def test_paired_postgres_server_id():
    server_id = naming.paired_postgres_server_id("11111111-2222-3333-4444-555555555555", "contoso", "aue")
    assert server_id == (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-contoso-data-aue"
        "/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-aue"
    )
    # The shape stacks/config.py accepts for an explicit restore.postgres.sourceServerId.
    assert re.fullmatch(r"/subscriptions/.+/flexibleServers/[^/]+", server_id)


@pytest.mark.parametrize("subscription", ["", "/subscriptions/x"])
def test_paired_postgres_server_id_needs_a_bare_subscription_id(subscription):
    with pytest.raises(ValueError):
        naming.paired_postgres_server_id(subscription, "contoso", "aue")


def test_globally_unique_types_are_azure_native_tokens_with_a_name_input():
    for token in globally_unique_types():
        assert token.startswith("azure-native:") and token.count(":") == 2
        assert token in physical_name_inputs(), token
    core = [spec for spec in SERVICES if spec.switch != "off"]
    assert set().union(*(spec.globally_unique for spec in core)) == {
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:dbforpostgresql:Server",
        "azure-native:eventhub:Namespace",
        "azure-native:datafactory:Factory",
    }
