"""`drctl verify-evidence` against a deliberate edit (issue 16, item 1's acceptance lines).

- Forge report.md and recompute its SHA256SUMS line: exit 1, naming the signature.
- A symlink in the run directory: exit 1, naming it; its target is never read.
"""

from __future__ import annotations

import json
import os
import shutil

from cryptography.hazmat.primitives.asymmetric import ed25519
from evidence_support import a_run_dir, drctl, workdir_public_key

from orchestrator.data.manifest import sha256_file
from orchestrator.evidence.chain import SIG, seal
from orchestrator.evidence.keys import LocalSigner
from orchestrator.evidence.verify import verify


def recompute_line(run_dir, name: str) -> None:
    """What a forger does after editing `name`: put its new digest in SHA256SUMS."""
    sums = run_dir / "SHA256SUMS"
    lines = [f"{sha256_file(run_dir / name)}  {name}" if line.endswith(f"  {name}") else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")


def test_a_sealed_run_verifies_with_its_public_key(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    done = drctl("verify-evidence", str(run_dir), "--public-key", str(workdir_public_key(run_dir)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "evidence intact: 3 files" in done.stdout and "by the --public-key given" in done.stdout


def test_a_forged_report_with_its_sums_line_recomputed_exits_1_naming_the_signature(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    (run_dir / "report.md").write_text("# report\n\nRecovered, well within the RTO.\n")
    recompute_line(run_dir, "report.md")
    assert verify(run_dir)["problems"] == [{
        "file": "SHA256SUMS",
        "problem": f"not the SHA256SUMS the signature ({SIG}) covers: rewritten after it was signed"}]
    for extra in ([], ["--public-key", str(workdir_public_key(run_dir))]):
        done = drctl("verify-evidence", str(run_dir), *extra)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"the signature ({SIG})" in done.stdout and "evidence NOT intact" in done.stdout


def test_a_forger_who_signs_again_with_their_own_key_is_caught_by_the_public_key(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    (run_dir / "report.md").write_text("# forged\n")
    os.remove(run_dir / "SHA256SUMS")
    os.remove(run_dir / SIG)
    forger = LocalSigner(ed25519.Ed25519PrivateKey.generate(), "the forger's laptop")
    seal(run_dir, signer=forger)
    assert verify(run_dir)["problems"] == []  # self-consistent: only a trusted key tells who signed
    done = drctl("verify-evidence", str(run_dir), "--public-key", str(workdir_public_key(run_dir)))
    assert done.returncode == 1
    assert f"signed by key {forger.info.key_id}, which is not a --public-key given" in done.stdout


def test_an_edited_signed_statement_does_not_verify(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    (run_dir / "report.md").write_text("# forged\n")
    recompute_line(run_dir, "report.md")
    document = json.loads((run_dir / SIG).read_text())
    document["statement"]["sums_sha256"] = sha256_file(run_dir / "SHA256SUMS")  # the forger's next move
    (run_dir / SIG).write_text(json.dumps(document))
    assert {"file": SIG, "problem": "the signature does not verify: the statement was changed after it was signed"} \
        in verify(run_dir)["problems"]


def test_a_seal_without_its_signature_is_not_intact(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    os.remove(run_dir / SIG)
    assert verify(run_dir)["problems"] == [{"file": SIG, "problem": "missing: the seal is not signed"}]


def test_a_symlink_in_the_run_directory_exits_1_naming_it(tmp_path):
    # The listed report swapped for a symlink to a copy outside, the same bytes: an unsigned,
    # link-following check finds every digest right.
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    outside = tmp_path / "copy-of-report.md"
    shutil.copy(run_dir / "report.md", outside)
    (run_dir / "report.md").unlink()
    (run_dir / "report.md").symlink_to(outside)
    done = drctl("verify-evidence", str(run_dir))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "a symlink or special file (not followed): report.md"


def test_a_symlink_to_a_fifo_is_named_without_being_opened(tmp_path):
    # Opening a FIFO to read blocks until a writer comes: a verifier that followed the link would hang.
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)
    (run_dir / "evidence" / "extra.json").symlink_to(fifo)
    done = drctl("verify-evidence", str(run_dir))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a symlink or special file (not followed): evidence/extra.json" in done.stdout


def test_a_symlinked_folder_is_named_and_not_descended(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    shutil.move(run_dir / "evidence", tmp_path / "evidence-elsewhere")
    (run_dir / "evidence").symlink_to(tmp_path / "evidence-elsewhere", target_is_directory=True)
    problems = verify(run_dir)["problems"]
    assert {"file": "evidence", "problem": "a symlink or special file (not followed)"} in problems
    assert {"file": "evidence/lake.validate.json", "problem": "under a symlinked folder (not followed)"} in problems


def test_paths_listed_outside_the_run_directory_are_named_not_read(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    (tmp_path / "secret.txt").write_text("outside")
    with open(run_dir / "SHA256SUMS", "a") as sums:
        sums.write(f"{sha256_file(tmp_path / 'secret.txt')}  ../../../../secret.txt\n")
        sums.write(f"{'0' * 64}  /etc/hostname\n")
    done = drctl("verify-evidence", str(run_dir))
    assert done.returncode == 1
    assert "listed outside the run directory: ../../../../secret.txt" in done.stdout
    assert "listed outside the run directory: /etc/hostname" in done.stdout


def test_a_public_key_that_is_not_one_is_bad_input(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    private = run_dir.parents[2] / "keys" / "evidence-signing-key.pem"
    done = drctl("verify-evidence", str(run_dir), "--public-key", str(private))
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "is not a PEM public key" in done.stderr and "PRIVATE" not in done.stderr


def test_a_copy_in_a_folder_of_another_name_verifies_by_the_run_id_in_run_json(tmp_path):
    # publish-evidence lays a copy out as <run-id>/<digest>/: an auditor verifies that folder.
    run_dir = a_run_dir(tmp_path)
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_dir.name, "kind": "drill", "stack": "secondary"}))
    seal(run_dir)
    copy = tmp_path / "audit" / run_dir.name / "61e91d572f736e0e"
    shutil.copytree(run_dir, copy)
    assert verify(copy)["problems"] == []
    (copy / "run.json").write_text(json.dumps({"run_id": "drill-another", "kind": "drill", "stack": "secondary"}))
    recompute_line(copy, "run.json")
    assert {"file": SIG, "problem": "signed for run 'drill-20260101T000000Z-abc123', not for this one"} \
        in verify(copy)["problems"]
