"""Microsoft Purview (components/purview.py): a private, identity-based account per stack."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "purview"
ACCOUNT = "azure-native:purview:Account"


@pytest.mark.parametrize(
    "stack, suffix, region", [("primary", "aue", "australiaeast"), ("secondary", "ase", "australiasoutheast")]
)
def test_account_is_private_identity_based_and_named_per_stack(stack, suffix, region):
    run, _ = run_service(KEY, stack)
    inputs = run.one(ACCOUNT).inputs
    assert inputs["accountName"] == f"contoso-purview-{suffix}"
    assert inputs["location"] == region
    assert inputs["sku"] == {"name": "Standard"}
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["managedResourcesPublicNetworkAccess"] == "Disabled"
    assert inputs["managedEventHubState"] == "Disabled"
    # Purview creates this group itself: one per stack, never shared with the paired region.
    assert inputs["managedResourceGroupName"] == f"rg-contoso-purview-managed-{suffix}"


def test_the_account_and_its_endpoints_are_the_only_resources():
    run, _ = run_service(KEY)
    assert run.types() == {ACCOUNT, "azure-native:network:PrivateEndpoint", "azure-native:network:PrivateDnsZoneGroup"}


def test_the_apis_and_the_portal_are_reached_privately_from_the_hub_and_the_runner():
    run, _ = run_service(KEY, runner=True)
    assert_opened_privately(run, config_with("primary", KEY), run.one(ACCOUNT).id,
                            ("account", "purview"), ("portal", "purviewstudio"))


def test_invalid_sku_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "Premium"})
    assert raised.value.key == "dataplatform:purview.sku"


def test_posture_reports_the_sku_and_no_uplift_to_turn_on():
    config = config_with("primary", KEY, {"sku": "Free"})
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "Free"
    assert posture.uplift_enabled == (None,)
    (disabled,) = spec(KEY).posture(config, None)
    assert disabled.sku == "none"


def test_profile_follows_the_seed_row_and_rescans_on_replay():
    profile = spec(KEY).profile
    assert profile.stateful and profile.recovery_action == RecoveryAction.REDEPLOY
    assert tuple(c.name for c in profile.data_checks) == ("asset-counts",)
    # The Data Map comes back by scanning the sources again: that is the replay step's work.
    assert profile.estimates.replay > 0
    assert {d.component for d in profile.depends_on} == {"foundation", "lake"}
    (seed,) = profile.seed
    assert seed.service == "Microsoft Purview"
    assert (str(seed.component_responsibility), str(seed.workload_responsibility)) == ("Microsoft", "Customer")
    assert any("re-scan" in note for note in profile.notes)
