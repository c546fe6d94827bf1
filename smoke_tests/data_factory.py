"""Azure Data Factory and the repository's pipelines: the smoke and data checks its DR profile declares (components/data_factory.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "data_factory"

CHECKS = (
    smoke(COMPONENT, "factory-provisioned", plane="management"),
    smoke(COMPONENT, "pipeline-parity", plane="management"),
    smoke(COMPONENT, "smoke-pipeline-run", plane="management"),
)
