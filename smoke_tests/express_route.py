"""ExpressRoute circuit and ExpressRoute gateway: the smoke and data checks its DR profile declares (components/express_route.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "express_route"

CHECKS = (
    smoke(COMPONENT, "circuit-provisioned", plane="management"),
    smoke(COMPONENT, "gateway-provisioned", plane="management"),
    smoke(COMPONENT, "connection-connected", plane="management"),
    data(COMPONENT, "routes-learned", plane="management"),
)
