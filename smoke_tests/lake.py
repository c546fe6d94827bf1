"""Lake smoke check (`blob-write-read-delete`): the same code against Azure or Azurite.

Callers pass a BlobServiceClient: with DefaultAzureCredential and the stack's `lakeBlobEndpoint`
on Azure, with a shared key on the local region pair.
"""

from __future__ import annotations

import hashlib
import os
import time

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from orchestrator.data.errors import azure_errors
from orchestrator.data.ingest import ZONES

# Kept, not deleted after the check: on Azure a deleted container's name is unusable for a while.
SMOKE_CONTAINER = "drctl-smoke"


def check_lake(service: BlobServiceClient, containers: tuple[str, ...] | list[str] = ZONES) -> dict:
    """The lake's containers exist; a canary blob can be written, read back intact and deleted."""
    checks = []
    with azure_errors("lake smoke test"):
        names = {c.name for c in service.list_containers()}
        for container in containers:
            checks.append({"check": f"container {container} exists", "ok": container in names})
        try:
            service.create_container(SMOKE_CONTAINER)
        except ResourceExistsError:
            pass
        canary = os.urandom(1024)
        blob = service.get_blob_client(SMOKE_CONTAINER, f"canary-{time.time_ns()}.bin")
        blob.upload_blob(canary, overwrite=True)
        checks.append({"check": "write canary", "ok": True})
        back = blob.download_blob().readall()
        checks.append({"check": "read canary back intact",
                       "ok": hashlib.sha256(back).digest() == hashlib.sha256(canary).digest()})
        blob.delete_blob()
        checks.append({"check": "delete canary", "ok": not blob.exists()})
    return {"ok": all(c["ok"] for c in checks), "account": service.account_name, "checks": checks}
