"""Azurite (the Azure Storage emulator) as one local region's blob service.

Accounts come from AZURITE_ACCOUNTS so an instance can host several accounts: the secondary
region hosts both the geo copy of the primary account and the new secondary account, because
Azurite copies server-side only between accounts of the same instance.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import os
import re
import shutil
import signal
from pathlib import Path

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, ExponentialRetry

from orchestrator.data import faults
from orchestrator.data.connect import RetryThrottled
from orchestrator.targets.local.servers.processes import HOST, ManagedServer

ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")  # the Azure storage account naming rule
_REPO_ROOT = Path(__file__).resolve().parents[4]


def azurite_binary() -> str:
    """The azurite-blob launcher: $AZURITE_BLOB_BIN, the repo's node_modules, or PATH."""
    candidates = [os.environ.get("AZURITE_BLOB_BIN"),
                  str(_REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"),
                  shutil.which("azurite-blob")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("azurite-blob not found: run `npm install azurite` in the repo "
                            "or set AZURITE_BLOB_BIN")


def generate_account_key() -> str:
    return base64.b64encode(os.urandom(64)).decode("ascii")


class AzuriteServer(ManagedServer):
    """One Azurite blob service on 127.0.0.1 with the given accounts (name -> base64 key)."""

    kind = "azurite"
    stop_signal = signal.SIGTERM  # Azurite flushes its metadata database on SIGTERM

    def __init__(self, data_dir: str | os.PathLike, accounts: dict[str, str]) -> None:
        super().__init__(data_dir)
        if not accounts:
            raise ValueError("an Azurite instance needs at least one account")
        for name, key in accounts.items():
            if not ACCOUNT_NAME.match(name):
                raise ValueError(f"invalid storage account name {name!r}: 3-24 lowercase letters or digits")
            try:
                base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"the key of account {name!r} is not base64") from None
        self._accounts = dict(accounts)

    @property
    def accounts(self) -> list[str]:
        return list(self._accounts)

    def _marker(self) -> str:
        return str(self.data_dir)

    def _command(self, port: int) -> list[str]:
        return [azurite_binary(), "--disableTelemetry", "--skipApiVersionCheck", "--loose",
                "--location", str(self.data_dir), "--blobHost", HOST, "--blobPort", str(port),
                # --silent turns off the access log: it would record SAS signatures of copy sources
                "--silent"]

    def _popen_kwargs(self) -> dict:
        env = dict(os.environ)
        env["AZURITE_ACCOUNTS"] = ";".join(f"{n}:{k}" for n, k in self._accounts.items())
        return {"env": env, "cwd": str(self.data_dir)}

    def _is_ready(self, port: int) -> bool:
        # any HTTP answer (403 for an unsigned request) means the blob service is serving
        conn = http.client.HTTPConnection(HOST, port, timeout=1)
        try:
            conn.request("GET", f"/{next(iter(self._accounts))}?comp=list")
            return conn.getresponse().status > 0
        except OSError:
            return False
        finally:
            conn.close()

    # -- connecting ---------------------------------------------------------------------------
    def blob_endpoint(self, account: str) -> str:
        self._check_account(account)
        return f"http://{HOST}:{self.port}/{account}"

    def account_key(self, account: str) -> str:
        """The shared key of `account`: a secret, for signing SAS tokens; never log it."""
        self._check_account(account)
        return self._accounts[account]

    def service_client(self, account: str, **kwargs) -> BlobServiceClient:
        """A shared-key client for `account`. Retries are short: the orchestrator retries whole
        steps itself, and the SDK's default back-off (15 s, x3) would only hide a dead server."""
        self._check_account(account)
        session = requests.Session()
        # Loopback only: never a proxy from HTTP(S)_PROXY, which requests would otherwise send
        # 127.0.0.1 through, and no ~/.netrc, which it looks for on every request (about a third
        # of a local copy's client CPU, by a sampling profile).
        session.trust_env = False
        # room for the copies the rehydration keeps in flight without urllib3 pool warnings
        pooled = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        retry, adapter = faults.for_blob_client(  # as they are, unless a drill injects faults
            ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1), pooled)
        session.mount("http://", adapter)
        kwargs.setdefault("retry_policy", RetryThrottled(retry))  # and a 429 with Retry-After: data/connect.py
        kwargs.setdefault("transport", RequestsTransport(session=session, session_owner=True))
        kwargs.setdefault("connection_timeout", 5)
        return BlobServiceClient(self.blob_endpoint(account),
                                 credential={"account_name": account,
                                             "account_key": self._accounts[account]}, **kwargs)

    def _check_account(self, account: str) -> None:
        if account not in self._accounts:
            raise KeyError(f"account {account!r} is not hosted by the Azurite instance in {self.data_dir}")
