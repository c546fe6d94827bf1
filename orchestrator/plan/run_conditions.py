"""What makes two runs' step durations comparable, as each history line records it.

A step that took 30 s on ten times the data, or under injected faults (every retry and Retry-After
counted), is not slower than the 3 s it took before: judging one against the other flags regressions
that are not there. So each line says its target, the dataset's scale (`--scale`; None for a failover
on Azure, which has no synthetic dataset), the faults injected (the `--inject-faults` settings, or
None) and the drctl and plan versions it ran with. Regressions are judged only between runs of the
same target and scale without faults; a run with faults is recorded, but is neither a baseline nor
flagged, nor does it set an estimate.

Lines written before these fields existed say neither scale nor faults: they are compared only with
each other, never with a newer line, since what they ran with cannot be known.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from typing import Any

from orchestrator.engine.journal_state import JournalState

PACKAGE = "azure-dataplatform-dr"  # drctl's distribution name (pyproject.toml)
BEFORE_CONDITIONS = "recorded before scale and faults were"


def run_conditions(run: dict[str, Any], state: JournalState) -> dict[str, Any]:
    """The fields of a history line that say what the run's durations can be compared with."""
    faults = run.get("faults")
    return {
        "scale": run.get("scale"),
        "faults": faults if isinstance(faults, dict) else None,
        "drctl_version": _drctl_version(),
        "plan_sha256": _plan_digest(state.plan),
    }


def _drctl_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return None


def _plan_digest(plan: dict[str, Any] | None) -> str | None:
    if plan is None:
        return None
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_before_conditions(line: dict[str, Any]) -> bool:
    """A line of the older kind: no `faults` key at all (a newer line says None)."""
    return "faults" not in line


def faults_injected(line: dict[str, Any]) -> bool:
    faults = line.get("faults")
    # --inject-faults 0 installs an injector that never fires: the run met no fault.
    return isinstance(faults, dict) and float(faults.get("rate", 1) or 0) > 0


def comparison_key(line: dict[str, Any]) -> tuple[Any, ...] | None:
    """Lines with equal keys are comparable; None for a run with faults, comparable with none."""
    if recorded_before_conditions(line):
        return (BEFORE_CONDITIONS, line.get("target"))
    if faults_injected(line):
        return None
    return (line.get("target"), line.get("scale"))
