"""drctl's AZURE_* sign-in against the azure-native provider's ARM_* / azure-native:* settings.

Nothing here asks Azure: the check reads the environment and the stack file only, so there is no
payload to replay.
"""

from __future__ import annotations

import json

import pytest

from orchestrator.targets.azure.preflight.provider_auth import (
    check_provider_credentials,
    provider_environment,
    provider_mode,
    relevant_environment,
)

SP = {"AZURE_CLIENT_ID": "11111111-aaaa", "AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_SECRET": "sdk-secret-value"}


def test_different_values_for_one_pair_block_and_name_the_pair_not_the_secret():
    env = {**SP, "ARM_CLIENT_ID": "11111111-aaaa", "ARM_TENANT_ID": "tenant-1", "ARM_CLIENT_SECRET": "other-secret-value"}
    check = check_provider_credentials(env, {})
    assert check.blocks
    assert "AZURE_CLIENT_SECRET and ARM_CLIENT_SECRET" in check.message
    assert "AZURE_CLIENT_ID" not in check.message  # the same on both sides
    text = json.dumps(check.to_json())
    assert "sdk-secret-value" not in text and "other-secret-value" not in text


def test_the_stack_config_wins_over_the_providers_variable():
    env = {**SP, "ARM_CLIENT_ID": "11111111-aaaa", "ARM_CLIENT_SECRET": "sdk-secret-value"}
    check = check_provider_credentials(env, {"azure-native:clientId": "22222222-bbbb"})
    assert check.blocks and "AZURE_CLIENT_ID and azure-native:clientId" in check.message


def test_an_encrypted_config_value_is_not_compared():
    env = {**SP, "ARM_CLIENT_ID": "11111111-aaaa"}
    check = check_provider_credentials(env, {"azure-native:clientSecret": {"secure": "v1:abc"}})
    assert check.status == "pass"
    assert check.evidence["not_compared"] == ["AZURE_CLIENT_SECRET / azure-native:clientSecret (encrypted in the stack file)"]


def test_a_provider_left_to_the_cli_login_is_a_warning():
    check = check_provider_credentials(SP, {})
    assert (check.status, check.severity, check.blocks) == ("finding", "warning", False)
    assert "Azure CLI login" in check.message and "AZURE_CLIENT_ID" in check.message
    assert "ARM_USE_DEFAULT_AZURE_CREDENTIAL" in check.fix
    assert check_provider_credentials({}, {}).severity == "warning"


@pytest.mark.parametrize(
    "env,config,mode",
    [
        ({"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": "x"}, {}, "oidc"),
        ({"ARM_CLIENT_ID": "x", "ARM_CLIENT_SECRET": "s"}, {}, "service-principal"),
        ({"ARM_CLIENT_ID": "x"}, {"azure-native:clientCertificatePath": "/c.pfx"}, "service-principal"),
        ({"ARM_USE_MSI": "true"}, {}, "managed-identity"),
        ({}, {"azure-native:useMsi": True}, "managed-identity"),
        ({"ARM_USE_DEFAULT_AZURE_CREDENTIAL": "true"}, {}, "default-credential"),
        ({"ARM_CLIENT_ID": "x"}, {}, "azure-cli"),  # an id alone proves nothing
        ({"ARM_USE_MSI": "false"}, {}, "azure-cli"),
    ],
)
def test_provider_sign_in_mode(env, config, mode):
    assert provider_mode(env, config) == mode


def test_matching_pairs_pass():
    env = {**SP, "ARM_CLIENT_ID": "11111111-aaaa", "ARM_TENANT_ID": "tenant-1", "ARM_CLIENT_SECRET": "sdk-secret-value"}
    check = check_provider_credentials(env, {})
    assert check.status == "pass" and len(check.evidence["same"]) == 3


def test_the_provider_environment_is_mapped_from_azure_only_when_arm_is_unset():
    mapped = provider_environment({**SP, "AZURE_SUBSCRIPTION_ID": "sub", "PATH": "/bin"})
    assert mapped == {"ARM_CLIENT_ID": "11111111-aaaa", "ARM_TENANT_ID": "tenant-1",
                      "ARM_CLIENT_SECRET": "sdk-secret-value", "ARM_SUBSCRIPTION_ID": "sub"}
    # After the mapping the two sign-ins agree.
    assert check_provider_credentials({**SP, **mapped}, {}).status == "pass"
    assert provider_environment({**SP, "ARM_USE_MSI": "true"}) == {}
    assert provider_environment({**SP, "ARM_CLIENT_ID": "other"}) == {}
    assert provider_environment({"AZURE_SUBSCRIPTION_ID": "sub"}) == {}
    # An explicit ARM_SUBSCRIPTION_ID is kept.
    assert "ARM_SUBSCRIPTION_ID" not in provider_environment({**SP, "AZURE_SUBSCRIPTION_ID": "a", "ARM_SUBSCRIPTION_ID": "b"})


def test_workload_identity_maps_to_the_providers_oidc():
    env = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}
    mapped = provider_environment(env)
    assert mapped["ARM_OIDC_TOKEN_FILE_PATH"] == "/var/run/token" and mapped["ARM_USE_OIDC"] == "true"
    assert provider_mode(mapped, {}) == "oidc"


def test_only_azure_and_arm_variables_are_kept():
    assert relevant_environment({"AZURE_X": "1", "ARM_Y": "2", "HOME": "/root", "PULUMI_CONFIG_PASSPHRASE": "p"}) == {
        "AZURE_X": "1", "ARM_Y": "2"}
