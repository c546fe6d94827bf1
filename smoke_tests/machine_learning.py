"""Azure Machine Learning workspace: the smoke and data checks its DR profile declares (components/machine_learning.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "machine_learning"

CHECKS = (
    smoke(COMPONENT, "workspace-provisioned", plane="management"),
    smoke(COMPONENT, "models-list"),
    smoke(COMPONENT, "datastores-list"),
    data(COMPONENT, "asset-parity"),
)
