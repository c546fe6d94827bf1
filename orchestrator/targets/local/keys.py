"""The local region's secrets: the emulators' account keys and PostgreSQL's superuser password.

They live in one 0600 JSON file per local workdir (each run has its own), so a resumed run reconnects
with them and a new run gets new ones; they are never printed.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from orchestrator.atomic import write_atomic

KEYS_FILE = "account-keys.json"
# Its name in the keys file: '-' is in no storage account name, so no account's key can take its place.
POSTGRES_PASSWORD = "postgres-superuser"


def new_password() -> str:
    return secrets.token_urlsafe(32)


def load_or_create(path: Path, wanted: Mapping[str, Callable[[], str]]) -> dict[str, str]:
    """The keys file at `path`, with an entry made by its factory for every `wanted` name it lacks."""
    keys: dict[str, str] = {}
    if path.exists():
        keys = json.loads(path.read_text(encoding="utf-8"))
    missing = [name for name in wanted if name not in keys]
    if missing:
        keys.update({name: wanted[name]() for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(keys), mode=0o600)
    os.chmod(path, 0o600)
    return keys

