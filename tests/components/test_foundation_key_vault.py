"""The Key Vault's create mode: `recover` takes back the soft-deleted vault of the same name."""

from __future__ import annotations

import pytest
from pulumi_mocks import PROJECT_DIR, deploy, stack_config, stack_values

from components.foundation import Foundation, FoundationArgs
from stacks.config import ConfigError
from stacks.program import build

SECONDARY = stack_config("secondary")


def vault(**overrides):
    args = FoundationArgs(location=SECONDARY.region, prefix=SECONDARY.prefix, name_suffix=SECONDARY.name_suffix,
                          **overrides)
    return deploy(lambda: Foundation("foundation", args), stack="secondary").one("azure-native:keyvault:Vault")


def test_the_default_sends_no_create_mode():
    created = vault()
    assert "createMode" not in created.inputs["properties"]
    assert created.ignore_changes == ("properties.createMode",)


def test_recover_is_sent_as_the_vaults_create_mode():
    recovered = vault(key_vault_create_mode="recover")
    assert recovered.inputs["properties"]["createMode"] == "recover"
    assert recovered.inputs["vaultName"] == "kv-contoso-ase"  # the deleted vault's own name


def test_the_stack_setting_reaches_the_vault():
    changes = {"dataplatform:foundation": {"keyVaultCreateMode": "recover"}}
    config = stack_config("secondary", changes)
    assert stack_config("secondary").foundation.key_vault_create_mode == "default"
    run = deploy(lambda: build(config, PROJECT_DIR), stack="secondary", config={**stack_values("secondary"), **changes})
    assert run.one("azure-native:keyvault:Vault").inputs["properties"]["createMode"] == "recover"


def test_an_unknown_create_mode_is_refused():
    with pytest.raises(ConfigError, match="keyVaultCreateMode"):
        stack_config("secondary", {"dataplatform:foundation": {"keyVaultCreateMode": "purge"}})
