"""SIGTERM during `drctl failover`'s `pulumi up`: a `kill` reaches drctl alone, not the CLI it
started, so drctl cancels the update through the Automation API (`Stack.cancel()`, `pulumi
cancel`); the run then ends interrupted as by Ctrl-C, and drctl does not exit under a CLI still
running. The fake `pulumi` CLI's `up` runs until it is told to stop (tests/fake_pulumi)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from fake_pulumi import scenario as fake

from orchestrator.engine.journal import Journal
from orchestrator.engine.retry import RetryPolicy
from orchestrator.model import StepKind, StepOutcome
from orchestrator.run.rundir import utc_now
from orchestrator.stack import load_stack
from orchestrator.targets.azure.preconditions import Preconditions
from orchestrator.verbs.failover import failover_command

REPO = Path(__file__).resolve().parents[4]
STACK = "secondary"


class DataSteps:
    def factory(self, run_dir, config, graph):
        return self

    def __call__(self, step, context):
        return StepOutcome(outputs={"handover_at": utc_now()} if step.kind == StepKind.HANDOVER else {})


def kill_once_the_update_runs(directory: Path, then: Path | None = None) -> threading.Thread:
    """SIGTERM to this process (as `kill` or a stopped container sends it) once the fake's `up` runs."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not fake.state(directory).get("running") and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        if then is not None:
            time.sleep(1.0)
            then.touch()  # the update goes on to its end by itself

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def failover(tmp_path: Path, monkeypatch, backend: str) -> Path:
    never = tmp_path / "go"
    scenario = fake.write_scenario(tmp_path / "fake", stacks={STACK: {}},
                                   up=[{"events": [fake.prelude(), fake.wait_for(never), fake.summary({})]}])
    for key, value in fake.fake_env(scenario, backend=backend).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "for-the-self-managed-backend")
    monkeypatch.setenv("FAKE_PULUMI_WAIT_MAX_S", "20")  # an update nobody stops ends by itself, and the test fails
    return never


def run(tmp_path: Path) -> None:
    failover_command(load_stack(REPO, STACK), workdir=tmp_path / "work", workers=4,
                     preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None),
                     data_steps=DataSteps().factory, retry=RetryPolicy(sleep=lambda _s: None),
                     preflight=lambda: {"blocked": False, "checks": []})


def run_dir(tmp_path: Path) -> Path:
    [found] = (tmp_path / "work" / "runs" / STACK).iterdir()
    return found


def test_sigterm_cancels_the_running_update_through_the_automation_api(tmp_path, monkeypatch, caplog):
    failover(tmp_path, monkeypatch, fake.SERVICE_BACKEND)
    before = signal.getsignal(signal.SIGTERM)
    watcher = kill_once_the_update_runs(tmp_path / "fake")

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    watcher.join(timeout=10)

    assert ["cancel", "--yes", "--stack", STACK] in fake.calls(tmp_path / "fake")
    state = fake.state(tmp_path / "fake")
    assert [c["stack"] for c in state["cancelled_updates"]] == [STACK]  # the CLI saw it and stopped
    assert state["running"] == {}  # drctl waited for the CLI to end: nothing left holding the stack
    assert state["stacks"][STACK]["history"][0]["result"] == "failed"
    journal = Journal.open(run_dir(tmp_path)).state
    assert journal.outcome == "interrupted"
    deploys = [s for s, r in journal.steps.items() if s.endswith(".deploy") and r.attempts]
    assert deploys and all(journal.steps[s].state == "pending" for s in deploys)  # run again on resume
    assert "SIGTERM: cancelling the running `pulumi up` of stack secondary" in caplog.text
    assert signal.getsignal(signal.SIGTERM) == before


def test_on_a_self_managed_backend_sigterm_waits_for_the_update_instead(tmp_path, monkeypatch, caplog):
    # There `pulumi cancel` would only delete the lock under a CLI that goes on: not issued.
    go = failover(tmp_path, monkeypatch, f"file://{tmp_path / 'state'}")
    watcher = kill_once_the_update_runs(tmp_path / "fake", then=go)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    watcher.join(timeout=10)

    assert not [args for args in fake.calls(tmp_path / "fake") if args[:1] == ["cancel"]]
    state = fake.state(tmp_path / "fake")
    assert state["cancelled_updates"] == [] and state["running"] == {}
    assert state["stacks"][STACK]["history"][0]["result"] == "succeeded"  # it ran to its end, drctl waiting
    assert "only deletes the stack's lock" in caplog.text
    assert Journal.open(run_dir(tmp_path)).state.outcome == "interrupted"
