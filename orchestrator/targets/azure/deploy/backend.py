"""What the stack's state backend asks of drctl before a Pulumi command can run.

A self-managed ("DIY") backend (file://, azblob://, s3://, gs://) keeps stack secrets encrypted
with a passphrase unless the stack file names another `secretsprovider`; without
PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE the CLI refuses `stack init`, `up` and
`refresh` ("passphrase must be set with ..."). Said before the failover starts, in one line.
https://www.pulumi.com/docs/iac/concepts/secrets/#initializing-a-stack-with-alternative-encryption

It also decides whether `pulumi cancel` can stop a running update: Pulumi Cloud (or a self-hosted
service) marks the update cancelled and the running CLI stops; on a self-managed backend it only
deletes the stack's lock file while that CLI goes on (pulumi/pulumi#9253, #9100).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from orchestrator.targets.azure.preflight.backend import Backend, resolve_backend
from stacks.stack_file import stack_file
from stacks.yaml_bounded import safe_load_bounded

SELF_MANAGED = frozenset({"file", "azblob", "s3", "gs"})
SERVICE = frozenset({"cloud", "self-hosted"})
PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE = "PULUMI_CONFIG_PASSPHRASE_FILE"


def backend_for(project_dir: Path, env: Mapping[str, str] | None = None) -> Backend:
    return resolve_backend(Path(project_dir), os.environ if env is None else env)


def cancel_stops_the_update(backend: Backend) -> bool:
    return backend.kind in SERVICE


def passphrase_problem(project_dir: Path, stack: str, env: Mapping[str, str] | None = None) -> str | None:
    """Why the CLI would refuse this stack for want of a passphrase, or None."""
    env = os.environ if env is None else env
    backend = backend_for(project_dir, env)
    if backend.kind not in SELF_MANAGED or not _passphrase_secrets(Path(project_dir), stack):
        return None
    where = backend.evidence()["url"]
    if env.get(PASSPHRASE_FILE):
        path = Path(env[PASSPHRASE_FILE]).expanduser()
        return None if os.access(path, os.R_OK) else f"{PASSPHRASE_FILE}: {path} cannot be read"
    if PASSPHRASE in env:  # set, even empty, is a passphrase
        return None
    return (f"{PASSPHRASE} or {PASSPHRASE_FILE} must be set: the state backend {where} is self-managed and "
            f"stack '{stack}' keeps its secrets encrypted with a passphrase")


def _passphrase_secrets(project_dir: Path, stack: str) -> bool:
    """True unless the stack file names a secrets provider other than the passphrase."""
    try:
        document = safe_load_bounded(stack_file(project_dir, stack).read_text(encoding="utf-8")) or {}
    except (FileNotFoundError, UnicodeDecodeError, yaml.YAMLError):
        return True  # the CLI's default for a self-managed backend; the stack file's own errors are said elsewhere
    provider = document.get("secretsprovider") if isinstance(document, dict) else None
    return not isinstance(provider, str) or not provider or provider.startswith("passphrase")
