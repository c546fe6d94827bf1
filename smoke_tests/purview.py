"""Microsoft Purview account (Data Map): the smoke and data checks its DR profile declares (components/purview.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "purview"

CHECKS = (
    smoke(COMPONENT, "purview-account-provisioned", plane="management"),
    smoke(COMPONENT, "purview-collections-readable"),
    data(COMPONENT, "asset-counts"),
)
