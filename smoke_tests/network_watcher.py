"""Network Watcher (the region's Azure-created watcher): the smoke and data checks its DR profile declares (components/network_watcher.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "network_watcher"

CHECKS = (
    smoke(COMPONENT, "network-watcher-present", plane="management"),
)
