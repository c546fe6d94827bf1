"""Approvals recorded after the seal are signed addenda chained to it, and a later seal (a resumed
run's) keeps the earlier links: verify-evidence checks the whole chain."""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.asymmetric import ed25519
from evidence_support import a_run_dir, a_run_waiting_at_its_gate, contacts, drctl, workdir_public_key

from orchestrator.evidence import chain
from orchestrator.evidence.chain import SIG, extend, seal
from orchestrator.evidence.keys import LocalSigner
from orchestrator.evidence.verify import verify
from orchestrator.verbs.approve import approve


def approval(run_dir, step: str = "platform.gate", by: str = "Ada"):
    (run_dir / "approvals").mkdir(exist_ok=True)
    path = run_dir / "approvals" / f"{step}.json"
    path.write_text(json.dumps({"step": step, "approved_by": by}))
    return path


def test_an_approval_on_a_sealed_run_is_a_signed_addendum_and_verifies(tmp_path):
    run_dir = a_run_waiting_at_its_gate(tmp_path)
    document = approve(run_dir, "platform.gate", by="Indy Example", contacts=contacts())
    addendum = json.loads((run_dir / document["addendum"]).read_text())["statement"]
    assert addendum["covers"] == {"approvals/platform.gate.json": chain.sha256_file(run_dir / "approvals/platform.gate.json")}
    assert addendum["extends"] == {"sha256": chain.sha256_file(run_dir / SIG)}
    done = drctl("verify-evidence", str(run_dir), "--public-key", str(workdir_public_key(run_dir)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match SHA256SUMS and 1 addendum signed after it" in done.stdout and "2 signature(s) valid" in done.stdout


def test_a_tampered_approval_fails_naming_it_and_its_addendum(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    addendum = extend(run_dir, [approval(run_dir)], reason="approval of platform.gate")
    approval(run_dir, by="Mallory")
    done = drctl("verify-evidence", str(run_dir))
    assert done.returncode == 1
    assert f"altered (since addenda/{addendum.name} signed it): approvals/platform.gate.json" in done.stdout


def test_an_edited_addendum_or_one_removed_does_not_pass(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    addendum = extend(run_dir, [approval(run_dir)], reason="approval of platform.gate")
    document = json.loads(addendum.read_text())
    document["statement"]["reason"] = "approval of something else"
    addendum.write_text(json.dumps(document))
    assert {"file": f"addenda/{addendum.name}",
            "problem": "the signature does not verify: the statement was changed after it was signed"} \
        in verify(run_dir)["problems"]
    addendum.unlink()
    assert verify(run_dir)["problems"] == [{"file": "approvals/platform.gate.json",
                                            "problem": "added after the run was sealed"}]


def test_an_approval_without_an_addendum_is_added_after_the_seal(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    approval(run_dir)
    assert verify(run_dir)["problems"] == [{"file": "approvals/platform.gate.json",
                                            "problem": "added after the run was sealed"}]


def test_an_addendum_by_another_key_fails_against_the_public_key(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    intruder = LocalSigner(ed25519.Ed25519PrivateKey.generate(), "someone else")
    extend(run_dir, [approval(run_dir)], reason="approval of platform.gate", signer=intruder)
    done = drctl("verify-evidence", str(run_dir), "--public-key", str(workdir_public_key(run_dir)))
    assert done.returncode == 1 and f"signed by key {intruder.info.key_id}" in done.stdout


def test_a_resumed_run_seals_again_and_the_chain_holds_every_link(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    first_seal = chain.sha256_file(run_dir / SIG)
    addendum = extend(run_dir, [approval(run_dir)], reason="approval of platform.gate")
    (run_dir / "report.md").write_text("# report\n\nRecovered after the approval.\n")  # the resume rewrites it
    seal(run_dir)
    assert chain.sha256_file(run_dir / "seals/0001" / SIG) == first_seal
    statement = json.loads((run_dir / SIG).read_text())["statement"]
    assert statement["extends"] == {"sha256": chain.sha256_file(addendum)}
    result = verify(run_dir)
    assert result["problems"] == []
    assert [s["file"] for s in result["signatures"]] == [SIG, f"addenda/{addendum.name}", f"seals/0001/{SIG}"]
    # Removing the addendum in the middle breaks the chain, though the new SHA256SUMS would be recomputed.
    os.remove(addendum)
    assert {"file": SIG, "problem": "extends a seal or addendum that is not in the run directory (removed or altered)"} \
        in verify(run_dir)["problems"]


def test_a_seal_whose_signing_fails_is_written_unsigned_and_says_so(tmp_path, monkeypatch, capsys):
    class KeyVaultDown:  # a stand-in for a signer whose service does not answer at the end of a run
        @property
        def info(self):
            raise OSError("Key Vault did not answer")

        def sign(self, message: bytes) -> bytes:
            raise AssertionError("not reached")

    run_dir = a_run_dir(tmp_path)
    seal(run_dir, signer=KeyVaultDown())
    assert (run_dir / "SHA256SUMS").is_file() and not (run_dir / SIG).exists()
    assert "evidence NOT signed (SHA256SUMS.sig): Key Vault did not answer" in capsys.readouterr().err
    assert verify(run_dir)["problems"] == [{"file": SIG, "problem": "missing: the seal is not signed"}]


def test_approvals_recorded_at_the_same_moment_make_one_line_not_a_fork(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    signer = LocalSigner(ed25519.Ed25519PrivateKey.generate(), "one key for the test")
    files = [approval(run_dir, step=f"service{n}.gate") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = list(pool.map(lambda f: extend(run_dir, [f], reason=f"approval of {f.stem}", signer=signer), files))
    assert len({path.name for path in written}) == 8
    result = verify(run_dir)
    assert result["problems"] == [] and result["addenda_after_seal"] == 8
