"""The blob lease that makes one executor the writer of a run's state in the container.

The lease is taken on `<stack>/<run-id>/lease`, a small blob whose content names the holder
(host, pid, working folder, since when; nothing secret) so a refused executor can say who holds
the run. It lasts LEASE_S (60 s, Azure's longest finite lease) and a heartbeat thread renews it
every third of that: an executor that dies (SIGKILL, a lost VM) stops renewing, and after at most
60 s another machine may take over without anyone's say. `--break-lease` takes over at once, for
when the operator knows the holder is dead; the takeover is recorded in the run's evidence
(the run's lease.json, under state_lease: orchestrator/run/remote/store.py) so nobody can do it silently.

A lease on one blob does not stop writes to the others: the journal is fenced separately (its
ETag changes when a new holder takes over, orchestrator/run/remote/store.py), and the other files are
uploaded only after `check()` renewed the lease, so an executor that lost the run stops writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient, ContainerClient

from orchestrator.errors import BadInput
from orchestrator.run.rundir import utc_now

LEASE_BLOB = "lease"
LEASE_S = 60
_HELD = ("leased", "breaking")


class LeaseHeld(BadInput):
    """Another executor holds the run: refused before anything was downloaded or written."""


class StateConflict(BadInput):
    """This executor is no longer the run's writer (its lease or the journal was taken over)."""


def executor_identity(workdir: str) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "workdir": workdir}


class RunLease:
    """acquire() once, then a heartbeat until release(); `lost` says why this executor lost it."""

    def __init__(self, container: ContainerClient, prefix: str, run_id: str, *, executor: dict[str, Any],
                 lease_s: int = LEASE_S, on_beat: Callable[[], None] | None = None) -> None:
        if not 15 <= lease_s <= 60:
            raise ValueError("a blob lease lasts 15 to 60 seconds")
        self.blob = container.get_blob_client(f"{prefix}/{LEASE_BLOB}")
        self.run_id, self.executor, self.lease_s = run_id, executor, lease_s
        self.lost: str | None = None
        self._lease: BlobLeaseClient | None = None
        self._on_beat = on_beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._since: str | None = None

    # -- taking the run ----------------------------------------------------------------------

    def acquire(self, *, break_lease: bool = False) -> dict[str, Any]:
        """Take the lease; returns the acquisition for the evidence: `how` (new, released, expired,
        broken) and, when another executor's lease was taken over, `took_over` (when, why, from whom),
        shaped as orchestrator/run/lease.py records a stack lease taken over."""
        try:
            self.blob.upload_blob(b"{}", overwrite=False)  # the run's first executor creates it
        except (ResourceExistsError, HttpResponseError) as exc:
            if getattr(exc, "status_code", None) not in (409, 412):
                raise
        previous = self._holder()
        state = self.blob.get_blob_properties().lease.state
        how = {"available": "released" if previous.get("since") else "new", "expired": "expired",
               "broken": "broken"}.get(state, state)
        reason = {"expired": "its lease expired: the holder stopped renewing it",
                  "broken": "its lease had been broken"}.get(state)
        if state in _HELD:
            if not break_lease:
                raise LeaseHeld(self._held_message(previous))
            BlobLeaseClient(self.blob).break_lease(lease_break_period=0)
            how, reason = "broken", "broken with --break-lease"
        try:
            self._lease = self.blob.acquire_lease(lease_duration=self.lease_s)
        except ResourceExistsError:  # another executor took it between our read and our acquire
            raise LeaseHeld(self._held_message(self._holder())) from None
        self._since = utc_now()
        self._write_holder({"run_id": self.run_id, **self.executor, "since": self._since})
        took_over = None if reason is None else {
            "at": self._since, "reason": reason, "by": self.executor,
            "previous": {k: previous[k] for k in ("host", "pid", "workdir", "since") if k in previous}}
        return {"run_id": self.run_id, **self.executor, "acquired_at": self._since, "how": how, "took_over": took_over}

    def _held_message(self, holder: dict[str, Any]) -> str:
        who = (f"{holder.get('host', '?')} pid {holder.get('pid', '?')} (workdir {holder.get('workdir', '?')}), "
               f"holding it since {holder.get('since', '?')}") if holder else "an executor that has not said who it is"
        return (f"run {self.run_id} is held by another executor: {who}; its lease lapses {self.lease_s} s after its "
                "last renewal: wait for that, or resume with --break-lease if you know that executor is dead")

    def _holder(self) -> dict[str, Any]:
        try:
            document = json.loads(self.blob.download_blob().readall() or b"{}")
        except (AzureError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def _write_holder(self, document: dict[str, Any]) -> None:
        self.blob.upload_blob(json.dumps(document).encode(), overwrite=True, lease=self._lease)

    # -- holding it --------------------------------------------------------------------------

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="state-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.check()
            except StateConflict:
                return  # `lost` says why; the next write of the run stops it
            except AzureError:
                continue  # unreachable for now: renewing an expired lease works if nobody took it
            if self._on_beat is not None:
                with contextlib.suppress(AzureError):
                    self._on_beat()

    def check(self) -> None:
        """Renew now; StateConflict when another executor has taken the lease."""
        if self.lost:
            raise StateConflict(self.lost)
        if self._lease is None:
            raise StateConflict(f"run {self.run_id}: this executor holds no lease on its state")
        try:
            self._lease.renew()
        except HttpResponseError as exc:
            if exc.status_code not in (409, 412):
                raise
            # error_code: set by the storage SDK's error handler on the errors it raises, not declared by azure-core.
            code = getattr(exc, "error_code", None)
            self.lost = (f"run {self.run_id}: another executor took over its state ({code}); "
                         "this one stops writing")
            raise StateConflict(self.lost) from None

    def release(self) -> None:
        """Say the run is free (content first, so the next holder reads `released_at`), then release."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        lease, self._lease = self._lease, None
        if lease is None or self.lost:
            return
        try:
            self.blob.upload_blob(json.dumps({"run_id": self.run_id, **self.executor, "since": self._since,
                                              "released_at": utc_now()}).encode(), overwrite=True, lease=lease)
            lease.release()
        except AzureError:
            pass  # it lapses by itself LEASE_S after the last renewal
