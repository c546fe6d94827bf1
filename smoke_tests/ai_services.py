"""Azure AI Services account and model deployments: the smoke and data checks its DR profile declares (components/ai_services.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "ai_services"

CHECKS = (
    smoke(COMPONENT, "account-provisioned", plane="management"),
    smoke(COMPONENT, "deployments-list", plane="management"),
    smoke(COMPONENT, "inference-one-token"),
    data(COMPONENT, "deployment-parity", plane="management"),
)
