"""The crash-and-resume suite at its CI count (reliability/suite_crash.py; the full count is
`python -m reliability --only crash`), and the DRCTL_TEST_KILL_AT hook it relies on.

The suite kills real `drctl drill --local` processes with SIGKILL (in the prelude, at a step
boundary, inside a running step, after run_finished), tears two of the journals, resumes each
run with `drctl resume` and checks the journal and the validation. Its workdir comes from
tempfile.mkdtemp, not pytest's tmp_path: the emulators' PostgreSQL runs as another user.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from orchestrator.engine.crashpoint import KillSwitch
from orchestrator.errors import BadInput
from reliability import suite_crash
from reliability.crash_support import journal_records, tear


@pytest.mark.integration
def test_every_killed_drill_resumes_to_an_exact_recovery_without_rerunning_a_succeeded_step():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-crash-"))
    try:
        result = suite_crash.run(full=False, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures, cases = result["figures"], result["cases"]
    assert result["outcome"] == "passed", result["notes"]
    assert figures["kill points"] == len(cases) == 4  # every drill really died of SIGKILL
    assert figures["kill points at step boundaries"] == 2
    assert figures["kill points in the prelude"] == 1
    assert figures["kill points inside steps"] == 1
    assert figures["inside kills that landed while the step ran"] == 1, cases
    assert figures["resumed ok"] == 4
    assert figures["steps re-run after success"] == 0
    assert figures["torn journals injected"] == 2
    assert figures["torn journals handled"] == 2 + figures["torn journals by the kill itself"]
    assert figures["exact validations"] == 4
    assert figures["processes left after resume"] == 0
    prelude = next(c for c in cases if c["where"] == "prelude")
    assert prelude["landed"] == "prelude", "the prelude kill landed after the disaster was staged"
    boundary = next(c for c in cases if c["point"] == "lake.rehydrate:end")
    assert "lake.rehydrate" not in boundary["landed"]  # its success was journaled before the kill


@pytest.mark.integration
@pytest.mark.parametrize("point", [suite_crash.Point("boundary", "lake.deploy:end"),
                                   suite_crash.Point("inside", "postgres.deploy:0.1", tear="partial")],
                         ids=["after lake.deploy", "inside postgres.deploy"])
def test_a_drill_killed_around_a_deploy_step_resumes_and_deploys_what_is_missing(point):
    # The secondary's servers are started by their deploy steps: a resumed run restarts the ones a
    # step had started and leaves the others to their step, which runs again (a killed initdb too).
    workdir = Path(tempfile.mkdtemp(prefix="drctl-crash-deploy-"))
    try:
        case = suite_crash.run_case(point, workdir / "case")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert case["killed"] and case["ok"], case["problems"]
    assert case["reruns"] == 0 and case["exact"] and case["leftover"] == 0
    if point.where == "inside":
        assert case["landed_inside"], case["landed"]


def test_the_kill_hook_parses_its_points_and_refuses_bad_ones():
    assert KillSwitch("lake.rehydrate:end").delay_s is None
    assert KillSwitch("lake.rehydrate:0.25").delay_s == 0.25
    assert KillSwitch("run:end").step == "run"
    for bad in ("lake.rehydrate", ":end", "lake.rehydrate:soon", "lake.rehydrate:-1", "run:0.5"):
        with pytest.raises(BadInput):
            KillSwitch(bad)


def test_a_kill_hook_for_another_step_does_nothing():
    switch = KillSwitch("lake.rehydrate:end")
    switch({"event": "step_succeeded", "step": "postgres.rehydrate"})  # still alive to assert
    switch({"event": "run_finished", "outcome": "recovered"})


def test_tearing_a_journal_leaves_a_torn_tail_and_every_earlier_record_intact(tmp_path):
    lines = [b'{"seq":1,"event":"run_started"}', b'{"seq":2,"event":"step_started","step":"a"}']
    path = tmp_path / "journal.jsonl"
    for kind in ("cut", "partial"):
        path.write_bytes(b"\n".join(lines) + b"\n")
        tear(path, kind)
        records, tail = journal_records(tmp_path)
        assert tail and not path.read_bytes().endswith(b"\n")
        assert [r["seq"] for r in records] == ([1] if kind == "cut" else [1, 2])
