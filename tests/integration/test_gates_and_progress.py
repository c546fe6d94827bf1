"""Manual gates (technical, then business) and the progress a person sees while a run goes on.

The gate test runs the real local drill with --require-approval: it stops at each gate (exit 1,
handover blocked), `drctl approve` records who signed off (someone dr/contacts.yaml lists for the
gate's role), `drctl resume` goes on, and only after both approvals is the platform handed over;
the evidence names the approvers, and a finished run takes no more approvals.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.engine.progress import ProgressReporter
from orchestrator.model import GateWaiting, StepKind
from orchestrator.run.approvals import auto_approval, recorded_approval
from orchestrator.stack import build_stack_plan

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def test_the_stack_plan_has_a_technical_then_a_business_gate_before_the_handover():
    plan, _, _ = build_stack_plan(REPO, "secondary")
    gates = [s for s in plan.steps if s.kind == StepKind.GATE and s.component == "platform"]
    assert [g.id for g in gates] == ["platform.gate", "platform.business-gate"]
    assert gates[1].depends_on == ("platform.gate",) and "Business validation" in gates[1].description
    assert plan.step("platform.handover").depends_on == ("platform.business-gate",)


def test_a_gate_waits_for_a_recorded_approval_and_an_unattended_one_says_it_was_automatic(tmp_path):
    with pytest.raises(GateWaiting, match=r"drctl approve \S+ platform.gate --by NAME"):
        recorded_approval(tmp_path, "platform.gate")
    (tmp_path / "approvals").mkdir()
    (tmp_path / "approvals" / "platform.gate.json").write_text(json.dumps({"approved_by": "Ada", "note": "ok"}))
    outcome = recorded_approval(tmp_path, "platform.gate")
    assert outcome.outputs["approved_by"] == "Ada" and outcome.evidence["auto_approved"] is False
    auto = auto_approval("drctl (local drill)", "unattended")
    assert auto.evidence == {"approval": "auto-approved: unattended", "auto_approved": True}
    # The platform's gate is drctl's to record; a service's own gate (a person confirming a SaaS
    # service) auto-approved proves nothing about that service: not exercised.
    assert auto.exercised and not auto_approval("drctl", "unattended", "dataverse").exercised


def drctl(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([*DRCTL, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.mark.integration
def test_a_drill_requiring_approval_hands_over_only_after_both_sign_offs():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-gates-"))
    try:
        first = drctl("drill", "--local", "--require-approval", "--workdir", str(workdir))
        assert first.returncode == 1, first.stdout + first.stderr
        run_dir = Path(re.search(r"^run: (.+)$", first.stderr, re.M).group(1))
        assert "outcome: waiting" in first.stdout
        assert f"drctl approve {run_dir.name} platform.gate --by NAME" in first.stdout
        report = json.loads((run_dir / "report.json").read_text())
        assert report["handover"]["complete"] is False and "platform.gate" in report["handover"]["blocked_by"]

        assert drctl("approve", str(run_dir), "platform.gate", "--by", "Indy Example", "--note", "smoke ok").returncode == 0
        second = drctl("resume", str(run_dir))
        assert second.returncode == 1 and "platform.business-gate --by NAME" in second.stdout, second.stdout

        assert drctl("approve", str(run_dir), "platform.business-gate", "--by", "Finley Example").returncode == 0
        third = drctl("resume", str(run_dir))
        assert third.returncode == 0 and "outcome: recovered" in third.stdout, third.stdout + third.stderr
        report = json.loads((run_dir / "report.json").read_text())
        assert report["handover"]["complete"] is True
        for gate, who, role in (("platform.gate", "Indy Example", "technical"),
                                ("platform.business-gate", "Finley Example", "business")):
            evidence = json.loads((run_dir / "evidence" / f"{gate}.json").read_text())
            assert evidence["outputs"]["approved_by"] == who and evidence["evidence"]["auto_approved"] is False
            approval = evidence["evidence"]["approval"]  # who, in which role, known how: the contacts file's
            assert approval["role"] == role and approval["identity"]["established_by"] == "named on the command line"
        # The run has finished: its gates can no longer be approved.
        late = drctl("approve", str(run_dir), "platform.gate", "--by", "Jordan Example")
        assert late.returncode == 2 and "has finished (recovered" in late.stderr, late.stderr
        assert drctl("verify-evidence", str(run_dir)).returncode == 0  # approvals sealed by the last resume
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


EVENTS = [
    {"event": "run_started"},
    {"event": "step_started", "step": "lake.deploy"},
    {"event": "step_started", "step": "postgres.deploy"},
    {"event": "step_succeeded", "step": "lake.deploy", "exercised": True},
    {"event": "step_failed", "step": "postgres.deploy", "error": "boom", "final": False},
    {"event": "step_retrying", "step": "postgres.deploy", "attempt": 1, "error": "boom"},
    {"event": "step_failed", "step": "postgres.deploy", "error": "boom", "final": True},
    {"event": "step_skipped", "step": "postgres.smoke", "reason": "postgres.deploy failed"},
    {"event": "run_finished", "outcome": "partial"},
]


def test_on_a_terminal_a_progress_bar_counts_the_steps_that_ended():
    out = io.StringIO()
    reporter = ProgressReporter(4, done=1, live=True,
                                console=Console(file=out, force_terminal=True, width=120, color_system=None))
    for event in EVENTS:
        reporter(event)
    text = out.getvalue()
    assert "4/4" in text  # one done before (a resume), lake, postgres (final failure), the skipped smoke
    assert "running: lake.deploy, postgres.deploy" in text
    assert "postgres.deploy failed: boom" in text and "postgres.smoke skipped" in text
    assert reporter._bar is None  # closed at run_finished


def test_off_a_terminal_each_transition_is_a_timestamped_line(capsys):
    reporter = ProgressReporter(4, live=False)
    for event in EVENTS:
        reporter(event)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 7 and all(re.match(r"^\d\d:\d\d:\d\d \S+ ", line) for line in lines)
    assert lines[0].endswith("lake.deploy started") and "\x1b[" not in "".join(lines)
