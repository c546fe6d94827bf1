"""Microsoft Fabric capacity: the smoke and data checks its DR profile declares (components/fabric_capacity.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "fabric_capacity"

CHECKS = (
    smoke(COMPONENT, "fabric-capacity-active", plane="management"),
)
