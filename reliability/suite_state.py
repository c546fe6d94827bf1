"""--state-url: the journal and evidence in an Azurite container under ETag conditions and a blob lease; a drill SIGKILLed mid-run resumed from a second working folder.

Full count = CI's count: the cases of tests/integration/test_state_store.py (see reliability/pytest_suite.py).
"""

from __future__ import annotations

from pathlib import Path

from reliability.pytest_suite import run_test_files


def run(full: bool, workdir: Path) -> dict:
    return run_test_files("state off the machine", ["tests/integration/test_state_store.py"], workdir)
