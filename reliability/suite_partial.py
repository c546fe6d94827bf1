"""A component that fails for good skips its dependents with the reason, independent branches complete, the run ends partial (exit 1) and the report says what is and is not recovered.

Full count = CI's count: the cases of tests/integration/test_partial_failure.py (see reliability/pytest_suite.py).
"""

from __future__ import annotations

from pathlib import Path

from reliability.pytest_suite import run_test_files


def run(full: bool, workdir: Path) -> dict:
    return run_test_files("partial failure", ["tests/integration/test_partial_failure.py"], workdir)
