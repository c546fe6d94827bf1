"""A local smoke step says which declared checks it ran, under the plane each calls, and which it
could not run here."""

from __future__ import annotations

import dataclasses

from components.registry import profile_by_key
from orchestrator.targets.local.checks import run_smoke
from smoke_tests.check import AZURE, LOCAL_AND_AZURE, smoke


def test_checks_not_run_here_are_listed_and_results_go_under_their_plane():
    def answer(probe):
        return {"ok": True, "checks": [{"check": "answered", "ok": True}]}

    checks = (smoke("lake", "canary", answer, LOCAL_AND_AZURE, tested_against="a test"),
              smoke("lake", "state", answer, LOCAL_AND_AZURE, plane="management", tested_against="a test"),
              smoke("lake", "arm-only", answer, AZURE, plane="management", tested_against="a test"))
    profile = dataclasses.replace(profile_by_key("lake"), checks=checks)
    outcome = run_smoke(profile, lambda: None, lambda what: _Nothing())
    assert outcome.exercised
    assert set(outcome.evidence["data_plane"]) == {"canary"}
    assert set(outcome.evidence["management_checks"]) == {"state"}
    assert outcome.evidence["not_exercised"] == ["arm-only"]


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
