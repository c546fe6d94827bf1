"""`drctl status`: where a run stands, read from its journal; a run whose journal has no end yet is
told apart as still in progress or abandoned (killed before it could write one) by its stack lease
(orchestrator/run/liveness.py)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import BadInput
from orchestrator.run.rundir import RunDir


def status_command(run_dir: Path) -> dict:
    from orchestrator.engine.journal import JournalCorrupt
    from orchestrator.engine.scheduler import status_from_journal
    from orchestrator.run.liveness import liveness

    run_dir = Path(run_dir)
    if not RunDir(run_dir).journal.is_file():
        raise BadInput(f"RUN: no {RunDir.JOURNAL} in {run_dir}")
    try:
        document = status_from_journal(run_dir)
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
    if document["outcome"] is None:  # an ended run's journal says all there is
        document["liveness"] = liveness(RunDir(run_dir))
    else:
        document.update(_component_truth(RunDir(run_dir)))
    document.update(_restore_points(RunDir(run_dir)))
    return document


def _restore_points(run: RunDir) -> dict:
    """The recovery point asked for (run.json) and, per rehydrate step that restored a backup
    generation, which one and its point: the same words the report and the evidence use."""
    from orchestrator.engine.journal import Journal

    try:
        asked = run.read_run().get("recovery_point")
    except (OSError, ValueError, BadInput):
        asked = None
    restored = [{"step": step_id, "backup_generation": rec.outputs["backup_generation"],
                 "backup_point": rec.outputs.get("backup_point")}
                for step_id, rec in Journal.open(run.path).state.steps.items()
                if (rec.outputs or {}).get("backup_generation")]
    return {"recovery_point": asked, "restored": restored}


def _component_truth(run: RunDir) -> dict:
    """What the run's report says of each component (recovered, failed, not_exercised), so status
    never tells more than the report: a step that succeeded only as declared is not a recovery."""
    import json

    try:
        report = json.loads(run.report_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {"outcome_line": report.get("outcome_line"),
            "components": [{"name": c["name"], "status": c["status"]} for c in report.get("components", [])]}
