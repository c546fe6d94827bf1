"""`drctl plan --fail-over-rto`: a CI gate on the plan's estimate against the stack's RTO."""

from __future__ import annotations

import subprocess
import sys

from project_files import REPO, copy_project, edit_stack


def plan(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--stack", "secondary",
                           "--history-from", "none", "--project-dir", str(project), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_a_plan_over_its_rto_fails_the_gate_and_only_with_the_flag(tmp_path):
    project = copy_project(tmp_path / "project")
    # 30 minutes: under the time the secondary's code estimates put on its critical path (about 2 h).
    edit_stack(project, "secondary", lambda c: c["dataplatform:recovery"].__setitem__("rtoMinutes", 30))
    assert plan(project).returncode == 0  # a report, as before
    gated = plan(project, "--fail-over-rto")
    assert gated.returncode == 1
    assert gated.stderr.strip().endswith("is over the RTO target (1800 s)")


def test_a_plan_within_its_rto_passes_the_gate():
    assert plan(REPO, "--fail-over-rto").returncode == 0  # 240 minutes, about 2 h of critical path
