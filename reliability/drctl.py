"""How the suites run drctl: a child process of this Python, as `python -m orchestrator.cli`, so a
suite exercises exactly the checkout it runs from."""

from __future__ import annotations

import sys

DRCTL = [sys.executable, "-m", "orchestrator.cli"]
