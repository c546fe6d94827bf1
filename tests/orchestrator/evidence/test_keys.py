"""Which key signs: --signing-key, the environment, or the workdir's own key generated 0600; and a
bad key is refused (exit 2, one line, the key never printed) before a run starts."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from evidence_support import a_run_dir, a_run_waiting_at_its_gate, clean_environment, drctl

from orchestrator.errors import BadInput
from orchestrator.evidence import keys
from orchestrator.evidence.chain import SIG, seal
from orchestrator.evidence.signatures import key_id


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def a_key_file(tmp_path, key=None, mode: int = 0o600):
    key = key or ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(pem(key))
    path.chmod(mode)
    return path, key


def signed_by(run_dir) -> dict:
    return json.loads((run_dir / SIG).read_text())["statement"]["key"]


def test_without_a_configured_key_the_workdir_key_is_generated_private_and_announced(tmp_path, capsys):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    private = tmp_path / "work" / "keys" / "evidence-signing-key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    public = serialization.load_pem_public_key(private.with_name(private.name + ".pub").read_bytes())
    assert signed_by(run_dir)["id"] == key_id(public) and signed_by(run_dir)["algorithm"] == "Ed25519"
    assert f"key id {key_id(public)}" in capsys.readouterr().err
    seal(a_run_dir(tmp_path / "another"))  # the next run of another workdir: a key of its own
    other = tmp_path / "another" / "work" / "keys" / "evidence-signing-key.pem"
    assert other.read_bytes() != private.read_bytes()


def test_the_key_file_from_the_environment_signs(tmp_path, monkeypatch):
    path, key = a_key_file(tmp_path)
    monkeypatch.setenv(keys.FILE_ENV, str(path))
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    assert signed_by(run_dir)["id"] == key_id(key.public_key())
    assert not (tmp_path / "work" / "keys").exists()  # no key generated when one is configured


def test_the_key_itself_from_the_environment_signs(tmp_path, monkeypatch):
    key = ed25519.Ed25519PrivateKey.generate()
    monkeypatch.setenv(keys.PEM_ENV, pem(key).decode())
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    assert signed_by(run_dir)["id"] == key_id(key.public_key())
    assert signed_by(run_dir)["source"] == f"environment {keys.PEM_ENV}"


def test_signing_key_before_the_verb_signs_an_approval(tmp_path):
    run_dir = a_run_waiting_at_its_gate(tmp_path)
    path, key = a_key_file(tmp_path)
    done = drctl("--signing-key", str(path), "approve", str(run_dir), "platform.gate", "--by", "Indy Example", "--json")
    assert done.returncode == 0, done.stderr
    addendum = json.loads((run_dir / json.loads(done.stdout)["addendum"]).read_text())
    assert addendum["statement"]["key"]["id"] == key_id(key.public_key())


@pytest.mark.parametrize("setup, expected", [
    (lambda tmp: a_key_file(tmp, mode=0o644)[0], "can be read by other users (mode 0644): chmod 600 it"),
    (lambda tmp: a_key_file(tmp, key=ec.generate_private_key(ec.SECP256R1()))[0], "not an Ed25519 key"),
    (lambda tmp: tmp / "missing.pem", "No such file or directory"),
    (lambda tmp: "https://notavault.example.com/keys/k", "is not a Key Vault key identifier"),
])
def test_a_bad_signing_key_exits_2_in_one_line_before_the_verb_runs(tmp_path, setup, expected):
    done = drctl("--signing-key", str(setup(tmp_path)), "approve", "RUN", "platform.gate", "--by", "Ada")
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert expected in done.stderr and "PRIVATE KEY" not in done.stderr


def test_a_key_in_the_environment_that_is_not_one_is_named_not_printed(tmp_path):
    secret = "-----BEGIN PRIVATE KEY-----\nnot-base64-at-all-but-secret\n-----END PRIVATE KEY-----\n"
    done = drctl("approve", "RUN", "platform.gate", "--by", "Ada", env=clean_environment(**{keys.PEM_ENV: secret}))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{keys.PEM_ENV}: not an unencrypted PEM private key" in done.stderr and "secret" not in done.stderr


def test_two_key_sources_in_the_environment_are_refused(tmp_path, monkeypatch):
    path, _ = a_key_file(tmp_path)
    monkeypatch.setenv(keys.FILE_ENV, str(path))
    monkeypatch.setenv(keys.URL_ENV, "https://myvault.vault.azure.net/keys/evidence")
    with pytest.raises(BadInput, match=f"{keys.URL_ENV} and {keys.FILE_ENV} are set together"):
        keys.use_signing_key(None)


def test_signing_key_on_a_verb_that_signs_nothing_is_bad_input(tmp_path):
    path, _ = a_key_file(tmp_path)
    done = drctl("--signing-key", str(path), "verify-evidence", str(tmp_path))
    assert done.returncode == 2 and "--signing-key: drctl verify-evidence signs nothing" in done.stderr
