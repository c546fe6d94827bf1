"""Running a component's smoke checks on the local region pair: every check the profile declares
that runs locally, through its Check object, against the store's probe. A component none of whose
checks runs locally is declared, not exercised: never reported as passed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from components.profile import DRProfile
from orchestrator.model import PermanentError, StepOutcome
from smoke_tests.check import PLANE_KEYS, Check, Target

NOT_EXERCISED = "declared, not exercised locally: no local emulator for this service"


def run_smoke(profile: DRProfile, probe: Callable[[], Any],
              errors: Callable[[str], AbstractContextManager[None]]) -> StepOutcome:
    """`probe` builds what the checks run against; `errors` turns the store's SDK errors into the engine's."""
    checks = [check for check in profile.smoke_checks if check.runs_on_target(Target.LOCAL) and check.function]
    if not checks:
        return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
    results: dict[str, dict] = {}
    with errors("smoke test"):
        for check in checks:
            assert check.function is not None
            results[check.name] = check.function(probe())
    # One check: its result is the evidence, as the smoke test reports it; several: one entry each.
    evidence: dict[str, Any] = (dict(next(iter(results.values()))) if len(results) == 1
                                else _by_plane(checks, results))
    skipped = [check.name for check in profile.smoke_checks if check.name not in results]
    if skipped:  # declared, with nothing here to run them against (a factory's provisioning state)
        evidence["not_exercised"] = skipped
    # Checks of the ServiceProbe kind return their evidence and raise when they fail: no "checks" list.
    failed = [c["check"] for result in results.values() for c in result.get("checks", ()) if not c["ok"]]
    if failed:
        raise PermanentError("smoke test failed: " + ", ".join(failed), evidence)
    return StepOutcome(evidence=evidence)


def _by_plane(checks: list[Check], results: dict[str, dict]) -> dict[str, dict]:
    """Each result under the plane its check calls, as on Azure (data_plane, management_checks, ...)."""
    grouped: dict[str, dict] = {}
    for check in checks:
        grouped.setdefault(PLANE_KEYS[check.plane], {})[check.name] = results[check.name]
    return grouped
