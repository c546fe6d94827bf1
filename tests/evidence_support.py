"""A sealed run directory for the evidence tests (tests/orchestrator/evidence/), laid out as drctl lays
one out (`<workdir>/runs/<stack>/<run-id>/`), and `drctl` run as its own process with no signing key
configured from the developer's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.evidence.keys import FILE_ENV, PEM_ENV, URL_ENV

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "drill-20260101T000000Z-abc123"


def a_run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "work" / "runs" / "secondary" / RUN_ID
    (run_dir / "evidence").mkdir(parents=True)
    (run_dir / "journal.jsonl").write_text('{"seq":1}\n')
    (run_dir / "evidence" / "lake.validate.json").write_text('{"exact": true}')
    (run_dir / "report.md").write_text("# report\n\nRecovered.\n")
    return run_dir


def a_run_waiting_at_its_gate(tmp_path: Path) -> Path:
    """A run stopped at its gate, sealed as such a run is: a plan with one gate, `platform.gate`, that
    the journal says waits (as `drill --require-approval` leaves it)."""
    from orchestrator.engine.journal import Journal
    from orchestrator.engine.journal_state import Event
    from orchestrator.evidence.chain import seal
    from orchestrator.model import Plan, Step, StepKind
    from orchestrator.plan.recovery import plan_to_json

    run_dir = a_run_dir(tmp_path)
    (run_dir / "journal.jsonl").unlink()
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_dir.name, "kind": "drill-local", "stack": "secondary"}))
    plan = plan_to_json(Plan("secondary", (Step("platform.gate", "platform", StepKind.GATE, (), 1.0),), 3600.0, 900.0))
    (run_dir / "plan.json").write_text(json.dumps(plan))
    with Journal.open(run_dir) as journal:
        journal.append(Event.RUN_STARTED, plan=plan)
        journal.append(Event.STEP_WAITING, step="platform.gate", reason="waits for approval")
        journal.append(Event.RUN_FINISHED, outcome="waiting")
    seal(run_dir)
    return run_dir


def contacts():
    """The project's contacts file: Indy Example is a technical approver (platform.gate)."""
    from orchestrator.run.approvers import read_contacts_file

    return read_contacts_file(REPO / "dr" / "contacts.yaml", "dr/contacts.yaml")


def workdir_public_key(run_dir: Path) -> Path:
    return run_dir.parents[2] / "keys" / "evidence-signing-key.pem.pub"


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (FILE_ENV, PEM_ENV, URL_ENV)}
    return {**env, "NO_COLOR": "1", **extra}


def drctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env or clean_environment(), timeout=120)
