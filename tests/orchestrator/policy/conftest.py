"""The mock runtime's graph of each repository stack the policy pack's tests run the policies over."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def graphs(repo_graphs):
    return {stack: repo_graphs.get(stack) for stack in ("primary", "secondary", "reference")}
