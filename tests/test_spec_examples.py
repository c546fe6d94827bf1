"""A clone without the REST API spec examples (../shared/fixtures): the tests that read them are
skipped with one line saying how to get them; with DRCTL_REQUIRE_SPEC_EXAMPLES (CI) they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READS_EXAMPLES = "tests/orchestrator/targets/azure/test_smoke.py"


def pytest_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DRCTL_REQUIRE_SPEC_EXAMPLES"}
    environment.update(DRCTL_SHARED_DIR=str(tmp_path / "no-shared"), **env)
    # Not -q: the note is in pytest's header, as `./dev test` prints it.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", READS_EXAMPLES],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)


def test_without_the_examples_their_tests_skip_and_one_line_says_how_to_get_them(tmp_path):
    done = pytest_run(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    notes = [line for line in done.stdout.splitlines() if line.startswith("note: the Azure REST API spec examples")]
    assert len(notes) == 1 and "github.com/Azure/azure-rest-api-specs" in notes[0] and "DRCTL_SHARED_DIR" in notes[0]
    summary = done.stdout.strip().splitlines()[-1]
    assert " skipped" in summary and "failed" not in summary and "error" not in summary


def test_ci_turns_their_absence_into_a_failure(tmp_path):
    done = pytest_run(tmp_path, DRCTL_REQUIRE_SPEC_EXAMPLES="1")
    assert done.returncode != 0
    assert "DRCTL_REQUIRE_SPEC_EXAMPLES is set" in done.stdout
