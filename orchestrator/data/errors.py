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
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
from azure.core.exceptions import HttpResponseError, IncompleteReadError, ServiceRequestError, ServiceResponseError

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

# Service error codes that mean "busy, come back later" whatever the HTTP status says.
# https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
# https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes
THROTTLING_CODES = frozenset({
    "TooManyRequests",  # ARM and resource providers (429, with Retry-After)
    "SubscriptionRequestsThrottled",  # ARM / Compute subscription limits
    "ServerBusy",  # Storage (503), Event Hubs
    "OperationTimedOut",  # Storage (500): a partition is over its target
    "RetryableError",  # a resource provider asking for a retry
    "AnotherOperationInProgress",  # ARM / Network (409): the resource is busy with another operation
})
# Codes that are busy signals only when their message says so. OperationNotAllowed is mostly
# permanent (Compute returns it for exhausted quota, SKU and policy refusals), but resource
# providers also use it, Conflict and PreconditionFailed (Cosmos DB: "an operation in progress
# which requires exclusive lock") for "another operation is in progress".
BUSY_WHEN_SAID = frozenset({"OperationNotAllowed", "Conflict", "PreconditionFailed"})
_BUSY_MESSAGE = re.compile(r"(?i)another operation|operation[^.]*in progress|try again later|retry later|throttl")


def error_details(err: BaseException) -> dict:
    """The service's own status, error code and message (redacted, bounded) for evidence."""
    status = getattr(err, "status_code", None)
    odata = getattr(err, "error", None)
    code = getattr(odata, "code", None) or getattr(err, "error_code", None)
    message = getattr(odata, "message", None)
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None) or {}
    code = code or headers.get("x-ms-error-code") or _body_error(response).get("code")
    if not message:
        message = str(err).split("\n")[0]
    code = getattr(code, "value", code)  # Storage SDKs give a StorageErrorCode (a str enum)
    details = {"status": status, "error_code": str(code) if code else None, "message": redact(str(message))[:500]}
    if status in (401, 403) and (host := _host(response)):
        # who refused: a storage account's endpoint says on which account a role is missing
        details["host"] = host
    return details


def _host(response: Any) -> str | None:
    url = getattr(getattr(response, "request", None), "url", None)
    return urlsplit(url).hostname if isinstance(url, str) else None


def _body_error(response: Any) -> dict:
    """The `error` object of an ARM error body, for errors raised without a parsed model."""
    try:
        body = response.json() if response is not None else None
    except Exception:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _busy(details: dict) -> bool:
    code = details["error_code"]
    return code in THROTTLING_CODES or (code in BUSY_WHEN_SAID and bool(_BUSY_MESSAGE.search(details["message"])))


def map_azure_error(err: BaseException, what: str = "") -> Exception:
    """The engine error for an azure-core (or connection) error. A permanent one carries the
    service's status, error code and message as evidence."""
    prefix = f"{what}: " if what else ""
    if isinstance(err, (TransientError, PermanentError)):
        return err
    message = redact(f"{prefix}{type(err).__name__}: {err}")
    if isinstance(err, IncompleteReadError):  # the connection broke mid-body
        return TransientError(message)
    if isinstance(err, HttpResponseError):
        details = error_details(err)
        if err.status_code in TRANSIENT_STATUS or _busy(details):
            return TransientError(message, retry_after_s=_retry_after(err))
        return PermanentError(message, evidence={"what": what or None, **details})
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
