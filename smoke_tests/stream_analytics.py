"""Azure Stream Analytics job: the smoke and data checks its DR profile declares (components/stream_analytics.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "stream_analytics"

CHECKS = (
    smoke(COMPONENT, "job-running", plane="management"),
    smoke(COMPONENT, "input-output-test", plane="management"),
    data(COMPONENT, "output-watermark-advancing", plane="management"),
)
