"""The measured RTO's window and the deploy steps in it (orchestrator/report/rto_window.py), on real
engine runs with a fake clock (tests/report_runs.py): report.json, the JSON summary and report.md."""

from __future__ import annotations

import json

from report_runs import run_and_finish, step

from orchestrator.model import PermanentError, Plan, StepKind, StepOutcome
from orchestrator.report.rto_window import rto_window_line

PLAN = Plan("secondary", (
    step("lake.deploy", StepKind.DEPLOY),
    step("foundation.deploy", StepKind.DEPLOY),
    step("lake.rehydrate", StepKind.REHYDRATE, ("lake.deploy",)),
    step("platform.handover", StepKind.HANDOVER, ("lake.rehydrate", "foundation.deploy")),
), rto_target_s=3600, rpo_target_s=900)


def _declared_only(s, clock) -> StepOutcome:
    return StepOutcome(exercised=False)


def test_the_deploy_steps_lie_inside_the_rto_when_the_clock_starts_at_the_disaster(tmp_path):
    run = run_and_finish(tmp_path, PLAN, {"lake.deploy": 2.0, "foundation.deploy": _declared_only,
                                          "lake.rehydrate": 1.0, "platform.handover": 0.5},
                         disaster_before_s=5.0)
    report = json.loads((run.run_dir / "report.json").read_text())
    window = report["rto_window"]
    steps = {s["step"]: s for s in window["deploy_steps"]}
    assert set(steps) == {"lake.deploy", "foundation.deploy"}
    lake = steps["lake.deploy"]
    assert (lake["started_after_disaster_s"], lake["finished_after_disaster_s"]) == (5.0, 7.0)
    assert lake["inside"] is True and lake["exercised"] is True and steps["foundation.deploy"]["exercised"] is False
    assert window["deploy_inside"] is True and window["seconds"] == report["rto_s"] == 8.5
    assert run.summary["rto_window"] == window  # the drill's --json carries it too
    line = "the deploy steps are inside it: lake.deploy +5.00 s to +7.00 s (and 1 declared only)"
    assert line in (run.run_dir / "report.md").read_text()
    assert line in (run.run_dir / "report.html").read_text()


def test_a_deploy_that_started_before_the_disaster_is_not_inside_the_rto(tmp_path):
    # the local drill before issue 15: the secondary region was up before the disaster was declared
    run = run_and_finish(tmp_path, PLAN, {"lake.deploy": 2.0, "lake.rehydrate": 1.0}, disaster_before_s=-1.0)
    window = json.loads((run.run_dir / "report.json").read_text())["rto_window"]
    lake = next(s for s in window["deploy_steps"] if s["step"] == "lake.deploy")
    assert lake["started_after_disaster_s"] == -1.0 and lake["inside"] is False
    assert window["deploy_inside"] is False
    assert "the deploy steps are NOT all inside it" in (run.run_dir / "report.md").read_text()


def test_without_a_handover_there_is_no_window_to_claim(tmp_path):
    def fails(s, clock):
        raise PermanentError("copy refused")

    run = run_and_finish(tmp_path, PLAN, {"lake.rehydrate": fails}, disaster_before_s=5.0)
    window = json.loads((run.run_dir / "report.json").read_text())["rto_window"]
    assert window["seconds"] is None and window["deploy_inside"] is None
    assert all(s["inside"] is None for s in window["deploy_steps"])
    assert rto_window_line(window) is None
    assert "deploy steps are" not in (run.run_dir / "report.md").read_text()
