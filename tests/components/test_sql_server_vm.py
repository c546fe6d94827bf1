"""SQL Server on Azure VMs (components/sql_server_vm.py): the Site Recovery vault and A2A policy."""

from __future__ import annotations

import pulumi
import pytest
from pulumi_mocks import deploy
from service_harness import config_with, context_for, run_service, spec

from components import naming
from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "sqlServerVm"
VAULT = "azure-native:recoveryservices:Vault"
POLICY = "azure-native:recoveryservices:ReplicationPolicy"


def _with(**changes) -> dict:
    return {**spec(KEY).example, **changes}


@pytest.mark.parametrize(
    "stack, suffix, region", [("primary", "aue", "australiaeast"), ("secondary", "ase", "australiasoutheast")]
)
def test_vault_is_in_its_own_stacks_region_apart_from_the_backup_vault(stack, suffix, region):
    run, _ = run_service(KEY, stack)
    vault = run.one(VAULT).inputs
    assert vault["location"] == region
    assert vault["vaultName"] == f"rsv-contoso-asr-{suffix}"
    assert vault["vaultName"] != naming.recovery_vault_name("contoso", suffix)  # the foundation's vault
    assert vault["sku"] == {"name": "RS0", "tier": "Standard"}
    assert vault["identity"] == {"type": "SystemAssigned"}


def test_replication_policy_is_a2a_with_the_configured_points():
    run, _ = run_service(KEY, "secondary", settings=_with(recoveryPointRetentionHours=72, appConsistentSnapshotHours=2))
    policy = run.one(POLICY).inputs
    assert policy["resourceName"] == "rsv-contoso-asr-ase"
    assert policy["policyName"] == "a2a-contoso-sqlvm-ase"
    assert policy["properties"]["providerSpecificInput"] == {
        "instanceType": "A2A",
        "recoveryPointHistory": 72 * 60,
        "appConsistentFrequencyInMinutes": 120,
        "crashConsistentFrequencyInMinutes": 5,
        "multiVmSyncStatus": "Disable",
    }


def test_multi_vm_sync_and_snapshots_off():
    run, _ = run_service(KEY, settings=_with(multiVmSync=True, appConsistentSnapshotHours=0))
    provider = run.one(POLICY).inputs["properties"]["providerSpecificInput"]
    assert provider["multiVmSyncStatus"] == "Enable"
    assert provider["appConsistentFrequencyInMinutes"] == 0


def test_nothing_but_the_vault_and_policy_is_declared():
    run, _ = run_service(KEY)
    assert run.types() == {VAULT, POLICY}


def test_outputs_name_the_region_whose_vms_the_vault_protects():
    config = config_with("secondary", KEY)
    values: dict = {}

    def program():
        for name, value in spec(KEY).deploy(context_for(config), config.optional_services[KEY]).items():
            pulumi.Output.from_input(value).apply(lambda v, n=name: values.__setitem__(n, v))

    deploy(program, stack="secondary")
    assert values["sqlServerVmProtectedRegion"] == "australiaeast"
    assert values["sqlServerVmRecoveryVaultName"] == "rsv-contoso-asr-ase"
    assert values["sqlServerVmReplicationPolicyName"] == "a2a-contoso-sqlvm-ase"


def test_snapshots_longer_apart_than_retention_are_refused():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"recoveryPointRetentionHours": 2, "appConsistentSnapshotHours": 4})
    assert raised.value.key == "dataplatform:sqlServerVm"


@pytest.mark.parametrize(
    "field, value",
    [("recoveryPointRetentionHours", 400), ("appConsistentSnapshotHours", 13), ("publicNetworkAccess", "Off")],
)
def test_invalid_values_are_refused_naming_the_key(field, value):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(**{field: value}))
    assert raised.value.key == f"dataplatform:sqlServerVm.{field}"


def test_posture_counts_the_vault_only_on_the_target_stack():
    for stack, expected in (("secondary", True), ("primary", None)):
        config = config_with(stack, KEY)
        (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
        assert posture.uplift_enabled == (expected, None), stack


def test_profile_is_a_site_recovery_failover_enabled_on_the_secondary():
    profile = spec(KEY).profile
    assert profile.stateful and profile.recovery_action == RecoveryAction.SERVICE_FAILOVER
    assert "recovery-plan-readable" in [c.name for c in profile.smoke_checks]
    assert any("SECONDARY stack" in note for note in profile.notes)
