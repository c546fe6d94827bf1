"""Azure IoT Hub: the smoke and data checks its DR profile declares (components/iot_hub.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "iot_hub"

CHECKS = (
    smoke(COMPONENT, "hub-active", plane="management"),
    smoke(COMPONENT, "endpoint-health", plane="management"),
    data(COMPONENT, "device-count"),
)
