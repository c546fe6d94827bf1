"""Secrets never come out of a run: the canary suite (reliability/suite_secrets.py) at its quick
count, and the parts it stands on held to account: the scan finds a canary however it is written,
and the redactor masks the secrets of drctl's environment, their URL-encoded forms and a crash's
traceback.

Workdirs come from tempfile.mkdtemp, not pytest's tmp_path: postgres runs as another system user
and every pytest session resets /tmp/pytest-of-<user> to 0700.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from orchestrator.redact import MASK, REDACTOR, Redactor
from reliability import suite_secrets
from reliability.drctl import why_it_failed
from reliability.secret_scan import KEY_STORE, Needles, canary, make_prefix, scan_bytes, scan_tree

KEY = base64.b64encode(bytes(range(64))).decode()  # an account key's shape: base64 with + and /


# -- the scan ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 2, 5])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_canary_inside_a_base64_blob_is_found_at_any_offset(offset, encode):
    prefix = make_prefix()
    blob = encode(b"u" * offset + f"user:{canary(prefix, 'x')}:more".encode())
    assert prefix.encode() not in blob
    assert [leak.what for leak in scan_bytes("f", b"Authorization: Basic " + blob, Needles.for_prefix(prefix))]


@pytest.mark.parametrize("written", [
    lambda s: s, lambda s: quote(s, safe=""), lambda s: json.dumps({"k": s}), lambda s: s[:-3],  # cut short
    lambda s: f"<td>{s.replace('/', '&#x2F;')}</td>",
], ids=["plain", "url-encoded", "json", "truncated", "html"])
def test_a_canary_is_found_however_it_is_written(written):
    prefix = make_prefix()
    text = f"error: {written(canary(prefix, 'azure-client-secret'))} refused".encode()
    assert scan_bytes("f", text, Needles.for_prefix(prefix))


def test_account_keys_are_found_plain_and_url_encoded_but_not_in_their_own_store():
    needles = Needles.for_prefix(make_prefix(), [KEY])
    assert scan_bytes("f", f"AccountKey={KEY};".encode(), needles)
    assert scan_bytes("f", f"sig={quote(KEY, safe='')}".encode(), needles)
    assert scan_bytes(KEY_STORE, json.dumps({"a": KEY}).encode(), needles, key_store=True) == []
    assert scan_bytes("f", b"AccountKey=[redacted]; nothing else", needles) == []


def test_the_tree_scan_reads_every_file_and_counts_what_it_read():
    root = Path(tempfile.mkdtemp(prefix="drctl-scan-"))
    try:
        prefix = make_prefix()
        (root / "a" / "b").mkdir(parents=True)
        (root / "a" / "b" / "evidence.json").write_text(json.dumps({"k": canary(prefix, "deep")}))
        (root / "clean.log").write_bytes(b"\0" * 1000)
        (root / KEY_STORE).write_text(json.dumps({"acct": KEY, "oops": canary(prefix, "in-store")}))
        found = scan_tree(root, Needles.for_prefix(prefix, [KEY]))
        assert found.files == 3 and found.bytes == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        # The canary is found in the key store too: only the keys are at home there.
        assert sorted(leak.path for leak in found.leaks) == ["a/b/evidence.json", KEY_STORE]
    finally:
        shutil.rmtree(root)


# -- the redactor at drctl's boundary -------------------------------------------------------------------


def test_the_environment_s_secrets_are_masked_with_their_parts_and_encodings():
    secret = "CANARY-0123abcd+/=x"
    redactor = Redactor()
    redactor.add_environment({
        "AZURE_CLIENT_SECRET": secret, "PGPASSWORD": "hunter22",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KEYPART123;",
        "AZURE_STORAGE_SAS_TOKEN": "sv=2022-11-02&sig=SIGPART456", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token",
        "HOME": "/root/secretive",
    })
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe=""))  # %2b, as some write it
    text = (f"a {secret} b {quote(secret, safe='')} c {lower_hex} d hunter22 "
            "e KEYPART123 f SIGPART456 g /var/run/token h /root/secretive")
    masked = redactor.text(text)
    assert masked == f"a {MASK} b {MASK} c {MASK} d {MASK} e {MASK} f {MASK} g /var/run/token h /root/secretive"


def test_a_drctl_process_masks_a_secret_of_its_environment_from_its_first_line():
    secret = "CANARY-5eed5eed+/="
    env = {**os.environ, "ARM_CLIENT_SECRET": secret, "NO_COLOR": "1"}
    # A run id echoed in the bad-input line: here it is, by accident, the secret.
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", secret], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "CANARY-5eed5eed" not in done.stderr + done.stdout
    assert MASK in done.stderr


def test_a_crash_prints_its_traceback_redacted(monkeypatch, capsys):
    import orchestrator.verbs.plan
    from orchestrator.cli.main import main

    REDACTOR.add_secret("CANARY-traceback-secret")

    def crash(*args, **kwargs):
        raise RuntimeError("connecting with AccountKey=abc123xyz; and CANARY-traceback-secret")

    monkeypatch.setattr(orchestrator.verbs.plan, "plan_command", crash)
    with pytest.raises(SystemExit) as ended:
        main(["plan", "--stack", "secondary"])
    err = capsys.readouterr().err
    assert ended.value.code == 1
    assert "Traceback" in err and "RuntimeError" in err  # still a bug report
    assert "CANARY-traceback-secret" not in err and "abc123xyz" not in err


# -- the suite -----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_no_canary_or_account_key_leaves_any_run():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-secrets-"))
    try:
        result = suite_secrets.run(full=False, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures = result["figures"]
    assert result["notes"] == [] and result["outcome"] == "passed"
    assert figures["leaks"] == 0
    # What makes the zero mean something: every case ran, the account keys of the three drills were
    # found (so they were searched for), and the runs wrote something to search.
    assert figures["cases"] == 6 + len(suite_secrets.BAD_CONFIGS)
    assert figures["account keys watched"] >= 6
    assert figures["files scanned"] > 100 and figures["bytes scanned"] > 1_000_000


def test_a_run_that_ends_otherwise_than_expected_is_noted_with_the_lines_naming_its_failure():
    """The last lines of a drill's stderr are its evidence's signing key: a note of those said
    nothing of why a resume ended not recovered (one CI run had only that to show)."""
    stderr = "\n".join(["run: /tmp/x/runs/1", "lake.rehydrate ok", "postgres.validate failed: row counts differ",
                        "evidence signed with generated key /tmp/x/keys/evidence-signing-key.pem",
                        "verify with --public-key /tmp/x/keys/evidence-signing-key.pem.pub"])
    assert why_it_failed(stderr) == "postgres.validate failed: row counts differ"
    assert why_it_failed("one\ntwo\nthree\nfour") == "two | three | four"  # nothing named: its last lines
