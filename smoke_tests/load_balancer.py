"""Azure Load Balancer (Standard), optionally behind a cross-region load balancer: the smoke and data checks its DR profile declares (components/load_balancer.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "load_balancer"

CHECKS = (
    smoke(COMPONENT, "load-balancer-provisioned", plane="management"),
    smoke(COMPONENT, "probe-health", plane="management"),
    smoke(COMPONENT, "data-path-availability"),
)
