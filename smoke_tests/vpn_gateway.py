"""Site-to-site VPN gateway, on-premises site and IPsec connection: the smoke and data checks its DR profile declares (components/vpn_gateway.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "vpn_gateway"

CHECKS = (
    smoke(COMPONENT, "gateway-provisioned", plane="management"),
    smoke(COMPONENT, "connection-connected", plane="management"),
    data(COMPONENT, "routes-learned", plane="management"),
)
