"""`drctl publish-evidence RUN --container URL --retain-days N`: a copy of the sealed run directory
that no operator can alter, for the auditor to read.

The container must have version-level immutability (WORM) enabled, which also turns on blob
versioning (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies).
drctl first verifies the run (nothing that fails verify-evidence is published), uploads each file
as `<run-id>/<chain head digest, 16 hex>/<path>`, so each sealed state of a run is a copy of its
own, never overwriting one (If-None-Match: *), and then sets a time-based retention policy on the
blob version it wrote: Locked by default (it can then be extended, never shortened or removed),
Unlocked with --unlocked, to try the setup out. A blob already there with the same bytes is kept
(a publish that stopped half-way is run again); with other bytes it is a problem, not overwritten.

URL: the forms of --state-url (orchestrator/run/remote/url.py): https://<account>.blob.core.windows.net/<container>
with an Entra sign-in, or a local Azurite with the key in $DRCTL_STATE_ACCOUNT_KEY. The identity
must be allowed to write blobs and to set their immutability policy (Storage Blob Data Owner's data
actions cover every blob operation).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobImmutabilityPolicyMode, BlobServiceClient, ContainerClient, ImmutabilityPolicy

from orchestrator.errors import BadInput
from orchestrator.evidence.chain import head, regular_files
from orchestrator.evidence.signatures import PublicKey
from orchestrator.evidence.verify import verify
from orchestrator.redact import REDACTOR


def publish(run_dir: Path, container_url: str, *, retain_days: int, locked: bool = True,
            public_keys: dict[str, PublicKey] | None = None, container: ContainerClient | None = None) -> dict[str, Any]:
    """{"published": bool, "problems", "blobs": [...]}. `container`: a client the tests give (else
    one for `container_url`). BadInput (nothing uploaded) for a container that is not WORM."""
    run_dir = Path(run_dir)
    checked = verify(run_dir, public_keys)
    document: dict[str, Any] = {"run_dir": str(run_dir), "container": container_url, "published": False,
                                "problems": checked["problems"], "blobs": []}
    if checked["problems"]:
        return document
    container = container or _container(container_url)
    _require_worm(container, container_url)
    link = head(run_dir)
    if link is None:  # verify reports an unsigned seal; kept for the type checker
        return document
    prefix = f"{run_dir.name}/{link.digest[:16]}"
    expiry = datetime.now(UTC) + timedelta(days=retain_days)
    policy = ImmutabilityPolicy(expiry_time=expiry, policy_mode=BlobImmutabilityPolicyMode.LOCKED if locked
                                else BlobImmutabilityPolicyMode.UNLOCKED)
    document.update(prefix=prefix, retain_until=expiry.isoformat(timespec="seconds"),
                    policy_mode=str(policy.policy_mode))
    for name in regular_files(run_dir)[0]:
        try:
            document["blobs"].append(_publish_file(container, run_dir / name, f"{prefix}/{name}", policy))
        except _Conflict as exc:
            document["problems"].append({"file": name, "problem": str(exc)})
        except AzureError as exc:
            document["problems"].append({"file": name, "problem": f"not published: {_reason(exc)}"})
            break  # the container refuses or is gone: the rest would fail the same way
    document["published"] = not document["problems"]
    return document


class _Conflict(Exception):
    pass


def _publish_file(container: ContainerClient, path: Path, blob_name: str, policy: ImmutabilityPolicy) -> dict[str, Any]:
    data = path.read_bytes()
    blob = container.get_blob_client(blob_name)
    try:
        version_id = blob.upload_blob(data, overwrite=False).get("version_id")
        state = "uploaded"
    except ResourceExistsError:
        if blob.download_blob().readall() != data:
            raise _Conflict(f"{blob_name} is already in the container with other bytes: left as it is") from None
        properties = blob.get_blob_properties()
        version_id, state = properties.version_id, "already there"
        if properties.immutability_policy.expiry_time is not None:
            return {"blob": blob_name, "version_id": version_id, "state": state,
                    "retain_until": properties.immutability_policy.expiry_time.isoformat()}
    if not version_id:
        raise _Conflict("the container gave the blob no version id: is blob versioning on?")
    # On the version just written: a later write to the same name is a new version, this one stays.
    answer = blob.set_immutability_policy(policy, version_id=version_id)
    return {"blob": blob_name, "version_id": version_id, "state": state,
            "retain_until": str(answer.get("immutability_policy_until_date")),
            "policy_mode": str(answer.get("immutability_policy_mode"))}


def _require_worm(container: ContainerClient, url: str) -> None:
    try:
        properties = container.get_container_properties()
    except ResourceNotFoundError:
        raise BadInput(f"--container: {url}: no such container (create it with version-level immutability)") from None
    except HttpResponseError as exc:
        raise BadInput(f"--container: {url}: {exc.status_code} {_reason(exc)}") from None
    except AzureError as exc:
        raise BadInput(f"--container: {url}: cannot reach it ({_reason(exc)})") from None
    if not properties.immutable_storage_with_versioning_enabled:
        raise BadInput(f"--container: {url} does not have version-level immutability enabled, so a copy there "
                       "could be altered: create the container with it (az storage container-rm create "
                       "--enable-vlw), or enable it on the account")


def _container(url: str) -> ContainerClient:
    from orchestrator.run.remote.url import credential_for, parse_state_url

    try:
        location = parse_state_url(url)
        credential = credential_for(location)
    except BadInput as exc:
        raise BadInput(str(exc).replace("--state-url", "--container")) from None
    return BlobServiceClient(location.account_url, credential=credential,
                             connection_timeout=10, read_timeout=60).get_container_client(location.container)


def _reason(exc: AzureError) -> str:
    code = getattr(exc, "error_code", None)  # set by the storage SDK on the errors it raises
    text = REDACTOR.text(str(exc)).strip()
    return str(code) if code else (text.splitlines()[0][:200] if text else type(exc).__name__)
