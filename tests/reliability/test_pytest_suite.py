"""reliability/pytest_suite.py: the cases of a test file, counted from pytest's JUnit XML."""

from __future__ import annotations

from reliability.__main__ import suites
from reliability.pytest_suite import run_test_files

CASES = '''
import pytest

def test_holds():
    assert 1 + 1 == 2

def test_breaks():
    assert "lease" == "no lease"

def test_stays_out():
    pytest.skip("no emulator")
'''


def test_failures_and_skips_are_counted_and_fail_the_suite(tmp_path):
    tests = tmp_path / "cases"
    tests.mkdir()
    (tests / "test_cases.py").write_text(CASES)
    result = run_test_files("sample", [str(tests / "test_cases.py")], tmp_path)
    assert result["outcome"] == "failed"
    assert result["figures"] == {"test files": 1, "cases": 3, "passed": 1, "failed": 1, "skipped": 1}
    assert any(note.startswith("failed:") and "test_breaks" in note for note in result["notes"])
    assert any("test_stays_out: no emulator" in note for note in result["notes"])


def test_a_file_that_passes_whole_passes(tmp_path):
    (tmp_path / "test_ok.py").write_text("def test_one():\n    assert True\n\ndef test_two():\n    assert [1]\n")
    result = run_test_files("sample", [str(tmp_path / "test_ok.py")], tmp_path)
    assert (result["outcome"], result["figures"]["cases"], result["figures"]["passed"]) == ("passed", 2, 2)


def test_every_item_of_the_issue_has_a_suite():
    assert {"bad_input", "faults", "crash", "backups", "secrets", "concurrency", "partial", "baseline",
            "state"} <= set(suites())
