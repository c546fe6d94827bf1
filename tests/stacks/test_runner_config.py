"""`dataplatform:runner`: who runs drctl on the day and from where, checked before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from stacks.config import ConfigError, config_from_mapping
from stacks.stack_file import read_stack_file

REPO = Path(__file__).resolve().parents[2]
KEY = "dataplatform:runner"


def values(stack: str) -> dict:
    return read_stack_file(REPO / f"Pulumi.{stack}.yaml")


def secondary_with(runner: dict | None) -> dict:
    changed = copy.deepcopy(values("secondary"))
    if runner is None:
        changed.pop(KEY)
    else:
        changed[KEY] = runner
    return changed


def hub(prefix: str) -> dict:
    return {"objectId": "11111111-1111-1111-1111-111111111111", "principalName": "drctl-runner", "network": {"kind": "hub", "addressPrefix": prefix}}


def test_the_shipped_runner_is_a_vnet_in_the_dr_region_named_alike_in_both_files():
    config = config_from_mapping("secondary", values("secondary"), "Pulumi.secondary.yaml", paired=values("primary"))
    assert config.runner is not None and config.runner.network.kind == "vnet"
    assert config.runner.subnet_id.endswith("/virtualNetworks/vnet-contoso-mgmt-ase/subnets/runner")
    assert values("primary")[KEY] == values("secondary")[KEY]


def test_a_stack_without_a_runner_still_loads():
    # Coverage fails on it (tests/orchestrator/paths), but preview and plan still work.
    assert config_from_mapping("secondary", secondary_with(None), "Pulumi.secondary.yaml").runner is None


@pytest.mark.parametrize("runner,key,words", [
    ({"objectId": "not-a-guid", "network": {"kind": "hub", "addressPrefix": "10.20.3.0/27"}}, "runner", "objectId"),
    ({"objectId": "11111111-1111-1111-1111-111111111111", "principalName": "drctl-runner", "network": {"kind": "vnet", "addressPrefix": "10.30.1.0/24"}},
     "runner", "vnetId"),
    (hub("10.99.0.0/27"), "runner.network.addressPrefix", "outside the hub's addressSpace"),
    (hub("10.20.1.0/27"), "runner.network.addressPrefix", "private-endpoints subnet"),
    (hub("10.20.3.0/33"), "runner", "not a CIDR block"),
])
def test_bad_runners_name_the_key(runner, key, words):
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", secondary_with(runner), "Pulumi.secondary.yaml")
    assert f"dataplatform:{key}" in str(raised.value) and words in str(raised.value)


def test_a_runner_in_the_hub_fits_in_the_free_quarter():
    config = config_from_mapping("secondary", secondary_with(hub("10.20.3.192/27")), "Pulumi.secondary.yaml")
    assert config.runner is not None and config.runner.network.kind == "hub"


def test_the_two_files_must_name_the_same_runner():
    other = copy.deepcopy(values("primary"))
    other[KEY] = {**other[KEY], "objectId": "22222222-2222-2222-2222-222222222222"}
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", values("secondary"), "Pulumi.secondary.yaml", paired=other)
    assert "dataplatform:runner.objectId" in str(raised.value)


def vnet_runner(**changes) -> dict:
    runner = copy.deepcopy(values("secondary")[KEY])
    network = {**runner["network"], **changes.pop("network", {})}
    return {**runner, **changes, "network": network}


@pytest.mark.parametrize("runner,key,words", [
    (vnet_runner(grantedOutOfBand=["databricks-admin"]), "runner.grantedOutOfBand", "unknown 'databricks-admin'"),
    (vnet_runner(clientId="not-a-guid"), "runner.clientId", "pattern"),
    # The subnet's private range is not what a public endpoint's firewall sees.
    (vnet_runner(network={"egressAddresses": ["10.30.1.4"]}), "runner.network.egressAddresses", "not a public IPv4"),
    (vnet_runner(network={"egressAddresses": ["203.0.113.300"]}), "runner.network.egressAddresses", "not an IPv4"),
])
def test_bad_out_of_band_grants_and_egress_name_the_key(runner, key, words):
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", secondary_with(runner), "Pulumi.secondary.yaml")
    assert f"dataplatform:{key}" in str(raised.value) and words in str(raised.value)


def test_out_of_band_grants_client_id_and_egress_are_read():
    runner = vnet_runner(grantedOutOfBand=["purview-data-reader"], clientId="22222222-2222-2222-2222-222222222222",
                         network={"egressAddresses": ["203.0.113.40", "198.51.100.0/30"]})
    config = config_from_mapping("secondary", secondary_with(runner), "Pulumi.secondary.yaml")
    assert config.runner.granted("purview-data-reader") is not None
    assert config.runner.granted("mysql-admin-group") is None
    assert config.runner.network.egress_ranges() == [("203.0.113.40", "203.0.113.40"), ("198.51.100.0", "198.51.100.3")]
    # Kusto and Analysis Services name an application by its application id.
    assert config.runner.kusto_principal() == ("22222222-2222-2222-2222-222222222222", "App")
    assert config.runner.analysis_services_admin("t") == "app:22222222-2222-2222-2222-222222222222@t"
