"""The redactor's patterns for secrets drctl did not create, one per shape a secret takes in a message,
and its place in logging: every record, `log.exception`'s traceback included, is redacted before
any handler prints it."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.redact import MASK, RedactingFilter, Redactor, redact_record

REPO = Path(__file__).resolve().parents[2]


def b64url(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


JWT = ".".join([b64url({"alg": "RS256", "typ": "JWT"}), b64url({"aud": "https://ossrdbms-aad.database.windows.net",
                                                               "oid": "x" * 20}), "c2lnbmF0dXJlLWJ5dGVzLWhlcmU_-x"])
SAS_SIG = "k3YJq%2B5mZ0Yb7W0%2FqvX1n0o7u2rZ5c2l4%3D"


@pytest.mark.parametrize(("text", "secret"), [
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Zm9vYmFyYmF6cXV4PQ==;"
     "EntityPath=telemetry", "Zm9vYmFyYmF6cXV4PQ=="),
    ("Driver={ODBC Driver 18 for SQL Server};Server=tcp:s.database.windows.net;Uid=admin;Pwd=Tr0ub4dor&3x;",
     "Tr0ub4dor"),
    ("Server=s;User ID=admin;Password={se;cr=et};Encrypt=yes", "se;cr=et"),
    ("mysql: Pwd={p@ss;word}", "p@ss;word"),
    ("DSN host=h password=hunter2hunter2 dbname=platform", "hunter2hunter2"),
    (f"token refused: {JWT} (expired)", JWT),
    (f'{{"access_token": "{JWT}"}}', JWT),
    ("POST /oauth2/v2.0/token grant_type=client_credentials&client_id=abc&client_secret=Qx8~sEcReT.value&scope=x",
     "Qx8~sEcReT.value"),
    (f"copy from https://a.blob.core.windows.net/c?restype=x&source=https%3A%2F%2Fb%2Fc%3Fsv%3D2022%26sig%3D{SAS_SIG}"
     "%26se%3D2026", SAS_SIG),
])
def test_each_shape_of_secret_is_masked(text, secret):
    redacted = Redactor().text(text)
    assert secret not in redacted and MASK in redacted


def test_what_is_no_secret_stays_readable():
    text = "database platform on server contoso-pg-ase: 3 tables, 900 rows; sig check ok; eyJ alone"
    assert Redactor().text(text) == text
    redacted = Redactor().text("SharedAccessKeyName=send;SharedAccessKey=abc123456;EntityPath=hub; sig%3Dxyz%26se%3D1")
    assert "SharedAccessKeyName=send" in redacted and "EntityPath=hub" in redacted and "%26se%3D1" in redacted


def test_a_log_record_is_redacted_message_arguments_and_traceback():
    redactor = Redactor()
    redactor.add_secret("generated-account-key-value")
    try:
        raise RuntimeError("connect failed: AccountKey=abcdefKEY;EndpointSuffix=core.windows.net")
    except RuntimeError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "using %s with %s", (
            "generated-account-key-value", f"Bearer {JWT}"), sys.exc_info())
    redact_record(record, redactor)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.handle(record)
    out = stream.getvalue()
    assert "generated-account-key-value" not in out and JWT not in out and "abcdefKEY" not in out
    assert "RuntimeError: connect failed: AccountKey=[redacted]" in out and "Traceback" in out


def test_the_filter_redacts_what_its_handler_prints():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("drctl-test-filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Pwd=%s", "plain-text-password")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "Pwd=[redacted]\n"


def test_drctl_redacts_log_exception_on_stderr_from_its_command_line_on():
    # a drctl process, its logging untouched but for what the CLI edge installs: an exception logged
    # by a library, with a secret of drctl's environment in its message, reaches stderr masked
    code = """
import logging, os, sys
from orchestrator.cli.main import main
try:
    main(["--version"])
except SystemExit:
    pass
try:
    raise ValueError("auth failed for " + os.environ["AZURE_CLIENT_SECRET"] + " client_secret=form-secret-1")
except ValueError:
    logging.getLogger("azure.identity").exception("token request failed: %s", os.environ["AZURE_CLIENT_SECRET"])
"""
    secret = "Zz9~client-secret-of-the-environment"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "AZURE_CLIENT_SECRET": secret, "PYTHONPATH": str(REPO)})
    assert "token request failed" in done.stderr and "Traceback" in done.stderr, done.stderr
    assert secret not in done.stderr and "form-secret-1" not in done.stderr
