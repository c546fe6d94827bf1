"""The test tree mirrors the code (tests/<package>/test_<module>.py; the emulator suites in
tests/integration/). Test modules are imported by path (`--import-mode=importlib`, pyproject.toml),
so two folders may hold a test_<stem>.py each; the shared helpers beside this file
(service_harness.py, pulumi_mocks.py, azure_fixtures.py, ...) are importable from any of them."""

import os
import sys
from pathlib import Path

import pytest

HELPERS = str(Path(__file__).resolve().parent)
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)

# Drills in tests carry a small dataset (orchestrator/targets/local/prelude.py): dozens of them run,
# and what they check does not depend on its size; tests of the default dataset unset it. Set in the
# environment, so the drills tests start as `drctl` processes get it too.
os.environ.setdefault("DRCTL_DRILL_DATASET", "small")


def pytest_report_header(config) -> str | None:
    """One line when the REST API spec examples are missing: where to get them (the tests that read
    them skip, or fail where DRCTL_REQUIRE_SPEC_EXAMPLES is set, as in CI)."""
    from azure_fixtures import MISSING, examples_present

    return None if examples_present() else f"note: {MISSING}"


@pytest.fixture(scope="session")
def repo_graphs():
    """The repository stacks' graphs, each captured once a session (tests/repo_graphs.py)."""
    from repo_graphs import RepoGraphs

    return RepoGraphs()
