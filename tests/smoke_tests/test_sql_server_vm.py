"""SQL Server on Azure VMs: Site Recovery's REST API read through the probe's ARM pipeline, and the
recovered VMs' SQL Servers through the DB-API double.

No Site Recovery, VM or NIC example is kept in the specs here: the vault's lists, the recovery plan
and the recovered VM and its NIC answer with minimal hand-written bodies (only the fields the checks
read, as the Site Recovery REST reference documents them), and the SQL with the double of
tests/smoke_tests/sql_doubles.py (no SQL Server installs here)."""

from __future__ import annotations

import copy

import pytest

from smoke_tests import sql_server_vm as checks
from smoke_tests.check import PermanentError
from tests.azure_fixtures import SUBSCRIPTION, Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe
from tests.smoke_tests.sql_doubles import Table, TdsServer

VAULT_ID = arm_id("Microsoft.RecoveryServices/vaults", "rsv-dp-asr-sec")
CONTAINER = f"{VAULT_ID}/replicationFabrics/asr-a2a-westus/replicationProtectionContainers/westus-container"
ITEM_ID = f"{CONTAINER}/replicationProtectedItems/sqlvm1-item"
PLAN_ID = f"{VAULT_ID}/replicationRecoveryPlans/sql-plan"
RECOVERY_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dp-app-sec"
VM_ID = f"{RECOVERY_GROUP}/providers/Microsoft.Compute/virtualMachines/sqlvm1"
NIC_ID = f"{RECOVERY_GROUP}/providers/Microsoft.Network/networkInterfaces/sqlvm1-nic"
ADDRESS = "10.20.1.4"


def item(health: str = "Normal", location: str = "Recovery", errors: tuple[str, ...] = ()) -> dict:
    return {"id": ITEM_ID, "name": "sqlvm1-item", "properties": {
        "friendlyName": "sqlvm1", "replicationHealth": health, "activeLocation": location,
        "healthErrors": [{"errorMessage": e} for e in errors],
        "providerSpecificDetails": {"instanceType": "A2A", "recoveryAzureVMName": "sqlvm1",
                                    "recoveryAzureResourceGroupId": RECOVERY_GROUP}}}


def plan(members: tuple[str, ...] = (ITEM_ID,)) -> dict:
    return {"id": PLAN_ID, "name": "sql-plan", "properties": {
        "allowedOperations": ["PlannedFailover", "UnplannedFailover", "TestFailover"],
        "groups": [{"groupType": "Boot", "replicationProtectedItems": [{"id": m} for m in members]}]}}


def catalog() -> dict[str, dict[str, Table]]:
    return {"master": {}, "sales": {"dbo.orders": Table(rows=30, newest={"ts": "2024-05-01T08:00:00"})}}


def probe(server: TdsServer, *, items: list | None = None, plans: list | None = None, baseline: dict | None = None,
          first: tuple[Route, ...] = ()):
    items = [item()] if items is None else items
    plans = [plan()] if plans is None else plans
    routes = [*first,
        Route("GET", f"{VAULT_ID}/replicationProtectedItems", body={"value": items}),
        Route("GET", f"{VAULT_ID}/replicationRecoveryPlans", body={"value": plans}),
        Route("GET", PLAN_ID, body=plans[0] if plans else None),
        Route("GET", VM_ID, body={"id": VM_ID, "name": "sqlvm1", "properties": {"networkProfile": {
            "networkInterfaces": [{"id": NIC_ID, "properties": {"primary": True}}]}}}),
        Route("GET", NIC_ID, body={"id": NIC_ID, "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"primary": True, "privateIPAddress": ADDRESS}}]}}),
    ]
    return service_probe(checks.COMPONENT, routes, [deployed(checks.VAULT, VAULT_ID)], connectors={"sql": server},
                         baseline=baseline)


def test_recovery_plan_readable_reads_each_plan_through_site_recoverys_rest_api():
    checked, transport = probe(TdsServer(catalog()))
    evidence = checks.recovery_plan_readable(checked)
    assert evidence["plans"] == [{"plan": "sql-plan", "vms": 1,
                                  "allowed_operations": ["PlannedFailover", "UnplannedFailover", "TestFailover"]}]
    assert any("api-version=2024-10-01" in r.url and r.url.split("?")[0].endswith("/sql-plan")
               for r in transport.requests)
    assert all(r.headers["Authorization"] == "Bearer fake-token-for-tests" for r in transport.requests)


def test_a_vault_without_a_recovery_plan_fails():
    with pytest.raises(PermanentError, match="has no recovery plan"):
        checks.recovery_plan_readable(probe(TdsServer(catalog()), plans=[])[0])


def test_a_replicated_vm_left_out_of_every_plan_fails():
    with pytest.raises(PermanentError, match="replicated VM sqlvm1 is in no recovery plan"):
        checks.recovery_plan_readable(probe(TdsServer(catalog()), plans=[plan(members=(f"{CONTAINER}/other",))])[0])


def test_replicated_items_healthy_passes_on_normal_and_fails_on_critical():
    evidence = checks.replicated_items_healthy(probe(TdsServer(catalog()))[0])
    assert evidence["items"][0]["replication_health"] == "Normal"
    sick = [item("Critical", "Primary", ("Site Recovery agent on the source VM has not reported for 30 minutes",))]
    with pytest.raises(PermanentError, match=r"1 replicated VM\(s\) not healthy, first sqlvm1: replicationHealth Critical") as raised:
        checks.replicated_items_healthy(probe(TdsServer(catalog()), items=sick)[0])
    assert raised.value.evidence["items"][0]["errors"] == ["Site Recovery agent on the source VM has not reported for 30 minutes"]


def test_a_vault_that_replicates_nothing_fails():
    with pytest.raises(PermanentError, match="replicates no VM"):
        checks.replicated_items_healthy(probe(TdsServer(catalog()), items=[])[0])


def test_a_second_page_of_replicated_items_is_read():
    second = copy.deepcopy(item("Warning"))
    second["properties"]["friendlyName"] = "sqlvm2"

    def pages(request):
        if "skipToken" in request.url:
            return 200, {"value": [second]}, {}
        return 200, {"value": [item()], "nextLink": f"https://management.azure.com{VAULT_ID}/replicationProtectedItems"
                                                    "?api-version=2024-10-01&$skipToken=2"}, {}

    paged = Route("GET", f"{VAULT_ID}/replicationProtectedItems", respond=pages)
    with pytest.raises(PermanentError, match="first sqlvm2: replicationHealth Warning"):
        checks.replicated_items_healthy(probe(TdsServer(catalog()), first=(paged,))[0])


def test_row_counts_sign_in_to_the_recovered_vms_private_address():
    server = TdsServer(catalog())
    mismatches, facts = checks.row_counts(probe(server)[0])
    assert mismatches == []
    assert facts["tables"] == {"sqlvm1/sales.dbo.orders": 30}
    assert facts["hosts"] == {"sqlvm1": ADDRESS}
    assert server.sign_ins[0]["host"] == ADDRESS and server.sign_ins[0]["database"] == "master"


def test_row_counts_find_a_count_off_and_a_vm_that_did_not_fail_over():
    _, recorded = checks.row_counts(probe(TdsServer(catalog()))[0])
    now = catalog()
    now["sales"]["dbo.orders"].rows = 29
    mismatches, _ = checks.row_counts(probe(TdsServer(now), baseline={"row-counts": recorded})[0])
    assert mismatches == ["sqlvm1/sales.dbo.orders: rows 29, recorded 30"]
    mismatches, _ = checks.row_counts(probe(TdsServer(catalog()), items=[item(location="Primary")])[0])
    assert mismatches == ["sqlvm1: the rows query failed: not failed over (activeLocation Primary): "
                          "its SQL Server is not in this region"]


def test_max_timestamp_fails_when_the_newest_row_went_back():
    _, recorded = checks.max_timestamp(probe(TdsServer(catalog()))[0])
    assert recorded["tables"] == {"sqlvm1/sales.dbo.orders": "2024-05-01T08:00:00"}
    older = catalog()
    older["sales"]["dbo.orders"].newest["ts"] = "2024-04-01T00:00:00"
    mismatches, _ = checks.max_timestamp(probe(TdsServer(older), baseline={"max-timestamp": recorded})[0])
    assert mismatches == ["sqlvm1/sales.dbo.orders: newest ts '2024-04-01T00:00:00', recorded '2024-05-01T08:00:00'"]
