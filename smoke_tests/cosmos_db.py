"""Azure Cosmos DB account: the smoke and data checks its DR profile declares (components/cosmos_db.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "cosmos_db"

CHECKS = (
    smoke(COMPONENT, "account-read", plane="management"),
    smoke(COMPONENT, "canary-upsert-read"),
    data(COMPONENT, "document-count"),
    data(COMPONENT, "max-ts-watermark"),
)
