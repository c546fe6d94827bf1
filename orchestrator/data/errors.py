"""Translate data-plane errors into the engine's TransientError / PermanentError.

The engine retries only TransientError, so the mapping decides what is worth another attempt.
Messages pass through `redact` first: SDK and urllib3 errors quote request URLs, and a copy
source URL carries a SAS signature.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import time
from typing import Iterator

import psycopg
from azure.core.exceptions import (HttpResponseError, ServiceRequestError, ServiceResponseError)

from orchestrator.model import PermanentError, TransientError

_SECRETS = [
    (re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*"), r"\1?<redacted>"),  # query strings (SAS)
    (re.compile(r"(?i)\b(sig|se|sv|sp|sr|st|skoid|sktid)=[^&\s'\"]+"), r"\1=<redacted>"),
    (re.compile(r"(?i)(AccountKey|SharedAccessSignature|password)=[^;\s'\"]+"), r"\1=<redacted>"),
    (re.compile(r"(?i)(Authorization:?\s*SharedKey\s+)\S+"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _retry_after(err: HttpResponseError) -> float | None:
    headers = getattr(getattr(err, "response", None), "headers", None) or {}
    ms = headers.get("x-ms-retry-after-ms") or headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


TRANSIENT_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


def map_azure_error(err: BaseException, what: str = "") -> Exception:
    """The engine error for an azure-core (or connection) error."""
    prefix = f"{what}: " if what else ""
    if isinstance(err, (TransientError, PermanentError)):
        return err
    message = redact(f"{prefix}{type(err).__name__}: {err}")
    if isinstance(err, HttpResponseError):
        status = err.status_code
        if status in TRANSIENT_STATUS:
            return TransientError(message, retry_after_s=_retry_after(err))
        return PermanentError(message)
    if isinstance(err, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return TransientError(message)
    return PermanentError(message)


@contextlib.contextmanager
def azure_errors(what: str = "") -> Iterator[None]:
    """Re-raise azure-core errors inside the block as TransientError / PermanentError."""
    try:
        yield
    except (TransientError, PermanentError):
        raise
    except (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError,
            TimeoutError) as err:
        raise map_azure_error(err, what) from None


def map_pg_error(err: BaseException, what: str = "") -> Exception:
    prefix = f"{what}: " if what else ""
    if isinstance(err, (TransientError, PermanentError)):
        return err
    message = redact(f"{prefix}{type(err).__name__}: {err}")
    # OperationalError is psycopg's "could not connect / connection lost / server shut down"
    if isinstance(err, psycopg.OperationalError):
        return TransientError(message)
    return PermanentError(message)


@contextlib.contextmanager
def pg_errors(what: str = "") -> Iterator[None]:
    try:
        yield
    except (TransientError, PermanentError):
        raise
    except psycopg.Error as err:
        raise map_pg_error(err, what) from None
