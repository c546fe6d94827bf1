"""The generic probe: a deployed resource read through ARM, judged by its state."""

from __future__ import annotations

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.probe import provisioned
from tests.azure_fixtures import Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

VAULT = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-02-01/examples/getVault.json"
VAULT_TYPE = "azure-native:keyvault:Vault"
VAULT_ID = arm_id("Microsoft.KeyVault/vaults", "sample-vault")


def _probe(body):
    return service_probe("foundation", [Route("GET", f"(?i){VAULT_ID}", body=body)], [deployed(VAULT_TYPE, VAULT_ID)])


def test_provisioned_reads_the_state_through_arm():
    probe, transport = _probe(example_body(VAULT))
    assert provisioned(probe, VAULT_TYPE) == {"id": VAULT_ID, "provisioningState": "Succeeded"}
    assert "api-version=2024-01-01" in transport.requests[0].url


@pytest.mark.parametrize(("state", "error"), [("Failed", PermanentError), ("Updating", TransientError)])
def test_a_state_other_than_succeeded_fails_or_waits(state, error):
    body = example_body(VAULT)
    body["properties"]["provisioningState"] = state
    with pytest.raises(error, match=state):
        provisioned(_probe(body)[0], VAULT_TYPE)


def test_a_resource_the_deploy_did_not_record_is_a_failure_naming_its_type():
    probe, _ = service_probe("foundation", [], [])
    with pytest.raises(PermanentError, match="recorded no Vault"):
        provisioned(probe, VAULT_TYPE)


def test_a_resource_azure_does_not_know_is_a_failure():
    probe, _ = service_probe("foundation", [], [deployed(VAULT_TYPE, VAULT_ID)])
    with pytest.raises(PermanentError, match=r"NotFoundInTest|404|Not ?Found"):
        provisioned(probe, VAULT_TYPE)
