"""Azure DDoS Network Protection plan: the smoke and data checks its DR profile declares (components/ddos.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "ddos"

CHECKS = (
    smoke(COMPONENT, "ddos-plan-provisioned", plane="management"),
)
