"""docs/reference/security-baseline.md names every rule, listed type, exception and declined item the
code has: a rule or exception added without its line on the page fails here."""

from __future__ import annotations

import re
from pathlib import Path

from components.diagnostics import SUPPORTED
from orchestrator.program.baseline import CUSTOM, DECLINED, EXCEPTIONS, RULES
from orchestrator.program.rules import AUDITING, DIAGNOSTICS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "security-baseline.md"


def _section(title: str) -> str:
    return PAGE.read_text(encoding="utf-8").split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _first_cells(section: str) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^\| ([^|]+) \|", section, re.M)} - {"rule", "resource", "hardening", "type", "---"}


def test_every_rule_has_its_row():
    rules = {e.rule for e in RULES} | {c.rule for c in CUSTOM} | {DIAGNOSTICS, AUDITING}
    assert _first_cells(_section("Rules")) == rules


def test_every_listed_type_is_in_the_diagnostic_settings_table():
    named = set(re.findall(r"`([a-z]+:[A-Za-z]+)`", _section("Diagnostic settings")))
    assert named >= {token.removeprefix("azure-native:") for token in SUPPORTED}


def test_every_exception_and_declined_item_has_its_row():
    exceptions = _section("Justified exceptions")
    assert all(f"`{e.name}`" in exceptions for e in EXCEPTIONS)
    assert {(e.name, e.rule) for e in EXCEPTIONS} <= {
        (name, rule.strip()) for cell, rule in re.findall(r"^\| ([^|]+) \| ([^|]+) \|", exceptions, re.M)
        for name in re.findall(r"`([^`]+)`", cell)}
    assert _first_cells(_section("Declined hardening")) == {d.hardening for d in DECLINED}
