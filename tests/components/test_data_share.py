"""Azure Data Share (components/data_share.py): the provider account, identity required."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "dataShare"
ACCOUNT = "azure-native:datashare:Account"


@pytest.mark.parametrize(
    "stack, name, region",
    [
        ("primary", "contososhareaue", "australiaeast"),
        ("secondary", "contososharease", "australiasoutheast"),
    ],
)
def test_account_has_a_system_identity_in_the_stacks_region(stack, name, region):
    run, outputs = run_service(KEY, stack)
    inputs = run.one(ACCOUNT).inputs
    # The API refuses an account without an identity; snapshots authenticate as it.
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["accountName"] == name
    assert inputs["location"] == region
    assert run.types() == {ACCOUNT}
    assert set(outputs) == {"dataShareAccountName", "dataShareAccountId"}


def test_there_is_no_sku_to_set():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "Standard"})
    assert raised.value.key == "dataplatform:dataShare.sku"


def test_posture_cannot_tell_whether_the_paired_region_has_an_account():
    config = config_with("primary", KEY)
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "N/A" and posture.uplift_enabled == (None,)


def test_profile_redeploys_and_warns_that_consumers_re_accept():
    profile = spec(KEY).profile
    assert profile.stateful and profile.recovery_action == RecoveryAction.REDEPLOY
    (seed,) = profile.seed
    assert seed.service == "Azure Data Share"
    assert seed.uplift_options == ("HA deployment into a secondary region",)
    assert any("accept a new invitation" in note for note in profile.notes)
