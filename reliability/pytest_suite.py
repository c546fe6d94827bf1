"""Suites whose full count is a test file: run it with pytest as a child process and report its cases.

Concurrency, partial failure, the security baseline and state off the executor's machine are
proven by integration tests that already run at full count in CI (they are few and each is a
real drill or a real Azurite); `python -m reliability` runs the same files so its one command
prints every item's figures. The cases come from pytest's JUnit XML, not from its exit code alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

PROJECT_DIR = Path(__file__).resolve().parents[1]
TIMEOUT_S = 1800


def run_test_files(suite: str, files: list[str], workdir: Path, env: dict[str, str] | None = None) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    junit = workdir / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *files]
    try:
        proc = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=TIMEOUT_S,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"suite": suite, "outcome": "failed", "figures": {"cases": 0},
                "notes": [f"{' '.join(files)}: no answer within {TIMEOUT_S}s"]}
    cases = [case for test_suite in _suites(junit) for case in test_suite]
    failed = [case for case in cases if any(isinstance(r, (Failure, Error)) for r in case.result)]
    skipped = [case for case in cases if any(isinstance(r, Skipped) for r in case.result)]
    notes = [f"failed: {case.classname}.{case.name}" for case in failed]
    if proc.returncode != 0 and not failed:
        notes.append(f"pytest exit {proc.returncode}: {proc.stdout.strip().splitlines()[-1:] or proc.stderr[-300:]}")
    notes += [f"skipped: {case.name}: {_reason(case)}" for case in skipped]
    passed = len(cases) - len(failed) - len(skipped)
    return {"suite": suite, "outcome": "passed" if proc.returncode == 0 and cases and not skipped else "failed",
            "figures": {"test files": len(files), "cases": len(cases), "passed": passed,
                        "failed": len(failed), "skipped": len(skipped)},
            "notes": [f"reproduce: .venv/bin/python -m pytest {' '.join(files)}", *notes]}


def _suites(junit: Path) -> list:
    if not junit.exists():
        return []
    xml = JUnitXml.fromfile(str(junit))
    return [xml] if isinstance(xml, TestSuite) else list(xml)


def _reason(case) -> str:
    return next((r.message or "" for r in case.result if isinstance(r, Skipped)), "")
