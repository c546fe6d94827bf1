"""Event Hubs namespace and hubs: the smoke and data checks its DR profile declares (components/event_hubs.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "event_hubs"

CHECKS = (
    smoke(COMPONENT, "send-receive-event"),
    data(COMPONENT, "hubs-and-partitions", plane="management"),
    data(COMPONENT, "replayed-event-count"),
)
