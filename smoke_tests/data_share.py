"""Azure Data Share account: the smoke and data checks its DR profile declares (components/data_share.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "data_share"

CHECKS = (
    smoke(COMPONENT, "data-share-account-reachable", plane="management"),
    data(COMPONENT, "snapshot-sync-status", plane="management"),
)
