"""`drctl fallback --stack primary` on Azure (orchestrator/verbs/fallback.py run_azure_fallback): the
preconditions of a failover, then the fallback plan in a run directory of the primary stack, through
the engine and journal to the report. The steps themselves are test_azure_fallback.py's; the CLI's
one-line refusals are in test_fallback.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_pulumi import scenario as fake

from orchestrator.errors import BadInput
from orchestrator.model import StepKind, StepOutcome
from orchestrator.stack import load_stack
from orchestrator.targets.azure.preconditions import Preconditions
from orchestrator.verbs.fallback import run_azure_fallback
from tests.azure_fixtures import SUBSCRIPTION

REPO = Path(__file__).resolve().parents[4]


# -- the command: preconditions, then a run of its own on the primary stack -------------------------------
def test_the_command_runs_the_fallback_plan_in_a_run_directory_of_the_primary(tmp_path, monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    seen: list[str] = []

    def factory(**given):
        assert (given["config"].stack, given["secondary_config"].stack) == ("primary", "secondary")
        assert given["subscription"] == SUBSCRIPTION and given["command"] == fake.FAKE_BIN

        def runner(step, _context):
            seen.append(step.id)
            return StepOutcome(outputs={"handover_at": "2026-01-01T00:00:00.000Z"} if step.kind == StepKind.HANDOVER
                               else {}, evidence={"ran": step.id})
        return runner

    summary = run_azure_fallback(load_stack(REPO, "primary"), load_stack(REPO, "secondary"), workdir=tmp_path / "work",
                                 workers=2, steps_factory=factory,
                                 preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN,
                                                             check_credentials=lambda: None))
    run_dir = Path(summary["run_dir"])
    assert summary["outcome"] == "recovered" and run_dir.parent == (tmp_path / "work" / "runs" / "primary").resolve()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["kind"] == "fallback-azure" and run["secondary_stack"] == "secondary"
    assert run["fallback"] == {"parallel_run_minutes": 60, "secondary_strategy": "strip-back", "traffic_switch": "manual"}
    planned = [s["id"] for s in json.loads((run_dir / "plan.json").read_text())["steps"]]
    assert sorted(seen) == sorted(planned) and seen[-1] == "secondary.decommission"
    assert seen.index("platform.gate") < seen.index("platform.switch") < seen.index("platform.handover")
    assert "platform.switch" in (run_dir / "report.md").read_text()


def test_without_a_subscription_the_command_stops_before_a_run_exists(tmp_path, monkeypatch):
    for name in ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)

    def never(**_given):
        raise AssertionError("no step may run")

    with pytest.raises(BadInput, match=r"^no Azure subscription for stack 'primary': set azure-native:subscriptionId"):
        run_azure_fallback(load_stack(REPO, "primary"), load_stack(REPO, "secondary"), workdir=tmp_path / "work",
                           steps_factory=never,
                           preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None))
    assert not (tmp_path / "work").exists()
