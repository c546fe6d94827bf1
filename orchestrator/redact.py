"""Redaction at the boundary: secrets never reach stdout, logs, the journal, reports or evidence.

Two nets: the exact values drctl knows to be secret (account keys it generated, tokens it was
given) and patterns for secrets it did not create (connection strings, SAS signatures).
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "[redacted]"

_PATTERNS = (
    # Storage connection strings and SAS query strings.
    re.compile(r"(?i)(AccountKey=)[^;\s\"']+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"']+"),
    re.compile(r"(?i)([?&]sig=)[^&\s\"']+"),
    # Passwords in DSNs and key=value settings.
    re.compile(r"(?i)(password=)[^;\s&\"']+"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(?=@)"),
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
)


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        # Short values would mask ordinary words; nothing drctl handles as a secret is that short.
        if value and len(value) >= 6:
            with self._lock:
                self._secrets.add(value)

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


REDACTOR = Redactor()
