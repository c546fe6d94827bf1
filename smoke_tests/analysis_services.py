"""Azure Analysis Services server: the smoke and data checks its DR profile declares (components/analysis_services.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "analysis_services"

CHECKS = (
    smoke(COMPONENT, "analysis-server-succeeded", plane="management"),
    smoke(COMPONENT, "xmla-connect"),
    data(COMPONENT, "model-refresh"),
)
