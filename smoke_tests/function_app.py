"""Azure Functions app (Elastic Premium, Linux): the smoke and data checks its DR profile declares (components/function_app.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import smoke

COMPONENT = "function_app"

CHECKS = (
    smoke(COMPONENT, "function-app-running", plane="management"),
    smoke(COMPONENT, "function-health-endpoint"),
)
