"""What a failover needs before it touches anything: the Pulumi CLI and Azure credentials.

Each missing one is bad input (exit 2) in one line naming what is missing and how to provide it.
Both checks are plain callables on `Preconditions`, so tests and other environments inject their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR
from orchestrator.targets.azure.deploy.stack import PULUMI_COMMAND_ENV, find_pulumi
from orchestrator.targets.azure.signed_in import identity_warnings_muted

ARM_SCOPE = "https://management.azure.com/.default"
CREDENTIAL_HINT = "set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, use workload identity, or az login"
_SERVICE_PRINCIPAL = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")
# With AZURE_CLIENT_ID and AZURE_TENANT_ID, any of these makes the environment declare a credential
# (EnvironmentCredential's secret or certificate, WorkloadIdentityCredential's token file).
_PROOFS = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")

# Listed by `--dry-run`, enforced by a real run, in this order.
PRECONDITIONS = (
    {"check": "pulumi-cli", "description": f"the Pulumi CLI is on PATH or at {PULUMI_COMMAND_ENV}"},
    {"check": "azure-credentials", "description": f"DefaultAzureCredential gets a token for {ARM_SCOPE}"},
)


def check_azure_credentials(credential_factory: Callable[[], Any] | None = None,
                            environ: Mapping[str, str] | None = None) -> None:
    """BadInput (one line) unless DefaultAzureCredential (or `credential_factory()`) gets an ARM token."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    environ = os.environ if environ is None else environ
    credential = None
    try:
        with identity_warnings_muted():
            credential = (credential_factory or DefaultAzureCredential)()
            credential.get_token(ARM_SCOPE)
    except CredentialUnavailableError:
        raise BadInput(_missing(environ)) from None
    except ClientAuthenticationError as exc:
        # The whole chain failing raises ClientAuthenticationError too: it is a refusal only when
        # the environment declares a credential (a wrong secret, an expired federated token).
        if not _declared(environ):
            raise BadInput(_missing(environ)) from None
        raise BadInput(f"Azure credentials were refused: {_one_line(exc)}") from None
    finally:
        close = getattr(credential, "close", None)
        if callable(close):
            close()


def _declared(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("AZURE_CLIENT_ID") and environ.get("AZURE_TENANT_ID")
                and any(environ.get(name) for name in _PROOFS))


def _missing(environ: Mapping[str, str]) -> str:
    present = [name for name in _SERVICE_PRINCIPAL if environ.get(name)]
    if present and len(present) < len(_SERVICE_PRINCIPAL):
        missing = [name for name in _SERVICE_PRINCIPAL if not environ.get(name)]
        verb = "is" if len(present) == 1 else "are"
        return f"no Azure credentials: {', '.join(missing)} not set ({', '.join(present)} {verb}); {CREDENTIAL_HINT}"
    return f"no Azure credentials: {CREDENTIAL_HINT}"


def _one_line(exc: BaseException) -> str:
    """The line of a chain's message that names the refusing credential, else its first line."""
    text = getattr(exc, "message", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    named = [line for line in lines if line.startswith(("EnvironmentCredential", "WorkloadIdentityCredential"))]
    line = (named or lines or [type(exc).__name__])[0]
    return REDACTOR.text(line)[:300]


@dataclass(frozen=True)
class Preconditions:
    """`find_pulumi` returns the CLI's path or raises BadInput; `check_credentials` raises BadInput."""

    find_pulumi: Callable[[], Path] = find_pulumi
    check_credentials: Callable[[], None] = check_azure_credentials
