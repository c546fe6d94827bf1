"""How the suites run drctl: a child process of this Python, as `python -m orchestrator.cli`, so a
suite exercises exactly the checkout it runs from; and what they note when it ends otherwise than
expected."""

from __future__ import annotations

import sys

DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def why_it_failed(stderr: str) -> str:
    """What a drctl run that ended otherwise than expected said went wrong: its lines naming a
    failure, else its last lines (a run's last lines are the evidence's signing key, not the cause)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    failing = [line for line in lines if any(word in line.lower() for word in ("fail", "error", "timed out", "refused"))]
    return " | ".join(failing[:4] or lines[-3:])[-900:]
