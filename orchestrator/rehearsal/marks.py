"""How a rehearsal marks what it creates, before it creates it: the leftovers `drctl cleanup` may remove.

- locally, `<workdir>/local/<run-id>/.drctl-rehearsal.json` in the emulators' data directory:
  name, created_at, expires_at, and the drctl process (host, pid, start time) that owns it;
- on Azure, the tags `drctl-rehearsal` (the ephemeral stack's name) and `drctl-expires` (ISO 8601)
  on every resource group of the rehearsal's stack (`dataplatform:foundation.tags`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.run.ownership import iso

MARKER = ".drctl-rehearsal.json"
REHEARSAL_TAG = "drctl-rehearsal"
EXPIRES_TAG = "drctl-expires"
DEFAULT_TTL_HOURS = 4.0


def marker_document(name: str, ttl_hours: float, now: datetime | None = None, **extra: Any) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {"name": name, "created_at": iso(now), "expires_at": iso(now + timedelta(hours=ttl_hours)),
            "ttl_hours": ttl_hours, **extra}
