"""Foundation's checks against the spec examples (resource group, Key Vault and its secret, Recovery
Services vault) through the real SDK pipelines; the Log Analytics workspace from a hand-written body."""

from __future__ import annotations

import json

import pytest

from components.foundation import FoundationSettings
from smoke_tests import foundation
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import SUBSCRIPTION, Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

GROUP_EXAMPLE = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/ResourceGroups_Get.json"
VAULT_EXAMPLE = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-02-01/examples/getVault.json"
SECRET_EXAMPLE = "keyvault/data-plane/Secrets/stable/2026-04-01/examples/GetSecret-example.json"
RECOVERY_EXAMPLE = ("recoveryservices/resource-manager/Microsoft.RecoveryServices/RecoveryServices/examples/"
                    "2026-08-01/GETVault.json")

GROUPS = [f"rg-dp-{layer}-sec" for layer in ("foundation", "connectivity", "data")]
KV_ID = arm_id("Microsoft.KeyVault/vaults", "sample-vault", "rg-dp-foundation-sec")
RSV_ID = arm_id("Microsoft.RecoveryServices/vaults", "rsv-dp-sec", "rg-dp-foundation-sec")
LOG_ID = arm_id("Microsoft.OperationalInsights/workspaces", "log-dp-sec", "rg-dp-foundation-sec")
REGION = {"region": "westus2"}  # the resource group example's location


def _group_id(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"


def _groups_probe(states: dict[str, str] | None = None, names=REGION, recorded=GROUPS):
    def answer(request):
        name = request.url.split("/resourceGroups/")[1].split("?")[0]
        body = example_body(GROUP_EXAMPLE)
        body["properties"]["provisioningState"] = (states or {}).get(name, "Succeeded")
        return 200, body, {}

    routes = [Route("GET", r"(?i)/subscriptions/[^/]+/resourceGroups/[^/]+", respond=answer)]
    resources = [deployed(foundation.RESOURCE_GROUP, _group_id(name)) for name in recorded]
    return service_probe("foundation", routes, resources, names=names)[0]


def test_every_resource_group_succeeded_in_this_region():
    evidence = foundation.resource_groups_present(_groups_probe())
    assert sorted(evidence["groups"]) == sorted(GROUPS)
    assert {g["provisioningState"] for g in evidence["groups"].values()} == {"Succeeded"}


def test_a_group_being_deleted_fails_naming_it():
    with pytest.raises(PermanentError, match="rg-dp-data-sec: provisioningState Deleting"):
        foundation.resource_groups_present(_groups_probe({"rg-dp-data-sec": "Deleting"}))


def test_a_group_in_another_region_fails():
    with pytest.raises(PermanentError, match="westus2, not this stack's region westus"):
        foundation.resource_groups_present(_groups_probe(names={"region": "westus"}))


def test_a_layer_without_a_recorded_group_fails():
    with pytest.raises(PermanentError, match="no resource group rg-dp-data-sec recorded"):
        foundation.resource_groups_present(_groups_probe(recorded=GROUPS[:2]))


def _workspace_probe(**fields):
    # No Log Analytics example is kept with the specs: a minimal workspace GET body, as ARM returns it.
    body = {"id": LOG_ID, "name": "log-dp-sec", "type": "Microsoft.OperationalInsights/workspaces",
            "location": "westus2", "properties": {"provisioningState": "Succeeded", "retentionInDays": 30,
                                                  "customerId": "11111111-2222-3333-4444-555555555555", **fields}}
    return service_probe("foundation", [Route("GET", f"(?i){LOG_ID}", body=body)],
                         [deployed(foundation.WORKSPACE, LOG_ID)])[0]


def test_the_workspace_is_ready_with_its_customer_id():
    evidence = foundation.log_analytics_ready(_workspace_probe())
    assert evidence["customerId"] == "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"provisioningState": "Failed"}, PermanentError, "provisioningState Failed"),
    ({"provisioningState": "ProvisioningAccount"}, TransientError, "not Succeeded yet"),
    ({"customerId": None}, PermanentError, "no customerId"),
])
def test_a_workspace_not_ready_fails(fields, error, message):
    with pytest.raises(error, match=message):
        foundation.log_analytics_ready(_workspace_probe(**fields))


def _vault_probe(secret_status: int = 200, secret_body=None):
    """Key Vault answers as it does: a request without a token gets the 401 challenge naming the
    resource to ask a token for; the SDK's challenge policy then retries with one."""
    seen: list[str] = []

    def secret(request):
        if "Authorization" not in request.headers:
            challenge = ('Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
                         'resource="https://vault.azure.net"')
            return 401, None, {"WWW-Authenticate": challenge}
        seen.append(request.url)
        body = secret_body if secret_body is not None else example_body(SECRET_EXAMPLE)
        return secret_status, body, {}

    routes = [Route("GET", f"(?i){KV_ID}", body=example_body(VAULT_EXAMPLE)),
              Route("GET", r"/secrets/drctl-canary/?", respond=secret)]
    probe, _ = service_probe("foundation", routes, [deployed(foundation.KEY_VAULT, KV_ID)])
    return probe, seen


def test_the_canary_secret_is_read_at_the_vaults_uri_and_its_value_is_not_kept():
    probe, seen = _vault_probe()
    evidence = foundation.key_vault_reachable(probe)
    assert seen and seen[0].startswith("https://sample-vault.vault.azure.net/secrets/drctl-canary")
    assert evidence["secret"] == "drctl-canary" and evidence["version"] == "4387e9f3d6e14c459867679a90fd0f79"
    assert "mysecretvalue" not in json.dumps(evidence)


@pytest.mark.parametrize(("status", "message"), [
    (403, "Key Vault sample-vault .*secret drctl-canary: HTTP 403: the runner's identity needs Key Vault Secrets User"),
    (404, "Key Vault sample-vault .*secret drctl-canary: HTTP 404: seed drctl-canary"),
])
def test_an_unreadable_canary_fails_naming_the_vault_and_the_secret(status, message):
    code = {403: "Forbidden", 404: "SecretNotFound"}[status]
    probe, _ = _vault_probe(status, {"error": {"code": code, "message": "refused by the test"}})
    with pytest.raises(PermanentError, match=message) as raised:
        foundation.key_vault_reachable(probe)
    assert raised.value.evidence["vault"] == "sample-vault"


def test_an_empty_canary_fails_without_showing_a_value():
    body = {**example_body(SECRET_EXAMPLE), "value": ""}
    with pytest.raises(PermanentError, match="read back empty"):
        foundation.key_vault_reachable(_vault_probe(secret_body=body)[0])


def _recovery_probe(settings=None, **redundancy):
    body = example_body(RECOVERY_EXAMPLE)
    body["properties"]["redundancySettings"].update(redundancy)
    return service_probe("foundation", [Route("GET", f"(?i){RSV_ID}", body=body)],
                         [deployed(foundation.RECOVERY_VAULT, RSV_ID)], settings=settings)[0]


def test_the_recovery_vault_is_geo_redundant_with_cross_region_restore():
    evidence = foundation.recovery_vault_ready(_recovery_probe(FoundationSettings()))
    assert evidence["crossRegionRestore"] == "Enabled"
    assert evidence["standardTierStorageRedundancy"] == "GeoRedundant"


def test_cross_region_restore_off_fails_when_the_stack_asks_for_it():
    with pytest.raises(PermanentError, match="Cross Region Restore is Disabled"):
        foundation.recovery_vault_ready(_recovery_probe(FoundationSettings(), crossRegionRestore="Disabled"))
    settings = FoundationSettings(recoveryVaultCrossRegionRestore=False)
    assert foundation.recovery_vault_ready(_recovery_probe(settings, crossRegionRestore="Disabled"))["ok"]


def test_locally_redundant_vault_storage_fails():
    with pytest.raises(PermanentError, match="storage redundancy LocallyRedundant, not GeoRedundant"):
        foundation.recovery_vault_ready(_recovery_probe(standardTierStorageRedundancy="LocallyRedundant"))
