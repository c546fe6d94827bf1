"""SQL Server on Azure VMs (Site Recovery vault and replication policy): the smoke and data checks its DR profile declares (components/sql_server_vm.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "sql_server_vm"

CHECKS = (
    smoke(COMPONENT, "recovery-plan-readable", plane="management"),
    smoke(COMPONENT, "replicated-items-healthy", plane="management"),
    data(COMPONENT, "row-counts"),
    data(COMPONENT, "max-timestamp"),
)
