"""Foundation: resource groups, Log Analytics, Key Vault, Recovery Services vault: the smoke and data checks its DR profile declares (components/foundation.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "foundation"

CHECKS = (
    smoke(COMPONENT, "resource-groups-present", plane="management"),
    smoke(COMPONENT, "log-analytics-ready", plane="management"),
    smoke(COMPONENT, "key-vault-reachable"),
    smoke(COMPONENT, "recovery-vault-ready", plane="management"),
)
