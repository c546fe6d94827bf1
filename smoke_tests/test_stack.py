"""The checks drctl runs, as pytest tests over a deployed stack's outputs: one test per implemented
check of every deployed component (conftest.py), each given the probe its service's checks take."""

from __future__ import annotations

import pytest

from smoke_tests.check import Check, CheckKind, SameFact
from smoke_tests.hand import HandStack, not_by_hand


def test_check(check: Check, hand_stack: HandStack) -> None:
    reason = not_by_hand(check)
    if reason:
        pytest.skip(reason)
    assert check.function is not None and not isinstance(check.function, SameFact)
    probe = hand_stack.probe(check.component)
    if check.kind == CheckKind.SMOKE:
        result = check.function(probe)
        failed = [c["check"] for c in result.get("checks", []) if not c["ok"]] if isinstance(result, dict) else []
        assert not failed and (not isinstance(result, dict) or result.get("ok", True)), f"failed checks: {failed}"
    else:
        mismatches, facts = check.function(probe)
        assert not mismatches, f"{len(mismatches)} mismatch(es): {mismatches[:5]} (facts: {facts})"
