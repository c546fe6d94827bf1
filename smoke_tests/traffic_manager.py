"""Azure Traffic Manager profile (global, one owning stack): the smoke and data checks its DR profile declares (components/traffic_manager.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "traffic_manager"

CHECKS = (
    smoke(COMPONENT, "profile-monitor-online", plane="management"),
    smoke(COMPONENT, "endpoints-online", plane="management"),
    smoke(COMPONENT, "fqdn-resolves-to-secondary", plane="public"),
)
