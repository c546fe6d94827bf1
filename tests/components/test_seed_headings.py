"""Every seed row says stateful or stateless as the seed's own section headings do (../shared/seeds:
"Stateful foundational components", "Stateless data platform-specific services", ...)."""

from __future__ import annotations

import os
import re

import pytest
from azure_fixtures import REQUIRE, SHARED

from components.catalog import CATALOG
from components.registry import SERVICES

SEEDS = SHARED / "seeds"
HEADING = re.compile(r"#+\s*(Stateful|Stateless)\b", re.IGNORECASE)
SERVICE = re.compile(r"\s*[-*]\s+\*\*(.+?)\*\*")


def seed_headings() -> dict[str, set[bool]]:
    """Service name -> the stateful flags of the headings it is listed under, across the seed files."""
    found: dict[str, set[bool]] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        heading: bool | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if (match := HEADING.match(line)) is not None:
                heading = match.group(1).lower() == "stateful"
            elif line.startswith("## "):
                heading = None
            elif heading is not None and (service := SERVICE.match(line)) is not None:
                found.setdefault(service.group(1).strip(), set()).add(heading)
    return found


def rows() -> list[tuple[str, str, bool]]:
    profiles = [spec.profile for spec in SERVICES] + list(CATALOG)
    return [(p.key, seed.service, seed.seed_stateful(p.stateful)) for p in profiles for seed in p.seed]


def test_every_seed_row_is_stateful_as_its_seed_heading_says():
    if not SEEDS.is_dir():
        # As with the spec examples (tests/azure_fixtures.py): a failure in CI, a skip in a checkout
        # laid out without the reference material beside it.
        if os.environ.get(REQUIRE):
            pytest.fail(f"{REQUIRE} is set and the seeds are not at {SEEDS}")
        pytest.skip(f"the seeds are not at {SEEDS} (set DRCTL_SHARED_DIR)")
    headings = seed_headings()
    assert len(headings) > 40  # the parser read the seed files
    wrong = [(key, service, flag, headings[service]) for key, service, flag in rows()
             if service in headings and headings[service] != {flag}]
    assert wrong == []


def test_the_seeds_services_drctl_models_include_synapse_data_explorer_pools():
    assert "Azure Synapse: Data Explorer Pools" in {service for _, service, _ in rows()}
    assert {"Azure Key Vault": True, "Recovery Services Vault": True, "Azure Stream Analytics": True}.items() <= {
        service: flag for _, service, flag in rows()}.items()
