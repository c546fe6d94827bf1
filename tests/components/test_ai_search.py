"""Azure AI Search (components/ai_search.py): private, key-less service; replicas as the HA uplift."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately, runner_roles_on
from service_harness import config_with, run_service, spec

from components import roles
from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "aiSearch"
SERVICE = "azure-native:search:Service"


def test_service_is_private_and_entra_only():
    run, outputs = run_service(KEY)
    inputs = run.one(SERVICE).inputs
    assert inputs["searchServiceName"] == "srch-contoso-aue"
    assert inputs["sku"] == {"name": "standard"}
    assert inputs["disableLocalAuth"] is True
    assert "authOptions" not in inputs  # Azure refuses auth options once local auth is off
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert set(outputs) == {"aiSearchServiceName", "aiSearchEndpoint"}


def test_replicas_and_partitions_come_from_the_settings():
    run, _ = run_service(KEY, settings={"replicaCount": 3, "partitionCount": 2})
    inputs = run.one(SERVICE).inputs
    assert (inputs["replicaCount"], inputs["partitionCount"]) == (3, 2)


@pytest.mark.parametrize(("replicas", "ha"), [(2, True), (1, False)])
def test_posture_read_sla_needs_two_replicas(replicas, ha):
    config = config_with("primary", KEY, {"replicaCount": replicas})
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.uplift_enabled == (ha, None)
    assert row.sku.startswith("standard")


def test_indexer_identity_may_read_the_lake():
    run, _ = run_service(KEY)
    assignment = run.one("azure-native:authorization:RoleAssignment").inputs
    assert assignment["roleDefinitionId"].endswith("/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")


def test_profile_rebuilds_indexes_and_counts_documents():
    profile = spec(KEY).profile
    assert profile.recovery_action == RecoveryAction.REDEPLOY_REHYDRATE and profile.rehydrates
    assert "document-counts" in [c.name for c in profile.data_checks]
    assert profile.seed[0].sku_selected == "Standard S1"


def test_invalid_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "free"})
    assert raised.value.key == "dataplatform:aiSearch.sku"


@pytest.mark.parametrize(("settings", "field"), [({"replicaCount": 0}, "replicaCount"), ({"partitionCount": 5}, "partitionCount")])
def test_out_of_range_counts_name_the_key(settings, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == f"dataplatform:aiSearch.{field}"


def test_the_hub_and_the_runner_reach_it_privately_and_the_runner_may_list_and_query():
    run, _ = run_service(KEY, runner=True)
    config = config_with("primary", KEY)
    service_id = run.one(SERVICE).id
    assert_opened_privately(run, config, service_id, ("searchService", "search"))
    # Listing indexes and reading indexers is Search Service Contributor's; a query is the data reader's.
    assert runner_roles_on(run, config, service_id) == {roles.SEARCH_SERVICE_CONTRIBUTOR, roles.SEARCH_INDEX_DATA_READER}
