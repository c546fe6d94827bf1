"""Preflight on the Pulumi state backend: the secondary stack's state must outlive the primary.

The backend is found as the Pulumi CLI finds it: the project's `backend.url` (Pulumi.yaml), else
PULUMI_BACKEND_URL, else the `current` login in ~/.pulumi/credentials.json (PULUMI_HOME moves it),
else Pulumi Cloud. https://www.pulumi.com/docs/iac/concepts/state-and-backends/

A self-managed `azblob://` backend kept in an account located in the failed region goes down
with it, and the secondary stack could then neither be deployed nor resumed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from orchestrator.redact import REDACTOR
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, finding, first_line, passed
from orchestrator.targets.azure.preflight.needs import norm_location
from orchestrator.targets.azure.preflight.platform import text
from stacks.yaml_bounded import safe_load_bounded

TITLE = "The Pulumi state backend survives the loss of the primary region"
STATE_TITLE = "The stack's state can be read"
PASSPHRASE_TITLE = "The stack's secrets can be decrypted"
# Backends Pulumi does not run itself: their stacks encrypt secrets with a passphrase unless the
# stack file names another secrets provider.
SELF_MANAGED = frozenset({"azblob", "s3", "gs", "file"})
PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE = "PULUMI_CONFIG_PASSPHRASE_FILE"
PULUMI_CLOUD_HOSTS = frozenset({"api.pulumi.com", "app.pulumi.com"})
READABLE_GEO_SKUS = frozenset({"Standard_RAGRS", "Standard_RAGZRS"})


@dataclass(frozen=True)
class Backend:
    url: str
    source: str  # where the URL came from
    kind: str  # cloud | self-hosted | file | azblob | s3 | gs | unknown
    storage_account: str | None = None

    def evidence(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        # The query can carry settings of the blob driver; only the account name is kept.
        shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return REDACTOR({"url": shown, "source": self.source, "kind": self.kind, "storage_account": self.storage_account})


@dataclass(frozen=True)
class AccountFacts:
    name: str
    location: str
    sku: str | None


def classify(url: str, source: str, env: Mapping[str, str]) -> Backend:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("https", "http"):
        kind = "cloud" if (parts.hostname or "").lower() in PULUMI_CLOUD_HOSTS else "self-hosted"
        return Backend(url, source, kind)
    if scheme == "azblob":
        # gocloud's azblob driver: azblob://container?storage_account=NAME, else AZURE_STORAGE_ACCOUNT.
        named = parse_qs(parts.query).get("storage_account")
        account = (named[0] if named else None) or env.get("AZURE_STORAGE_ACCOUNT")
        return Backend(url, source, "azblob", account or None)
    if scheme in ("file", "s3", "gs"):
        return Backend(url, source, scheme)
    return Backend(url, source, "unknown")


def resolve_backend(project_dir: Path, env: Mapping[str, str] | None = None, home: Path | None = None) -> Backend:
    env = os.environ if env is None else env
    url = _project_backend(Path(project_dir))
    if url:
        return classify(url, "Pulumi.yaml backend.url", env)
    if env.get("PULUMI_BACKEND_URL"):
        return classify(env["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL", env)
    pulumi_home = Path(env["PULUMI_HOME"]) if env.get("PULUMI_HOME") else (home or Path.home()) / ".pulumi"
    current = _current_login(pulumi_home / "credentials.json")
    if current:
        return classify(current, f"{pulumi_home / 'credentials.json'} current", env)
    return classify("https://api.pulumi.com", "default (no login recorded)", env)


def _project_backend(project_dir: Path) -> str | None:
    try:
        document = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except (FileNotFoundError, yaml.YAMLError):
        return None
    backend = document.get("backend") if isinstance(document, dict) else None
    url = backend.get("url") if isinstance(backend, dict) else None
    return url if isinstance(url, str) and url else None


def secrets_provider(project_dir: Path, stack: str) -> str | None:
    """The stack file's `secretsprovider` (None: the backend's default, a passphrase when self-managed)."""
    try:
        document = safe_load_bounded((Path(project_dir) / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {}
    except (FileNotFoundError, UnicodeDecodeError, yaml.YAMLError):
        return None
    value = document.get("secretsprovider") if isinstance(document, dict) else None
    return value if isinstance(value, str) and value else None


def _current_login(path: Path) -> str | None:
    # Only `current` is read: the file also holds access tokens, which never leave it.
    try:
        current = json.loads(path.read_text(encoding="utf-8")).get("current")
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return None
    return current if isinstance(current, str) and current else None


def find_account(session: AzureSession, name: str) -> AccountFacts | None:
    """The backend's storage account, looked up by name across the subscription."""
    for account in session.storage().storage_accounts.list():
        if (account.name or "").lower() == name.lower():
            return AccountFacts(account.name, account.location or "", text(account.sku.name) if account.sku else None)
    return None


def decide_backend(backend: Backend, failed_region: str, account: AccountFacts | None = None) -> Check:
    """The decision table, without Azure: the account (for azblob) is looked up by the caller."""
    evidence = backend.evidence()
    if backend.kind == "cloud":
        return passed("backend", TITLE, "Pulumi Cloud keeps the state outside the region pair", evidence)
    if backend.kind in ("s3", "gs"):
        return finding("backend", TITLE, "info", f"the state is kept in another cloud ({backend.kind}://), "
                       "outside Azure's regions", evidence=evidence)
    if backend.kind == "file":
        return finding(
            "backend", TITLE, "warning", "the state is in a local directory (file://)",
            fix="it must not be on a machine in the failed region; prefer Pulumi Cloud or a geo-redundant azblob:// account",
            evidence=evidence,
        )
    if backend.kind == "self-hosted":
        return finding(
            "backend", TITLE, "warning", "a self-hosted Pulumi service keeps the state",
            fix=f"make sure the service and its storage do not run in {failed_region}", evidence=evidence,
        )
    if backend.kind != "azblob":
        return finding("backend", TITLE, "warning", f"unknown backend kind for {evidence['url']}", evidence=evidence)
    return _decide_azblob(backend, failed_region, account, evidence)


def _decide_azblob(backend: Backend, failed_region: str, account: AccountFacts | None, evidence: dict) -> Check:
    if not backend.storage_account:
        return finding(
            "backend", TITLE, "warning", "azblob:// backend without a storage account name: its region is unknown",
            fix="name it with ?storage_account=NAME or AZURE_STORAGE_ACCOUNT", evidence=evidence,
        )
    if account is None:
        return finding(
            "backend", TITLE, "warning",
            f"the state account {backend.storage_account} is not in this subscription: its region is unchecked",
            fix=f"confirm by hand that {backend.storage_account} is not located in {failed_region}", evidence=evidence,
        )
    evidence.update(account_location=account.location, account_sku=account.sku, failed_region=failed_region)
    if norm_location(account.location) != norm_location(failed_region):
        return passed("backend", TITLE, f"the state account {account.name} is in {account.location}, "
                      f"not in the failed region {failed_region}", evidence)
    if account.sku in READABLE_GEO_SKUS:
        return finding(
            "backend", TITLE, "warning",
            f"the state account {account.name} is in the failed region {failed_region}, but {account.sku} keeps "
            "a copy readable from the secondary",
            fix="fail the account over (or read its -secondary endpoint) before deploying; better: move the "
                "state to Pulumi Cloud or an account outside the pair",
            evidence=evidence,
        )
    return finding(
        "backend", TITLE, "blocker",
        f"the state account {account.name} is in the failed region {failed_region} ({account.sku}): "
        "the secondary stack's state would be lost with the region",
        fix="move the state (pulumi stack export/import) to Pulumi Cloud or an account outside the primary region",
        evidence=evidence,
    )


def check_state_readable(state_readable: Callable[[], bool] | None) -> Check:
    """The Automation API hook (`pulumi stack export`). A stack never initialised is created by the
    deploy (create_or_select_stack), so it is information; any other failure to read blocks."""
    if state_readable is None:
        return finding("backend.state", STATE_TITLE, "info", "not checked: no Pulumi state reader was given")
    try:
        readable = bool(state_readable())
    except Exception as exc:
        if _stack_not_found(exc):
            return finding(
                "backend.state", STATE_TITLE, "info",
                "the stack does not exist in the backend yet: the failover will create it (a first run)",
                evidence={"exception": "StackNotFoundError"},
            )
        return finding(
            "backend.state", STATE_TITLE, "blocker", f"reading the state failed: {first_line(exc)}",
            fix="check the backend login (pulumi login) and that the stack exists there",
            evidence={"exception": type(exc).__name__},
        )
    if readable:
        return passed("backend.state", STATE_TITLE, "the stack's state was read")
    return finding("backend.state", STATE_TITLE, "blocker", "the stack's state could not be read",
                   fix="check the backend login (pulumi login) and that the stack exists there")


def _stack_not_found(exc: BaseException) -> bool:
    """The Automation API's StackNotFoundError, raised as it is or under the engine's PermanentError."""
    from pulumi.automation.errors import StackNotFoundError  # only on a failure: the module is heavy

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, StackNotFoundError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def check_passphrase(backend: Backend, env: Mapping[str, str], secrets_provider: str | None = None) -> Check:
    """A self-managed backend's stack encrypts its secrets with a passphrase (the default secrets
    provider there); without one every `pulumi up` stops at its first secret.
    https://www.pulumi.com/docs/iac/concepts/secrets/#passphrase"""
    evidence: dict[str, Any] = {"backend_kind": backend.kind, "secrets_provider": secrets_provider or "passphrase"}
    if backend.kind not in SELF_MANAGED:
        return passed("backend.passphrase", PASSPHRASE_TITLE,
                      f"a {backend.kind} backend manages the stack's secrets itself", evidence)
    if secrets_provider and not secrets_provider.startswith("passphrase"):
        return passed("backend.passphrase", PASSPHRASE_TITLE,
                      f"the stack's secrets provider is {urlsplit(secrets_provider).scheme or secrets_provider}, "
                      "not a passphrase", evidence)
    if PASSPHRASE in env:  # an empty passphrase is a passphrase too
        return passed("backend.passphrase", PASSPHRASE_TITLE, f"{PASSPHRASE} is set", evidence)
    named = env.get(PASSPHRASE_FILE)
    if named:
        evidence["passphrase_file"] = named
        if Path(named).expanduser().is_file():
            return passed("backend.passphrase", PASSPHRASE_TITLE, f"{PASSPHRASE_FILE} names a file", evidence)
        return finding("backend.passphrase", PASSPHRASE_TITLE, "blocker",
                       f"{PASSPHRASE_FILE} names {named}, which is not a file",
                       fix=f"point {PASSPHRASE_FILE} at the file holding the stack's passphrase", evidence=evidence)
    return finding(
        "backend.passphrase", PASSPHRASE_TITLE, "blocker",
        f"the {backend.kind}:// backend keeps the stack's secrets under a passphrase, and neither "
        f"{PASSPHRASE} nor {PASSPHRASE_FILE} is set",
        fix=f"export {PASSPHRASE} (or {PASSPHRASE_FILE}) with the passphrase the stack was created with",
        evidence=evidence,
    )
