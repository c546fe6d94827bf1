"""RunDir: the one place a run directory's layout is spelled, and reading what a run left there."""

from __future__ import annotations

import json
import os
import re

import pytest

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.errors import BadInput
from orchestrator.run.rundir import RunDir

# The layout runs have written since the first drill, and what `drctl verify-evidence`, `resume`,
# `status` and an auditor read: a rename here breaks every run directory already on disk.
LAYOUT = {
    "run_json": "run.json", "plan_json": "plan.json", "journal": "journal.jsonl", "manifests": "manifests",
    "evidence": "evidence", "approvals": "approvals", "replay": "replay", "report_md": "report.md",
    "report_json": "report.json", "report_html": "report.html", "junit_xml": "junit.xml",
    "versions_json": "versions.json", "sha256sums": "SHA256SUMS", "lease_json": "lease.json",
    "prelude_json": "prelude.json", "preflight_json": "preflight.json", "faults_json": "faults.json",
    "rehearsal_json": "rehearsal.json",
}


@pytest.mark.parametrize("attribute, name", LAYOUT.items())
def test_every_file_has_its_documented_name(tmp_path, attribute, name):
    assert getattr(RunDir(tmp_path), attribute) == tmp_path / name


def test_per_step_files_are_named_by_step(tmp_path):
    run_dir = RunDir(tmp_path)
    assert run_dir.step_evidence("lake.validate") == tmp_path / "evidence" / "lake.validate.json"
    assert run_dir.approval("platform.gate") == tmp_path / "approvals" / "platform.gate.json"
    assert run_dir.manifest("lake.json") == tmp_path / "manifests" / "lake.json"


def test_create_makes_a_new_directory_under_runs_of_the_stack(tmp_path):
    run_dir = RunDir.create(tmp_path / "work", "secondary", "drill")
    assert run_dir.path.parent == (tmp_path / "work" / "runs" / "secondary").resolve()
    assert re.fullmatch(r"drill-\d{8}T\d{6}Z-[0-9a-f]{6}", run_dir.run_id)
    assert run_dir.manifests.is_dir() and run_dir.evidence.is_dir()
    assert run_dir.workdir("secondary") == (tmp_path / "work").resolve()
    assert RunDir.create(tmp_path / "work", "secondary", "drill") != run_dir  # never the same directory twice


def test_a_run_directory_and_all_a_run_writes_there_are_its_owners_alone_whatever_the_umask(tmp_path):
    from orchestrator.model import Plan, Step, StepKind
    from orchestrator.plan.recovery import plan_to_json
    from orchestrator.verbs.approve import approve

    previous = os.umask(0o000)  # the loosest: nothing here may rely on the umask
    try:
        work = tmp_path / "work"
        work.mkdir(mode=0o755)
        work.chmod(0o755)
        run_dir = RunDir.create(work, "secondary", "drill")
        write_json_atomic(run_dir.run_json, {"run_id": run_dir.run_id, "kind": "drill-local", "stack": "secondary"})
        plan = Plan("secondary", (Step("platform.gate", "platform", StepKind.GATE, (), 60),), 3600, 600)
        write_json_atomic(run_dir.plan_json, plan_to_json(plan))
        write_json_atomic(run_dir.step_evidence("lake.deploy"), {"ok": True})
        with Journal.open(run_dir) as journal:
            journal.append("run_started")
            journal.append("step_started", step="platform.gate", attempt=1)
        import pathlib

        from orchestrator.run.approvers import read_contacts_file

        contacts = read_contacts_file(pathlib.Path(__file__).resolve().parents[3] / "dr" / "contacts.yaml")
        approve(run_dir.path, "platform.gate", by="Indy Example", contacts=contacts, note=None)
    finally:
        os.umask(previous)
    modes = {p.relative_to(run_dir.path).as_posix(): oct(p.stat().st_mode & 0o777) for p in run_dir.path.rglob("*")}
    assert modes == {"manifests": "0o700", "evidence": "0o700", "evidence/lake.deploy.json": "0o600",
                     "run.json": "0o600", "plan.json": "0o600", "journal.jsonl": "0o600",
                     "approvals": "0o700", "approvals/platform.gate.json": "0o600"}
    assert run_dir.path.stat().st_mode & 0o777 == 0o700


def test_workdir_is_none_outside_the_runs_layout(tmp_path):
    assert RunDir(tmp_path / "somewhere" / "drill-1").workdir("secondary") is None
    run_dir = RunDir.at(tmp_path, "secondary", "drill-1")
    assert run_dir.workdir("primary") is None and run_dir.workdir("secondary") == tmp_path.resolve()


def test_a_run_dir_is_a_path_like_for_everything_that_takes_one(tmp_path):
    run_dir = RunDir(str(tmp_path))
    assert os.fspath(run_dir) == str(tmp_path) and f"run: {run_dir}" == f"run: {tmp_path}"
    assert RunDir(run_dir) == run_dir  # wrapping one again changes nothing
    with Journal.open(run_dir) as journal:
        journal.append("run_started")
    assert run_dir.journal.is_file()


def test_find_takes_a_directory_or_a_run_id(tmp_path):
    run_dir = RunDir.create(tmp_path, "secondary", "drill")
    assert RunDir.find(run_dir.path, tmp_path) == run_dir
    assert RunDir.find(run_dir.run_id, tmp_path) == run_dir
    with pytest.raises(BadInput, match=r"no run directory drill-nope"):
        RunDir.find("drill-nope", tmp_path)
    (tmp_path / "runs" / "primary" / run_dir.run_id).mkdir(parents=True)  # the same id under two stacks
    with pytest.raises(BadInput, match=r"no run directory"):
        RunDir.find(run_dir.run_id, tmp_path)


def test_latest_of_is_the_newest_run_that_wrote_its_run_json(tmp_path):
    assert RunDir.latest_of(tmp_path, "rehearsal-1") is None
    first = RunDir.at(tmp_path, "rehearsal-1", "failover-20260101T000000Z-aaaaaa")
    second = RunDir.at(tmp_path, "rehearsal-1", "failover-20260102T000000Z-bbbbbb")
    started = RunDir.at(tmp_path, "rehearsal-1", "failover-20260103T000000Z-cccccc")  # no run.json yet
    for run_dir in (first, second, started):
        run_dir.path.mkdir(parents=True)
    for run_dir in (first, second):
        write_json_atomic(run_dir.run_json, {})
    assert RunDir.latest_of(tmp_path, "rehearsal-1") == second


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.path.rmdir(), "is not a directory"),
    (lambda d: None, "no run.json in"),
    (lambda d: d.run_json.write_text("{not json"), "run.json is not valid JSON"),
    (lambda d: d.run_json.write_text(json.dumps({"kind": "drill-local"})), "lacks run_id, kind or stack"),
])
def test_read_run_names_what_is_wrong(tmp_path, damage, message):
    run_dir = RunDir(tmp_path / "run")
    run_dir.path.mkdir()
    damage(run_dir)
    with pytest.raises(BadInput, match=message):
        run_dir.read_run()


def test_read_run_and_read_json_give_back_what_was_written(tmp_path):
    run_dir = RunDir(tmp_path)
    run = {"run_id": "drill-1", "kind": "drill-local", "stack": "secondary"}
    write_json_atomic(run_dir.run_json, run)
    assert run_dir.read_run() == run
    with pytest.raises(BadInput, match=r"plan.json is missing in"):
        run_dir.read_json(run_dir.plan_json)
    run_dir.plan_json.write_text("[1,")
    with pytest.raises(BadInput, match=r"plan.json is not valid JSON"):
        run_dir.read_json(run_dir.plan_json)
