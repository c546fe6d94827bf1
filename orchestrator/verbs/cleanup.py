"""`drctl cleanup`: find what rehearsals left behind and remove it.

A rehearsal tears itself down; what is left is what its teardown could not do (drctl killed with
SIGKILL, a power cut, a `pulumi destroy` that failed). Leftovers are found by the marks every
rehearsal puts down before it starts anything:

- locally, `<workdir>/local/<run-id>/.drctl-rehearsal.json` in the emulators' data directory:
  name, created_at, expires_at, and the drctl process (host, pid, start time) that owns it;
- on Azure, the tags `drctl-rehearsal` (the ephemeral stack's name) and `drctl-expires` (ISO 8601)
  on every resource group of the rehearsal's stack (`dataplatform:foundation.tags`).

A drill's region left running (`drill --keep-running`) carries the same marker, kind "kept", and is
stopped and removed here. Only marked things are touched: a drill's kept data has no marker, a resource group without the
tag is never listed. The run directories (`<workdir>/runs/...`) are evidence and stay.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR
from orchestrator.rehearsal.marks import EXPIRES_TAG, MARKER, REHEARSAL_TAG
from orchestrator.rehearsal.teardown import teardown_local_dir
from orchestrator.run.ownership import owner_alive, parse_time

if TYPE_CHECKING:
    from orchestrator.targets.azure.clients import AzureSession

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# -- local ---------------------------------------------------------------------------------------


def local_leftovers(workdir: Path, now: datetime) -> list[dict[str, Any]]:
    """Every marked data directory under `<workdir>/local/`, with the decision and its reason."""
    found = []
    for marker_path in sorted(Path(workdir).resolve().glob(f"local/*/{MARKER}")):
        entry: dict[str, Any] = {"local_dir": str(marker_path.parent)}
        try:
            marker = json.loads(marker_path.read_text(encoding="utf-8"))
            if not isinstance(marker, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            found.append({**entry, "remove": False, "reason": "marker unreadable: left alone"})
            continue
        entry.update(name=marker.get("name"), expires_at=marker.get("expires_at"))
        expires, alive = parse_time(marker.get("expires_at")), owner_alive(marker)
        if marker.get("kind") == "kept" and alive is not True:  # orchestrator/targets/local/kept.py
            entry.update(remove=True, reason="a drill's region left running by --keep-running")
        elif alive:
            entry.update(remove=False, reason=f"its drctl (pid {marker['pid']}) is still running")
        elif alive is False:
            entry.update(remove=True, reason=f"its drctl (pid {marker['pid']}) is gone")
        elif expires is None:
            entry.update(remove=False, reason="marker has no valid expires_at: left alone")
        elif expires <= now:
            entry.update(remove=True, reason=f"expired at {marker['expires_at']}")
        else:
            entry.update(remove=False, reason=f"expires at {marker['expires_at']}")
        found.append(entry)
    return found


def cleanup_local(workdir: Path, *, dry_run: bool, now: datetime | None = None,
                  undo_host_changes: bool = False) -> dict[str, Any]:
    """The marked leftovers under `workdir`, removed unless `dry_run`; and the host changes drills
    made as root (targets/local/host_changes.py): listed, undone with `undo_host_changes`."""
    from orchestrator.targets.local import host_changes

    now = now or datetime.now(UTC)
    found = local_leftovers(workdir, now)
    if not dry_run:
        for entry in found:
            if entry["remove"]:
                entry["teardown"] = teardown_local_dir(Path(entry["local_dir"]))
    host = host_changes.undo(dry_run=dry_run) if undo_host_changes else host_changes.pending()
    return {"workdir": str(Path(workdir).resolve()), "dry_run": dry_run, "leftovers": found,
            "host_changes": {"ledger": str(host_changes.ledger_path()), "undo": undo_host_changes, "changes": host}}


# -- Azure ---------------------------------------------------------------------------------------


def cleanup_azure(subscription: str, *, dry_run: bool, now: datetime | None = None,
                  session: AzureSession | None = None) -> dict[str, Any]:
    """List the resource groups tagged drctl-rehearsal, delete those whose drctl-expires passed.

    `session` is an AzureSession (tests give one on the example-payload transport); without it,
    DefaultAzureCredential must get a token first: a missing login is bad input, nothing listed."""
    if not _GUID.match(subscription or ""):
        raise BadInput(f"--subscription: {subscription!r} is not a subscription id (a GUID)")
    now = now or datetime.now(UTC)
    owned = session is None
    if session is None:
        from orchestrator.targets.azure.clients import AzureSession
        from orchestrator.targets.azure.preconditions import check_azure_credentials

        check_azure_credentials()
        session = AzureSession.from_environment(subscription)
    from azure.core.exceptions import HttpResponseError

    document: dict[str, Any] = {"subscription": subscription, "dry_run": dry_run, "resource_groups": [], "error": None}
    try:
        groups = session.resources().resource_groups
        try:
            listed = list(groups.list(filter=f"tagName eq '{REHEARSAL_TAG}'"))
        except HttpResponseError as exc:
            document["error"] = f"listing the resource groups failed: {_http_error(exc)}"
            return document
        for group in listed:
            document["resource_groups"].append(_decide(group, now))
        if not dry_run:
            # Start every deletion first, then wait: ARM deletes the groups in parallel.
            pollers = []
            for entry in (e for e in document["resource_groups"] if e["remove"]):
                try:
                    pollers.append((entry, groups.begin_delete(entry["name"])))
                except HttpResponseError as exc:
                    entry["error"] = _http_error(exc)
            for entry, poller in pollers:
                try:
                    poller.result()
                    entry["deleted"] = True
                except HttpResponseError as exc:
                    entry["error"] = _http_error(exc)
    finally:
        if owned:
            session.close()
    return REDACTOR(document)


def _decide(group: Any, now: datetime) -> dict[str, Any]:
    tags = dict(group.tags or {})
    entry: dict[str, Any] = {"name": group.name, "location": group.location, "rehearsal": tags.get(REHEARSAL_TAG),
                             "expires_at": tags.get(EXPIRES_TAG)}
    expires = parse_time(tags.get(EXPIRES_TAG))
    if expires is None:
        # Without a readable expiry nobody said it may go: a rehearsal still running looks the same.
        entry.update(remove=False, reason=f"no valid {EXPIRES_TAG} tag: left alone")
    elif expires <= now:
        entry.update(remove=True, reason=f"expired at {tags[EXPIRES_TAG]}")
    else:
        entry.update(remove=False, reason=f"expires at {tags[EXPIRES_TAG]}")
    return entry


def _http_error(exc: Any) -> str:
    code = getattr(getattr(exc, "error", None), "code", None) or getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).splitlines()[0]
    return REDACTOR.text(f"{code}: {message}"[:300])
