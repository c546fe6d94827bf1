"""Redaction at the boundary: secrets never reach stdout, logs, the journal, reports or evidence.

Two nets: the exact values drctl knows to be secret (account keys it generated, tokens it was
given, and the secrets of its environment: SECRET_ENV_NAME) and patterns for secrets it did not
create (connection strings, SAS signatures, OAuth client secrets, bare JWTs). An exact value is also
masked URL-encoded, as it appears in a query string or an SDK's request URL, JSON- or HTML-escaped
in rendered text. Every log record passes through it too (install_log_redaction, at the CLI edge),
`log.exception`'s traceback included.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[redacted]"

_PATTERNS = (
    # Storage, Event Hubs and Service Bus connection strings and SAS query strings.
    re.compile(r"(?i)(AccountKey=)[^;\s\"']+"),
    re.compile(r"(?i)(SharedAccessKey=)[^;\s\"']+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"']+"),
    re.compile(r"(?i)([?&]sig=)[^&\s\"']+"),
    # A SAS URL inside another URL's query string: its signature percent-encoded, up to the next %26 (&).
    re.compile(r"(?i)(sig%3D)(?:(?!%26)[^&\s\"'])+"),
    # Passwords in DSNs, ODBC (Pwd=, a {braced} value may hold ';') and key=value settings.
    re.compile(r"(?i)((?:password|pwd)=)(?:\{[^}]*\}?|[^;\s&\"']+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(?=@)"),
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
    # OAuth client credentials in a form body or query string.
    re.compile(r"(?i)(client_secret=)[^&\s\"']+"),
    # A bare JWT (an Entra access token, a client assertion): base64url header.payload.signature,
    # the header JSON, so "eyJ" ('{"') first.
    re.compile(r"()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
)


# Environment variables holding a secret drctl or the SDKs and CLIs it drives read (AZURE_CLIENT_SECRET,
# ARM_CLIENT_SECRET, PULUMI_CONFIG_PASSPHRASE, AZURE_STORAGE_CONNECTION_STRING, PGPASSWORD...): by
# name, since a secret has no shape of its own. *_FILE and *_PATH name where a secret is, not it.
SECRET_ENV_NAME = re.compile(r"(?i)^(PGPASSWORD|.*(SECRET|PASSWORD|PASSPHRASE|TOKEN|_KEY|CONNECTION_STRING))$")
# The secret parts of a connection string or SAS token held in such a variable: masked on their own,
# since an error message may quote one part without the rest.
_SECRET_PART = re.compile(r"(?i)(?:^|[;&?])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|pwd|sig)=([^;&]+)")


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        # Short values would mask ordinary words; nothing drctl handles as a secret is that short.
        if value and len(value) >= 6:
            with self._lock:
                self._secrets.update(_encodings(value))

    def add_environment(self, environ: Mapping[str, str]) -> None:
        """Every secret SECRET_ENV_NAME finds in `environ`, and their secret parts."""
        for name, value in environ.items():
            if SECRET_ENV_NAME.match(name):
                self.add_secret(value)
                for part in _SECRET_PART.findall(value):
                    self.add_secret(part)

    def text(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda m: m.group(1) + MASK, value)
        return value

    def __call__(self, value: Any) -> Any:
        """Redact strings anywhere inside JSON-like data."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def _encodings(value: str) -> set[str]:
    """The value, and how URL-encoding (upper- or lower-case hex, + or %20 for spaces), JSON and HTML
    write it: text already rendered (a JSON document on stdout, report.html) is redacted as text."""
    found = {value, json.dumps(value)[1:-1], html.escape(value)}
    for encoded in (quote(value, safe=""), quote_plus(value, safe="")):
        found |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)}
    return found


REDACTOR = Redactor()
# drctl's own environment, from the start: a secret there may surface in any message of any verb.
REDACTOR.add_environment(os.environ)


def redact_record(record: logging.LogRecord, redactor: Redactor = REDACTOR) -> logging.LogRecord:
    """`record` with its message, traceback and stack redacted in place: what any handler prints."""
    try:
        record.msg, record.args = redactor.text(record.getMessage()), None
    except (TypeError, ValueError):
        record.msg, record.args = redactor.text(str(record.msg)), None  # a format that does not fit its args
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redactor.text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    elif record.exc_text:
        record.exc_text = redactor.text(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A filter that redacts, for a handler of one's own (drctl's records are redacted already)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
    """Every log record drctl's process makes goes through the redactor as it is made, whichever
    logger and handler it reaches (Python's last resort on stderr, a library's, a user's)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *args, **kwargs: redact_record(make(*args, **kwargs)))
    _installed = True
