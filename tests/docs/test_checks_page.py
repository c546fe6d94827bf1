"""docs/reference/checks.md lists every declared check exactly as the Check objects declare it."""

from __future__ import annotations

import re
from pathlib import Path

from components.catalog import CATALOG
from components.registry import SERVICES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "checks.md"
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (smoke|data) \| (yes|no) \| ([^|]+) \| ([^|]+) \|$")


def test_the_checks_table_is_the_check_objects():
    section = PAGE.read_text(encoding="utf-8").split("## Checks per service", 1)[1]
    listed = {match.groups() for match in map(ROW.match, section.splitlines()) if match}
    declared = {
        (check.component, check.name, str(check.kind), "yes" if check.implemented else "no",
         ", ".join(sorted(str(target) for target in check.runs_on)) or "-", check.tested_against or "-")
        for profile in [spec.profile for spec in SERVICES] + list(CATALOG)
        for check in profile.checks
    }
    assert {(*row[:4], row[4].strip(), row[5].strip()) for row in listed} == declared
