"""Connectivity: hub VNet, NSGs, route table, Azure Firewall, private DNS zones: the smoke and data checks its DR profile declares (components/connectivity.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "connectivity"

CHECKS = (
    smoke(COMPONENT, "vnet-subnets-present", plane="management"),
    smoke(COMPONENT, "firewall-provisioned", plane="management"),
    smoke(COMPONENT, "private-dns-zones-linked", plane="management"),
)
