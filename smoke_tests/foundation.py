"""Foundation: resource groups, Log Analytics, Key Vault, Recovery Services vault: the smoke and data checks its DR profile declares (components/foundation.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "foundation"

CHECKS = (
    smoke(COMPONENT, "resource-groups-present"),
    smoke(COMPONENT, "log-analytics-ready"),
    smoke(COMPONENT, "key-vault-reachable"),
    smoke(COMPONENT, "recovery-vault-ready"),
)
