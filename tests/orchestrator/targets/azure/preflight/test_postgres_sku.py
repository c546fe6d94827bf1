"""PostgreSQL's tier, SKU, version and geo-backup, read from its own location capabilities (the
CapabilitiesByLocation_List example, eastus) through the real PostgreSQL management client."""

from __future__ import annotations

import pytest
from preflight_support import PG_CAPABILITIES, body, config_for, hosts, platform_routes, session_for

from orchestrator.targets.azure.preflight import capacity
from orchestrator.targets.azure.preflight.needs import Needs, PostgresNeed, needs_from
from orchestrator.targets.azure.preflight.postgres_sku import check_postgres_sku


def need(sku="Standard_D2ds_v5", tier="GeneralPurpose", version="16", geo=True) -> PostgresNeed:
    return PostgresNeed(sku, tier, version, geo)


def run(need_: PostgresNeed, capabilities=None):
    routes = platform_routes(**({"pg_capabilities": capabilities} if capabilities is not None else {}))
    session, transport = session_for(routes)
    [check] = check_postgres_sku(session, need_, "eastus")
    return check, transport


def test_an_offered_sku_passes_and_is_asked_of_postgresql_not_compute():
    check, transport = run(need())
    assert check.status == "pass" and check.evidence["v_cores"] == 2
    assert [r.url.split("?")[0] for r in transport.requests] == [
        "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
        "Microsoft.DBforPostgreSQL/locations/eastus/capabilities"]
    assert hosts(transport) == {"management.azure.com"}


@pytest.mark.parametrize(
    "need_,named",
    [
        (need(sku="Standard_D2ds_v9"), "SKU Standard_D2ds_v9 is not offered in tier GeneralPurpose"),
        (need(sku="Standard_B1ms"), "SKU Standard_B1ms is not offered in tier GeneralPurpose"),  # a Burstable SKU
        (need(version="10"), "version 10 is not offered"),
    ],
)
def test_an_sku_tier_or_version_the_region_does_not_offer_blocks_naming_it(need_, named):
    check, _ = run(need_)
    assert check.blocks and named in check.message and need_.sku in check.message


def test_an_unknown_tier_blocks():
    check, _ = run(need(tier="Hyperscale"))
    assert check.blocks and "tier Hyperscale is not offered" in check.message


def test_geo_backup_not_supported_blocks_only_when_the_stack_wants_it():
    # Test-built from the example: the same region with geo-backup switched off.
    capabilities = body(PG_CAPABILITIES)
    region = capabilities["value"][0]
    region["geoBackupSupported"] = "Disabled"
    for feature in region["supportedFeatures"]:
        if feature["name"] == "GeoBackup":
            feature["status"] = "Disabled"
    check, _ = run(need(geo=True), capabilities)
    assert check.blocks and "geo-redundant backup is not supported" in check.message
    assert "Standard_D2ds_v5" in check.message
    assert run(need(geo=False), capabilities)[0].status == "pass"


def test_a_disabled_sku_blocks_with_its_reason():
    capabilities = body(PG_CAPABILITIES)  # test-built: the example's SKU marked Disabled
    for edition in capabilities["value"][0]["supportedServerEditions"]:
        for sku in edition["supportedServerSkus"]:
            if sku["name"] == "Standard_D2ds_v5":
                sku.update(status="Disabled", reason="NotAvailableForSubscription")
    check, _ = run(need(), capabilities)
    assert check.blocks and "NotAvailableForSubscription" in check.message


def test_postgres_is_no_longer_a_compute_vm_size():
    # The shipped secondary asks for Standard_D2ds_v5, which the Compute SKU example lacks: that
    # was a false blocker. Now PostgreSQL is a need of its own and Compute is not asked about it.
    needs = needs_from(config_for(), _empty_graph())
    assert needs.postgres == PostgresNeed("Standard_D2ds_v5", "GeneralPurpose", "16", True)
    assert all(v.purpose != "postgres" for v in needs.vm_sizes)
    session, transport = session_for(platform_routes())
    checks, _ = capacity.check_compute_skus(session, needs)
    assert checks == [] and transport.requests == []


def test_no_postgres_asks_nothing():
    session, transport = session_for(platform_routes())
    assert check_postgres_sku(session, Needs("eastus", (), ()).postgres, "eastus") == []
    assert transport.requests == []


def _empty_graph():
    from orchestrator.program.graph import Graph

    return Graph(stack="secondary", region="eastus", resources=[])
