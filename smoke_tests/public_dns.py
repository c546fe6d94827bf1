"""Azure DNS public zone and the platform's entry-point records: the smoke and data checks its DR profile declares (components/public_dns.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "public_dns"

CHECKS = (
    smoke(COMPONENT, "zone-name-servers", plane="public"),
    smoke(COMPONENT, "records-resolve", plane="public"),
)
