"""SQL Server on Azure VMs (Site Recovery vault and replication policy): the checks its DR profile
declares (components/sql_server_vm.py), all on Azure.

The component's vault is the stack's Site Recovery vault (replication is enabled per VM outside the
program, which creates the replicated items and recovery plans), so every VM it replicates is taken
to be a SQL Server VM. Site Recovery has no SDK among drctl's dependencies: its REST API is read
through the probe's ARM pipeline (drctl's credential, retries, the test transport).

- `recovery-plan-readable` (management): the vault has a recovery plan, each plan reads back, holds
  replicated VMs, and every replicated VM is in one (a plan's failover leaves any other behind).
- `replicated-items-healthy` (management): every replicated item's replicationHealth is Normal.
- data checks, after the failover, on the SQL Server of each recovered VM (the A2A details'
  recoveryAzureVMName in recoveryAzureResourceGroupId; its primary NIC's private IP, from ARM), over
  every user table of every user database: `row-counts` (COUNT_BIG(*)) and `max-timestamp` (the
  newest `ts`, the platform's event-time column). A VM not failed over is a mismatch. Sign-in is
  drctl's Entra token over TDS (smoke_tests/tds.py): the VM's SQL Server must accept Microsoft Entra
  authentication (SQL Server 2022 or later, enabled through the SQL IaaS Agent extension) and
  present a certificate the runner trusts for that address.
"""

from __future__ import annotations

from typing import Any

from smoke_tests import tds
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import RestClient, ServiceProbe
from smoke_tests.table_facts import Gathered, judge, not_older

COMPONENT = "sql_server_vm"
VAULT = "azure-native:recoveryservices:Vault"
ARM = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
SITE_RECOVERY_API = "2024-10-01"
VM_API, NIC_API = "2024-07-01", "2024-05-01"
TIMESTAMP = "ts"
REST_DOUBLE = TRANSPORT_DOUBLE + "no Site Recovery example in the specs kept here: minimal list and GET bodies"
VM_SQL_DOUBLE = TRANSPORT_DOUBLE + ("minimal Site Recovery, VM and NIC GET bodies (no example kept) and a DB-API "
                                    "connection answering the T-SQL (no SQL Server runs here)")


def _arm(probe: ServiceProbe) -> RestClient:
    return probe.rest(ARM, ARM_SCOPE)


def _list(arm: RestClient, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page: dict[str, Any] | None = arm.request("GET", path, params={"api-version": SITE_RECOVERY_API})
    while page:
        found += page.get("value") or []
        following = str(page.get("nextLink") or "")
        page = arm.request("GET", following.removeprefix(ARM)) if following else None
    return found


def _items(probe: ServiceProbe, arm: RestClient) -> tuple[str, list[dict[str, Any]]]:
    vault = str(probe.resource(VAULT)["id"])
    return vault, _list(arm, f"{vault}/replicationProtectedItems")


def _name(item: dict[str, Any]) -> str:
    return str((item.get("properties") or {}).get("friendlyName") or item.get("name"))


def recovery_plan_readable(probe: ServiceProbe) -> dict:
    arm = _arm(probe)
    vault, items = _items(probe, arm)
    plans = _list(arm, f"{vault}/replicationRecoveryPlans")
    if not plans:
        raise PermanentError(f"sql server vm: vault {vault.rsplit('/', 1)[-1]} has no recovery plan: a failover "
                             "would have nothing to run", {"vault": vault})
    read, planned = [], set()
    for plan in plans:
        got = arm.request("GET", str(plan["id"]), params={"api-version": SITE_RECOVERY_API}) or {}
        properties = got.get("properties") or {}
        members = [str(i.get("id", "")).lower() for g in properties.get("groups") or []
                   for i in g.get("replicationProtectedItems") or []]
        planned.update(members)
        read.append({"plan": got.get("name"), "vms": len(members),
                     "allowed_operations": properties.get("allowedOperations") or []})
    evidence = {"vault": vault, "plans": read}
    empty = [p["plan"] for p in read if not p["vms"]]
    if empty:
        raise PermanentError(f"sql server vm: recovery plan {', '.join(map(str, empty))} holds no replicated VM", evidence)
    left_out = [_name(i) for i in items if str(i.get("id", "")).lower() not in planned]
    if left_out:
        raise PermanentError(f"sql server vm: replicated VM {', '.join(left_out)} is in no recovery plan: "
                             "the plan's failover would leave it behind", evidence)
    return evidence


def replicated_items_healthy(probe: ServiceProbe) -> dict:
    vault, items = _items(probe, _arm(probe))
    if not items:
        raise PermanentError(f"sql server vm: vault {vault.rsplit('/', 1)[-1]} replicates no VM", {"vault": vault})
    seen = [{"vm": _name(i), "replication_health": (i.get("properties") or {}).get("replicationHealth"),
             "active_location": (i.get("properties") or {}).get("activeLocation"),
             "errors": [e.get("errorMessage") for e in (i.get("properties") or {}).get("healthErrors") or []][:3]}
            for i in items]
    unhealthy = [s for s in seen if s["replication_health"] != "Normal"]
    if unhealthy:
        first = unhealthy[0]
        raise PermanentError(f"sql server vm: {len(unhealthy)} replicated VM(s) not healthy, first {first['vm']}: "
                             f"replicationHealth {first['replication_health']}", {"vault": vault, "items": seen})
    return {"vault": vault, "items": seen}


def _recovered_address(arm: RestClient, item: dict[str, Any]) -> str:
    """The recovered VM's primary private IP: the VM named by the item's A2A details, its NIC."""
    details = (item.get("properties") or {}).get("providerSpecificDetails") or {}
    group, name = details.get("recoveryAzureResourceGroupId"), details.get("recoveryAzureVMName")
    if not group or not name:
        raise PermanentError("its A2A details name no recovery VM")
    vm = arm.request("GET", f"{group}/providers/Microsoft.Compute/virtualMachines/{name}",
                     params={"api-version": VM_API}) or {}
    nics = ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []
    nic_ref = next((n for n in nics if (n.get("properties") or {}).get("primary")), nics[0] if nics else None)
    if nic_ref is None:
        raise PermanentError(f"recovered VM {name} has no network interface")
    nic = arm.request("GET", str(nic_ref["id"]), params={"api-version": NIC_API}) or {}
    configs = (nic.get("properties") or {}).get("ipConfigurations") or []
    config = next((c for c in configs if (c.get("properties") or {}).get("primary")), configs[0] if configs else {})
    address = (config.get("properties") or {}).get("privateIPAddress")
    if not address:
        raise PermanentError(f"recovered VM {name}'s network interface has no private IP")
    return str(address)


def _table_check(probe: ServiceProbe, check: str, fact: str, expression: str, column: str | None = None,
                 **how: Any) -> tuple[list[str], dict]:
    arm = _arm(probe)
    _, items = _items(probe, arm)
    got, hosts = Gathered(), {}
    for item in items:
        vm = _name(item)
        location = (item.get("properties") or {}).get("activeLocation")
        if location != "Recovery":
            got.failed[vm] = f"not failed over (activeLocation {location}): its SQL Server is not in this region"
            continue
        try:
            hosts[vm] = _recovered_address(arm, item)
        except PermanentError as error:
            got.failed[vm] = str(error)
            continue
        with tds.connect(probe, hosts[vm], "master") as connection:
            got.merge(tds.gather_all(connection, expression, column=column), prefix=f"{vm}/")
    none_found = f"no user table on the recovered VMs has the column {column}" if column else None
    mismatches = judge(fact, got, probe.baseline.get(check), where="the recovered VMs' SQL Servers",
                       none_found=none_found, **how)
    return mismatches, got.facts(hosts=hosts, **({"column": column} if column else {}))


def row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every user table's COUNT_BIG(*) on every recovered VM, keyed vm/database.schema.table: equal
    to the recorded counts, or (none recorded) every VM failed over and each table's count answers."""
    return _table_check(probe, "row-counts", "rows", tds.COUNT)


def max_timestamp(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The newest `ts` of every table that has one: never older than recorded (newer is replayed
    data); none recorded, at least one table must have the column to give the watermark."""
    return _table_check(probe, "max-timestamp", "newest ts", tds.newest(TIMESTAMP), TIMESTAMP, same=not_older)


CHECKS = (
    smoke(COMPONENT, "recovery-plan-readable", recovery_plan_readable, AZURE, plane="management",
          tested_against=REST_DOUBLE),
    smoke(COMPONENT, "replicated-items-healthy", replicated_items_healthy, AZURE, plane="management",
          tested_against=REST_DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=VM_SQL_DOUBLE),
    data(COMPONENT, "max-timestamp", max_timestamp, AZURE, tested_against=VM_SQL_DOUBLE),
)
