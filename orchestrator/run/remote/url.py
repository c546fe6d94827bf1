"""`--state-url`: where a run's state lives off the executor's machine, and how drctl signs in there.

Two forms, nothing else:

    https://<account>.blob.core.windows.net/<container>   Azure: DefaultAzureCredential (an Entra
                                                           token; never an account key or a SAS)
    http://127.0.0.1:<port>/<account>/<container>          a local Azurite, with the account key in
                                                           $DRCTL_STATE_ACCOUNT_KEY

The key travels in the environment, never on the command line (where `ps`, shell history and CI
logs would show it), and is registered with the redactor before anything can print it. A URL
with a query string or user info is refused without echoing it: that is where a SAS or a password
would be. Loopback only for plain http, so the local form can never send a key across a network.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.storage.blob import BlobServiceClient, ContainerClient, ExponentialRetry

from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR

KEY_ENV = "DRCTL_STATE_ACCOUNT_KEY"
LOCAL_HOST = "127.0.0.1"
STORAGE_SCOPE = "https://storage.azure.com/.default"
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_AZURE_HOST = re.compile(r"^([a-z0-9]{3,24})\.blob\.core\.(windows\.net|usgovcloudapi\.net|chinacloudapi\.cn)$")
# Azure's container naming rule: 3-63 of lowercase letters, digits and single hyphens inside.
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class StateLocation:
    url: str  # as given (holds no secret: parse_state_url refuses one that could)
    account: str
    container: str
    account_url: str
    local: bool


def parse_state_url(url: str) -> StateLocation:
    """The location `url` names, or BadInput saying (in one line) what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise BadInput("--state-url: not a URL (expected https://<account>.blob.core.windows.net/<container> "
                       "or http://127.0.0.1:<port>/<account>/<container>)") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BadInput("--state-url: no query string, fragment or user info (a SAS or password would be a secret "
                       f"on the command line): give the bare container URL; locally the key goes in ${KEY_ENV}")
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme == "https":
        host = _AZURE_HOST.match(parts.hostname or "")
        if host is None or port not in (None, 443):
            raise BadInput(f"--state-url: {url}: the host must be <account>.blob.core.windows.net")
        if len(segments) != 1:
            raise BadInput(f"--state-url: {url}: expected exactly one path segment, the container")
        account, container = host.group(1), segments[0]
        account_url = f"https://{parts.hostname}"
        local = False
    elif parts.scheme == "http":
        if parts.hostname != LOCAL_HOST or port is None:
            raise BadInput(f"--state-url: {url}: plain http only to {LOCAL_HOST}:<port> (a local Azurite); "
                           "on Azure use https://<account>.blob.core.windows.net/<container>")
        if len(segments) != 2:
            raise BadInput(f"--state-url: {url}: expected http://{LOCAL_HOST}:<port>/<account>/<container>")
        account, container = segments
        account_url = f"http://{LOCAL_HOST}:{port}/{account}"
        local = True
    else:
        raise BadInput(f"--state-url: {url}: the scheme must be https (Azure) or http (a local Azurite)")
    if not _ACCOUNT.match(account):
        raise BadInput(f"--state-url: {url}: {account!r} is not a storage account name (3-24 lowercase letters or digits)")
    if not _CONTAINER.match(container):
        raise BadInput(f"--state-url: {url}: {container!r} is not a container name "
                       "(3-63 lowercase letters, digits and single hyphens)")
    return StateLocation(url=url.strip(), account=account, container=container, account_url=account_url, local=local)


def container_client(location: StateLocation) -> ContainerClient:
    """A client of the container, which is created when missing; BadInput when it cannot be reached
    or the credential is refused, so a run fails before it starts, not half-way through."""
    credential = credential_for(location)
    service = BlobServiceClient(
        location.account_url, credential=credential,
        # Short: a state store that does not answer should be said early; the journal keeps
        # unsent lines and sends them with the next append (orchestrator/run/remote/store.py).
        retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1),
        connection_timeout=5, read_timeout=30)
    container = service.get_container_client(location.container)
    try:
        if not container.exists():
            container.create_container()
    except ServiceRequestError as exc:
        raise BadInput(f"--state-url: {location.url}: cannot reach it ({_first_line(exc)})") from None
    except (ClientAuthenticationError, HttpResponseError) as exc:
        if isinstance(exc, ClientAuthenticationError) or exc.status_code in (401, 403):
            hint = f"wrong ${KEY_ENV}?" if location.local else "does the identity have Storage Blob Data Contributor?"
            raise BadInput(f"--state-url: {location.url}: the account refused the credential ({hint})") from None
        # error_code: set by the storage SDK's error handler on the errors it raises, not declared by azure-core.
        code = getattr(exc, "error_code", None)
        raise BadInput(f"--state-url: {location.url}: {exc.status_code} {code or _first_line(exc)}") from None
    return container


def credential_for(location: StateLocation):
    """What drctl signs in to the location's account with: the local account key, or an Entra token."""
    return _local_credential(location) if location.local else _azure_credential(location)


def _local_credential(location: StateLocation) -> dict[str, str]:
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise BadInput(f"--state-url: {KEY_ENV} is not set: it holds the key of account {location.account} "
                       "(in the environment, never on the command line)")
    REDACTOR.add_secret(key)  # before any message could carry it
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"--state-url: {KEY_ENV} is not a base64 account key") from None
    return {"account_name": location.account, "account_key": key}


def _azure_credential(location: StateLocation):
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    try:
        credential.get_token(STORAGE_SCOPE)  # now, so a missing login is one line and not a failed run
    except Exception as exc:  # azure.identity raises several unrelated types for "no credential"
        raise BadInput(f"--state-url: no Azure credential for {location.account} ({_first_line(exc)}): "
                       "sign in (az login, a managed identity or AZURE_CLIENT_ID/...)") from None
    return credential


def _first_line(exc: BaseException) -> str:
    text = REDACTOR.text(str(exc)).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
