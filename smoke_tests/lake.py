"""The lake's checks: a canary blob written, read back and deleted (smoke); every zone's blob count,
bytes and content digest equal to the backup's manifest (data).

The same code runs against Azurite (drctl drill --local) and Azure: the caller builds the probe,
with a shared key on the local region pair, with DefaultAzureCredential and the stack's
`lakeBlobEndpoint` on Azure, and turns the SDK's errors into the engine's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smoke_tests.check import LOCAL_AND_AZURE, LOCAL_SERVER, CheckKind, SameFact, data, smoke

if TYPE_CHECKING:  # the SDK is imported when a check runs: preview and plan declare checks, run none
    from azure.storage.blob import BlobServiceClient

AZURITE = LOCAL_SERVER + " (Azurite)"
COMPONENT = "lake"
# Kept, not deleted after the check: on Azure a deleted container's name is unusable for a while.
SMOKE_CONTAINER = "drctl-smoke"


@dataclass(frozen=True)
class LakeProbe:
    service: BlobServiceClient  # the recovered region's lake account
    containers: tuple[str, ...]  # the zones that must exist


def blob_write_read_delete(probe: LakeProbe) -> dict:
    """The lake's containers exist; a canary blob can be written, read back intact and deleted."""
    from azure.core.exceptions import ResourceExistsError

    service = probe.service
    checks = []
    names = {c.name for c in service.list_containers()}
    for container in probe.containers:
        checks.append({"check": f"container {container} exists", "ok": container in names})
    with contextlib.suppress(ResourceExistsError):
        service.create_container(SMOKE_CONTAINER)
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


CHECKS = (
    smoke(COMPONENT, "blob-write-read-delete", blob_write_read_delete, LOCAL_AND_AZURE, tested_against=AZURITE),
    # From the listing only: nothing is downloaded (orchestrator/data/manifest.py's container facts).
    data(COMPONENT, "container-counts", SameFact("blobs"), LOCAL_AND_AZURE, tested_against=AZURITE),
    data(COMPONENT, "bytes", SameFact("bytes"), LOCAL_AND_AZURE, tested_against=AZURITE),
    data(COMPONENT, "content-md5", SameFact("digest"), LOCAL_AND_AZURE, tested_against=AZURITE),
)

# The data checks drctl's validation runs against the backup's manifest (orchestrator/data/manifest.py).
DATA = tuple(check for check in CHECKS if check.kind == CheckKind.DATA)
