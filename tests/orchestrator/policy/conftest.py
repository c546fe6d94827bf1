"""The mock runtime's graph of each repository stack the policy pack's tests run the policies over."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.program.capture import capture_graph

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def graphs():
    return {stack: capture_graph(REPO, stack) for stack in ("primary", "secondary", "reference")}
