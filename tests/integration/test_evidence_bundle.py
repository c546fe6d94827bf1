"""The evidence bundle: versions.json and the SHA256SUMS seal, and `drctl verify-evidence`.

The acceptance check runs a real local drill, then alters one byte of every file of its run
directory in turn: each time verification must fail naming exactly that file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from orchestrator.errors import BadInput
from orchestrator.report.bundle import config_digest, seal, verify, write_versions
from orchestrator.run.rundir import RunDir
from orchestrator.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def a_run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "evidence").mkdir(parents=True)
    (run_dir / "journal.jsonl").write_text('{"seq":1}\n')
    (run_dir / "evidence" / "lake.validate.json").write_text('{"exact": true}')
    (run_dir / "report.md").write_text("# report\n")
    return run_dir


def test_a_sealed_directory_verifies_and_sha256sum_agrees(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    result = verify(run_dir)
    assert (result["files"], result["problems"]) == (3, [])
    if shutil.which("sha256sum"):  # the format is coreutils': anyone can check it without drctl
        done = subprocess.run(["sha256sum", "--check", "--strict", RunDir.SUMS], cwd=run_dir, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("change, problem", [
    (lambda d: (d / "report.md").write_text("# report!\n"), {"file": "report.md", "problem": "altered"}),
    (lambda d: (d / "evidence" / "lake.validate.json").unlink(), {"file": "evidence/lake.validate.json",
                                                                  "problem": "missing"}),
    (lambda d: (d / "approvals").mkdir() or (d / "approvals" / "x.json").write_text("{}"),
     {"file": "approvals/x.json", "problem": "added after the run was sealed"}),
    (lambda d: (d / RunDir.SUMS).write_text("not a sums line\n"), {"file": RunDir.SUMS, "problem": "line 1 is not '<sha256>  <file>'"}),
    (lambda d: (d / RunDir.SUMS).write_text(f"{'0' * 64}  ../outside\n"), {"file": "../outside",
                                                                     "problem": "listed outside the run directory"}),
])
def test_each_change_after_sealing_is_named(tmp_path, change, problem):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    change(run_dir)
    assert problem in verify(run_dir)["problems"]


def test_nothing_to_verify_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="has no SHA256SUMS"):
        verify(a_run_dir(tmp_path))
    with pytest.raises(BadInput, match="is not a directory"):
        verify(tmp_path / "nowhere")


def test_the_config_digest_ignores_secret_values_and_layout_but_not_settings(tmp_path):
    def digest(text: str) -> str:
        path = tmp_path / "Pulumi.s.yaml"
        path.write_text(text)
        return config_digest(path)

    base = digest("config:\n  dataplatform:prefix: contoso\n  dataplatform:token:\n    secure: AAAbbb\n")
    assert base == digest("# a comment\nconfig:\n  dataplatform:token: {secure: ZZZ999}\n  dataplatform:prefix: contoso\n")
    assert base != digest("config:\n  dataplatform:prefix: fabrikam\n  dataplatform:token:\n    secure: AAAbbb\n")
    assert "AAAbbb" not in json.dumps(base)


def test_versions_name_the_commit_the_packages_and_the_stack_files(tmp_path):
    run_dir = a_run_dir(tmp_path)
    document = write_versions(run_dir, {"stack": "secondary", "paired_stack": "primary"}, REPO)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert document["iac"]["commit"] == head
    from importlib.metadata import version

    assert document["packages"]["pulumi"] == version("pulumi")
    assert set(document["stack_config_sha256"]) == {"secondary", "primary"}
    assert document["stack_config_sha256"]["primary"] == config_digest(REPO / "Pulumi.primary.yaml")
    # written once: a resumed run keeps what it started with
    (run_dir / "versions.json").write_text('{"iac": "kept"}')
    assert write_versions(run_dir, {"stack": "secondary"}, REPO) == {"iac": "kept"}


@pytest.mark.integration
def test_after_a_local_drill_every_altered_byte_is_named_by_verify_evidence():
    from orchestrator.verbs.drill import run_local_drill

    workdir = Path(tempfile.mkdtemp(prefix="drctl-evidence-"))
    try:
        summary = run_local_drill(load_stack(REPO, "secondary"), load_stack(REPO, "primary"), workdir, scale=1,
                                  workers=4)
        assert summary["outcome"] == "recovered"
        run_dir = Path(summary["run_dir"])
        done = subprocess.run([*DRCTL, "verify-evidence", str(run_dir)], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0 and "evidence intact" in done.stdout, done.stdout + done.stderr
        names = [line.split("  ", 1)[1] for line in (run_dir / RunDir.SUMS).read_text().splitlines()]
        assert {"journal.jsonl", "plan.json", "run.json", "report.md", "report.json", "versions.json",
                "prelude.json"} <= set(names)
        assert any(n.startswith("manifests/") for n in names) and any(n.startswith("evidence/") for n in names)
        for name in names:
            path = run_dir / name
            original = path.read_bytes()
            path.write_bytes(bytes([original[0] ^ 0x01]) + original[1:] if original else b"x")
            try:
                assert verify(run_dir)["problems"] == [{"file": name, "problem": "altered"}]
            finally:
                path.write_bytes(original)
        (run_dir / "report.md").write_bytes((run_dir / "report.md").read_bytes() + b" ")
        done = subprocess.run([*DRCTL, "verify-evidence", str(run_dir)], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 1 and "altered: report.md" in done.stdout
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_verify_evidence_on_something_that_is_no_run_is_one_line_exit_2(tmp_path):
    done = subprocess.run([*DRCTL, "verify-evidence", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "has no SHA256SUMS" in done.stderr
