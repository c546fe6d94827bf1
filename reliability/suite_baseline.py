"""Every storage account, vault, database and network rule of every stack meets the design's baseline under the mock runtime; each justified exception still covers exactly one violation.

Full count = CI's count: the cases of tests/orchestrator/program/test_baseline.py (see reliability/pytest_suite.py).
"""

from __future__ import annotations

from pathlib import Path

from reliability.pytest_suite import run_test_files


def run(full: bool, workdir: Path) -> dict:
    return run_test_files("security baseline", ["tests/orchestrator/program/test_baseline.py"], workdir)
