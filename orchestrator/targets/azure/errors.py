"""Errors of azure-core (management and data-plane SDKs) as the engine's two kinds, for the azure target.

The classification itself lives in orchestrator/data/errors.py (`map_azure_error`), which the local
path uses too, so Azurite and Azure errors are judged by one table:

- 408, 429 and 5xx, and the throttling codes (TooManyRequests, ServerBusy, ...), are TransientError,
  with Retry-After / x-ms-retry-after-ms honoured by the engine's retry policy;
- connection failures (ServiceRequestError, ServiceResponseError, a body cut short) are TransientError;
- any other HTTP error is a PermanentError whose evidence carries the service's status, error code
  and message, redacted; so is a long-running operation that ended Failed (azure-core raises it
  as an HttpResponseError with the final poll's 200 status).

This module adds what only the azure target needs: a call wrapper, waiting on a poller within a
bounded time, and a classifier for RetryPolicy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from azure.core.exceptions import AzureError

from orchestrator.data.errors import (
    THROTTLING_CODES,
    TRANSIENT_STATUS,
    azure_errors,
    error_details,
    map_azure_error,
    redact,
)
from orchestrator.model import PermanentError, TransientError

T = TypeVar("T")

__all__ = [
    "THROTTLING_CODES",
    "TRANSIENT_STATUS",
    "arm_errors",
    "call",
    "classify",
    "error_details",
    "is_retriable",
    "redact",
    "wait_for",
]


def classify(err: BaseException, what: str = "") -> Exception:
    """TransientError or PermanentError for any error an Azure SDK call raised."""
    if isinstance(err, (TransientError, PermanentError)):
        return err
    if isinstance(err, (AzureError, ConnectionError, TimeoutError)):
        return map_azure_error(err, what)
    # Not an SDK error (a bug, a bad argument): permanent, so it fails the step at once.
    return PermanentError(redact(f"{what + ': ' if what else ''}{type(err).__name__}: {err}"))


@contextlib.contextmanager
def arm_errors(what: str) -> Iterator[None]:
    """Inside the block, every azure-core error (identity's included) becomes the engine's kind."""
    try:
        with azure_errors(what):
            yield
    except (TransientError, PermanentError):
        raise
    except AzureError as err:  # e.g. CredentialUnavailableError, DeserializationError
        raise classify(err, what) from None


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` with its errors classified."""
    with arm_errors(what):
        return fn(*args, **kwargs)


def wait_for(what: str, poller: Any, timeout_s: float) -> Any:
    """The result of a long-running operation, waiting at most `timeout_s`.

    Not finished in time: TransientError (the operation goes on in Azure; the retried step finds
    it done or still running). Ended Failed or Canceled: PermanentError with the service's code."""
    with arm_errors(what):
        result = poller.result(timeout=timeout_s)
        if not poller.done():
            raise TransientError(f"{what}: still running after {timeout_s:.0f}s (status {poller.status()})")
        return result


def is_retriable(err: BaseException) -> bool:
    """For RetryPolicy(classifier=...): whether a raw SDK error is worth another attempt."""
    return isinstance(classify(err), TransientError)
