"""A failover's run directory as a drctl killed mid-run leaves it: run.json and plan.json written,
the journal for the test to fill. No tests here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.run.rundir import utc_now
from orchestrator.verbs.plan import plan_command


def crashed_failover(work: Path, project_dir: Path, stack: str) -> tuple[Path, dict[str, Any]]:
    """(the run directory under `work`, the plan's JSON) of a failover that died after it started."""
    plan_json = plan_command(project_dir, stack)
    run_dir = work / "runs" / stack / "failover-crashed"
    (run_dir / "evidence").mkdir(parents=True)
    declared = utc_now()
    write_json_atomic(run_dir / "run.json", {"run_id": run_dir.name, "kind": "failover", "stack": stack,
                                             "declared_at": declared, "disaster_at": declared,
                                             "targets": {"rto_s": 14400, "rpo_s": 3600}})
    write_json_atomic(run_dir / "plan.json", plan_json)
    return run_dir, plan_json
