"""The stack's own output keys; each service's output keys are declared beside it in
components/<stem>.py (e.g. components.lake.BLOB_ENDPOINT_OUTPUT)."""

from __future__ import annotations

REGION = "region"
ROLE = "role"
# {profile key: [{"type", "id"}]}: what the stack deployed, for the smoke checks run by hand.
RESOURCES = "resources"
