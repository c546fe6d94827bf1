"""A second run on a stack refused naming the running one; a dead holder's lease taken over; --break-lease recorded in the evidence.

Full count = CI's count: the cases of tests/integration/test_lease.py (see reliability/pytest_suite.py).
"""

from __future__ import annotations

from pathlib import Path

from reliability.pytest_suite import run_test_files


def run(full: bool, workdir: Path) -> dict:
    return run_test_files("concurrency", ["tests/integration/test_lease.py"], workdir)
