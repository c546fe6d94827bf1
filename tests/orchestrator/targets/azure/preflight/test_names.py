"""Global names: the check-name-availability examples (storage, Key Vault, PostgreSQL, Event Hubs),
the deleted-vault example and the get examples, replayed through the real SDK clients (Key Vault's
through the resource client's pipeline: azure-mgmt-keyvault is not installed)."""

from __future__ import annotations

import json

import pytest
from azure_fixtures import Route
from preflight_support import (
    EH_NAME,
    FACTORY,
    KV_DELETED,
    KV_NAME,
    KV_VAULT,
    PG_NAME,
    PG_SERVER,
    RG,
    STORAGE_NAME,
    STORAGE_NO_FAILOVER,
    arm_error,
    body,
    hosts,
    names_routes,
    session_for,
    taken,
)

from orchestrator.targets.azure.preflight.names import check_global_names
from orchestrator.targets.azure.preflight.needs import GlobalName, Needs

DATA, FOUNDATION = "rg-contoso-data-ase", "rg-contoso-foundation-ase"
NAMES = (
    GlobalName("azure-native:storage:StorageAccount", "contosolakease", DATA),
    GlobalName("azure-native:dbforpostgresql:Server", "contoso-pg-ase", DATA),
    GlobalName("azure-native:eventhub:Namespace", "contoso-evh-ase", DATA),
    GlobalName("azure-native:keyvault:Vault", "kv-contoso-ase", FOUNDATION),
)
EXISTING = {  # the get routes of each kind, in the stack's own group, answered by their examples
    "contosolakease": Route("GET", RG + "/Microsoft.Storage/storageAccounts/contosolakease", body=body(STORAGE_NO_FAILOVER)),
    "contoso-pg-ase": Route("GET", RG + "/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-ase", body=body(PG_SERVER)),
    # No Event Hubs namespace get example in the shared set: the check reads nothing of the body.
    "contoso-evh-ase": Route("GET", RG + "/Microsoft.EventHub/namespaces/contoso-evh-ase",
                             body={"name": "contoso-evh-ase", "location": "australiasoutheast"}),
    "kv-contoso-ase": Route("GET", RG + "/Microsoft.KeyVault/vaults/kv-contoso-ase", body=body(KV_VAULT)),
}


def run(routes, names=NAMES, create_mode="default"):
    session, transport = session_for(routes)
    needs = Needs("australiasoutheast", (), (), global_names=names, key_vault_create_mode=create_mode)
    return {c.id: c for c in check_global_names(session, needs)}, transport


def test_every_name_available_passes_and_each_kind_is_asked_of_its_provider():
    checks, transport = run(names_routes())
    assert [c.status for c in checks.values()] == ["pass"] * 4
    posted = {r.url.split("/providers/")[1].split("?")[0]: json.loads(r.body) for r in transport.requests if r.method == "POST"}
    assert posted == {
        "Microsoft.Storage/checkNameAvailability": {"name": "contosolakease", "type": "Microsoft.Storage/storageAccounts"},
        "Microsoft.DBforPostgreSQL/locations/australiasoutheast/checkNameAvailability":
            {"name": "contoso-pg-ase", "type": "Microsoft.DBforPostgreSQL/flexibleServers"},
        "Microsoft.EventHub/checkNameAvailability": {"name": "contoso-evh-ase"},
        "Microsoft.KeyVault/checkNameAvailability": {"name": "kv-contoso-ase", "type": "Microsoft.KeyVault/vaults"},
    }
    assert hosts(transport) == {"management.azure.com"}


@pytest.mark.parametrize(
    "kind,path,name",
    [("storage", STORAGE_NAME, "contosolakease"), ("postgres", PG_NAME, "contoso-pg-ase"),
     ("event_hubs", EH_NAME, "contoso-evh-ase"), ("key_vault", KV_NAME, "kv-contoso-ase")],
)
def test_a_name_taken_elsewhere_blocks_and_one_of_this_stacks_own_does_not(kind, path, name):
    routes = names_routes(**{kind: taken(path)})
    checks, _ = run(routes)
    check = checks[f"name:{name}"]
    assert check.blocks and name in check.message and "AlreadyExists" in check.message
    assert "nameSuffix" in check.fix
    # The same answer, with the resource in the stack's own group: a resume or re-run.
    checks, _ = run([EXISTING[name], *routes])
    assert checks[f"name:{name}"].status == "pass" and "an earlier run" in checks[f"name:{name}"].message


def test_an_invalid_name_blocks_with_the_providers_reason():
    checks, _ = run(names_routes(storage=taken(STORAGE_NAME, "AccountNameInvalid")))
    assert checks["name:contosolakease"].blocks and "AccountNameInvalid" in checks["name:contosolakease"].message


def test_a_purge_protected_deleted_vault_blocks_naming_the_date_and_the_fix():
    checks, transport = run(names_routes(deleted_vault=body(KV_DELETED)))
    check = checks["name:kv-contoso-ase"]
    assert check.blocks
    assert "2017-04-01T00:00:59Z" in check.message and "purge protection" in check.message
    assert "keyVaultCreateMode: recover" in check.fix
    assert check.evidence["deleted_vault_id"].endswith("/resourceGroups/sample-group/providers/Microsoft.KeyVault/vaults/sample-vault")
    assert any("/locations/australiasoutheast/deletedVaults/kv-contoso-ase" in r.url for r in transport.requests)


def test_a_deleted_vault_without_purge_protection_can_also_be_purged():
    deleted = body(KV_DELETED)
    deleted["properties"]["purgeProtectionEnabled"] = False  # test-built
    check = run(names_routes(deleted_vault=deleted))[0]["name:kv-contoso-ase"]
    assert check.blocks and "az keyvault purge --name kv-contoso-ase --location australiasoutheast" in check.fix


def test_recover_mode_takes_the_deleted_vault_back():
    check = run(names_routes(deleted_vault=body(KV_DELETED)), create_mode="recover")[0]["name:kv-contoso-ase"]
    assert check.status == "pass" and "will be recovered" in check.message


def test_recover_mode_without_a_deleted_vault_blocks():
    check = run(names_routes(), create_mode="recover")[0]["name:kv-contoso-ase"]
    assert check.blocks and "no soft-deleted vault kv-contoso-ase" in check.message
    # Unless the vault is already this stack's (the run that recovered it, run again).
    routes = [EXISTING["kv-contoso-ase"], *names_routes()]
    assert run(routes, create_mode="recover")[0]["name:kv-contoso-ase"].status == "pass"


def test_data_factory_is_looked_for_in_the_stacks_group_only():
    factory = (GlobalName("azure-native:datafactory:Factory", "contoso-adf-ase", DATA),)
    check = run(names_routes(), names=factory)[0]["name:contoso-adf-ase"]
    assert (check.status, check.severity, check.blocks) == ("finding", "info", False)
    assert "not checked" in check.message
    found = Route("GET", RG + "/Microsoft.DataFactory/factories/contoso-adf-ase", body=body(FACTORY))
    assert run([found, *names_routes()], names=factory)[0]["name:contoso-adf-ase"].status == "pass"


def test_types_without_a_probe_are_listed_not_skipped():
    names = (GlobalName("azure-native:cosmosdb:DatabaseAccount", "contoso-cosmos-ase", DATA),)
    check = run(names_routes(), names=names)[0]["name:unchecked"]
    assert check.severity == "info" and "contoso-cosmos-ase" in check.message


def test_a_refused_name_check_is_a_permanent_error_for_that_name_only():
    refused = Route("POST", r"/subscriptions/[^/]+/providers/Microsoft.Storage/checkNameAvailability", status=403,
                    body=arm_error("AuthorizationFailed"))
    checks, _ = run([refused, *names_routes()])
    assert checks["name:contosolakease"].status == "error" and checks["name:contosolakease"].blocks
    assert checks["name:kv-contoso-ase"].status == "pass"
