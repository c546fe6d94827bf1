"""DR readiness of the primary, read through the SDKs from the REST API spec examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import requests
from azure_fixtures import Route
from preflight_support import (
    COSMOS_ACCOUNT,
    PG_SERVER,
    RG,
    STORAGE_CAN_FAILOVER,
    STORAGE_NO_FAILOVER,
    VAULT,
    arm_error,
    body,
    config_for,
    hosts,
    readiness_routes,
    session_for,
)

from orchestrator.targets.azure.preflight.readiness import (
    UNREACHABLE,
    Target,
    primary_targets,
    readiness_checks,
)

# The storage examples' lastSyncTime, and the SQL example's lastAvailableBackupDate.
LAST_SYNC = datetime(2018, 10, 30, 0, 25, 34, tzinfo=UTC)
LAST_BACKUP = datetime(2017, 5, 26, 1, 6, 29, 780000, tzinfo=UTC)

LAKE = Target("storage", "sto8596", "rg-contoso-data-aue", "lake")
PG = Target("postgres", "exampleserver", "rg-contoso-data-aue", "postgres")
SQL = Target("sql", "platform", "rg-contoso-data-aue", "sql_database", parent="contoso-sql-aue")
COSMOS = Target("cosmos", "ddb1", "rg-contoso-data-aue", "cosmos_db")
VAULT_TARGET = Target("recovery-vault", "rsv-contoso-aue", "rg-contoso-foundation-aue", "foundation")


def read(target: Target, now: datetime = LAST_SYNC + timedelta(minutes=15), **bodies):
    session, transport = session_for(readiness_routes(**bodies))
    [check] = readiness_checks(session, [target], config_for(), now)
    assert hosts(transport) == {"management.azure.com"}
    return check


def storage_variant(sku: str, example: str = STORAGE_NO_FAILOVER) -> dict:
    account = body(example)
    account["sku"]["name"] = sku  # test-built: the example account with another redundancy
    return account


def test_targets_come_from_the_primary_programs_graph(repo_graphs):
    targets = {(t.kind, t.name): t for t in primary_targets(repo_graphs.get("primary"))}
    assert targets[("storage", "contosolakeaue")].resource_group == "rg-contoso-data-aue"
    assert targets[("postgres", "contoso-pg-aue")].resource_group == "rg-contoso-data-aue"
    assert targets[("recovery-vault", "rsv-contoso-aue")].resource_group == "rg-contoso-foundation-aue"


def test_sql_databases_are_read_under_their_server():
    graph = SimpleNamespace(
        outputs={"resourceGroups": {"data": "rg-d", "foundation": "rg-f"}},
        resources=[
            {"type": "azure-native:sql:Server", "physical_name": "srv", "component": "sql_database"},
            {"type": "azure-native:sql:Database", "physical_name": "platform", "component": "sql_database"},
            {"type": "azure-native:keyvault:Vault", "physical_name": "kv", "component": "foundation"},
        ],
    )
    assert primary_targets(graph) == [Target("sql", "platform", "rg-d", "sql_database", parent="srv")]


def test_lake_grs_that_cannot_fail_over_blocks_a_restore_from_the_geo_secondary():
    check = read(LAKE)  # Standard_GRS, canFailover false; the secondary stack restores from geo-secondary
    assert (check.status, check.severity, check.blocks) == ("finding", "blocker", True)
    assert check.evidence["can_failover"] is False
    assert check.evidence["last_sync_time"] == LAST_SYNC.isoformat()
    assert check.evidence["rpo_estimate_s"] == 15 * 60
    assert "RA-GRS" in check.fix


def test_lake_grs_that_can_fail_over_is_a_warning():
    check = read(LAKE, storage=body(STORAGE_CAN_FAILOVER))
    assert (check.severity, check.blocks, check.evidence["can_failover"]) == ("warning", False, True)


def test_lake_ra_grs_passes_with_the_rpo_estimate_in_evidence():
    check = read(LAKE, storage=storage_variant("Standard_RAGRS"))
    assert check.status == "pass"
    assert check.evidence["within_target"] is True and check.evidence["rpo_target_s"] == 3600


def test_lake_ra_grs_synced_longer_ago_than_the_rpo_target_is_a_warning():
    check = read(LAKE, now=LAST_SYNC + timedelta(hours=3), storage=storage_variant("Standard_RAGRS"))
    assert (check.status, check.severity) == ("finding", "warning")
    assert check.evidence["rpo_estimate_s"] == 3 * 3600 and "180 min" in check.message


def test_lake_without_geo_redundancy_blocks_with_the_seed_uplift_and_its_rpo_cost():
    check = read(LAKE, storage=storage_variant("Standard_LRS"))
    assert check.blocks
    assert check.fix.startswith("uplift to GRS/RA-GRS (seed: GRS recommended)")
    assert check.rpo_consequence == "no copy in the secondary: data since the last backup is lost"


def test_other_accounts_without_geo_redundancy_are_warnings():
    check = read(Target("storage", "contosofuncaue", "rg-contoso-data-aue", "function-app"),
                 storage=storage_variant("Standard_LRS"))
    assert (check.severity, check.blocks) == ("warning", False)


def test_postgres_geo_redundant_backup_enabled_passes_and_disabled_blocks():
    check = read(PG)
    assert check.status == "pass" and check.evidence["geo_redundant_backup"] == "Enabled"
    server = body(PG_SERVER)
    server["properties"]["backup"]["geoRedundantBackup"] = "Disabled"  # test-built variant of the example
    check = read(PG, postgres=server)
    assert check.blocks
    assert "cannot be turned on later" in check.fix
    assert "pg_dump" in check.rpo_consequence


def test_sql_last_available_backup_date_is_the_rpo_watermark():
    check = read(SQL, now=LAST_BACKUP + timedelta(minutes=20))
    assert check.status == "pass"
    assert check.evidence["watermark"] == LAST_BACKUP.isoformat()
    assert check.evidence["rpo_estimate_s"] == pytest.approx(20 * 60)
    old = read(SQL, now=LAST_BACKUP + timedelta(days=2))
    assert (old.severity, old.blocks) == ("warning", False)


def test_sql_without_a_recoverable_database_blocks():
    session, _ = session_for([Route("GET", RG + "/Microsoft.Sql/servers/[^/]+/recoverableDatabases/[^/]+",
                                    status=404, body=arm_error("ResourceNotFound"))])
    [check] = readiness_checks(session, [SQL], config_for(), LAST_BACKUP)
    assert check.blocks and "Geo" in check.fix


def test_cosmos_single_region_is_a_finding():
    check = read(COSMOS)  # one region (East US), periodic backup with Geo redundancy
    assert (check.status, check.severity) == ("finding", "warning")
    assert check.evidence["regions"] == ["East US"] and "second region" in check.fix
    local = body(COSMOS_ACCOUNT)
    local["properties"]["backupPolicy"]["periodicModeProperties"]["backupStorageRedundancy"] = "Local"
    assert read(COSMOS, cosmos=local).blocks


def test_cosmos_with_a_second_region_and_automatic_failover_passes():
    account = body(COSMOS_ACCOUNT)  # test-built: the example account with a second region
    second = dict(account["properties"]["locations"][0], id="ddb1-westus", locationName="West US", failoverPriority=1)
    account["properties"]["locations"].append(second)
    account["properties"]["enableAutomaticFailover"] = True
    assert read(COSMOS, cosmos=account).status == "pass"
    account["properties"]["enableAutomaticFailover"] = False
    assert read(COSMOS, cosmos=account).severity == "warning"


def test_recovery_vault_cross_region_restore():
    assert read(VAULT_TARGET).status == "pass"
    vault = body(VAULT)
    vault["properties"]["redundancySettings"]["crossRegionRestore"] = "Disabled"
    check = read(VAULT_TARGET, vault=vault)
    assert (check.severity, check.blocks) == ("warning", False) and "Cross Region Restore" in check.fix


def _failing(status: int | None, code: str = "ServiceUnavailable", headers: dict | None = None) -> Route:
    def drop(request):
        raise requests.ConnectionError("connection refused")

    if status is None:
        return Route("GET", RG + "/.*", respond=drop)
    return Route("GET", RG + "/.*", status=status, body=arm_error(code), headers=headers or {})


@pytest.mark.parametrize("status", [None, 500, 503])
def test_an_unreachable_primary_is_a_warning_not_a_blocker(status):
    session, _ = session_for([_failing(status)])
    checks = readiness_checks(session, [LAKE, PG, VAULT_TARGET], config_for(), LAST_SYNC)
    assert [c.message for c in checks] == [UNREACHABLE] * 3
    assert all(c.severity == "warning" and not c.blocks and c.retriable for c in checks)


def test_throttled_reads_are_retriable_errors_and_forbidden_reads_block():
    session, _ = session_for([_failing(429, "TooManyRequests", {"Retry-After": "12"})])
    [check] = readiness_checks(session, [PG], config_for(), LAST_SYNC)
    assert (check.status, check.retriable, check.evidence["retry_after_s"]) == ("error", True, 12.0)
    session, _ = session_for([_failing(403, "AuthorizationFailed")])
    [check] = readiness_checks(session, [PG], config_for(), LAST_SYNC)
    assert (check.status, check.retriable, check.blocks, check.evidence["code"]) == ("error", False, True, "AuthorizationFailed")


def test_a_primary_resource_that_is_not_found_is_a_warning():
    session, _ = session_for([_failing(404, "ResourceNotFound")])
    [check] = readiness_checks(session, [PG], config_for(), LAST_SYNC)
    assert (check.severity, check.blocks) == ("warning", False) and "not found" in check.message


def test_an_account_failover_source_blocks_when_the_account_cannot_fail_over_even_if_readable():
    import dataclasses

    config = config_for()
    lake_restore = config.restore.lake.model_copy(update={"source": "account-failover"})
    config = dataclasses.replace(config, restore=config.restore.model_copy(update={"lake": lake_restore}))
    session, _ = session_for(readiness_routes(storage=storage_variant("Standard_RAGRS")))  # canFailover false
    [check] = readiness_checks(session, [LAKE], config, LAST_SYNC + timedelta(minutes=15))
    assert check.blocks and "account-failover" in check.message and check.evidence["can_failover"] is False
    session, _ = session_for(readiness_routes(storage=storage_variant("Standard_RAGRS")))
    [check] = readiness_checks(session, [LAKE], config_for(), LAST_SYNC + timedelta(minutes=15))
    assert check.status == "pass"  # reading the geo copy does not need a failover
