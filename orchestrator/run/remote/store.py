"""A run's state off the executor's machine: the run directory mirrored to `<container>/<stack>/<run-id>/`.

While a run goes on, its local run directory stays the source of truth (fsynced journal first,
as always); the container is the copy another machine resumes from when this one dies. So:

- the journal is an append blob. Each line is sent right after its local fsync (Journal's
  `mirror` hook, in journal order), with two conditions: the append position (the blob's length
  as this executor last wrote it) and If-Match on its ETag. Two writers therefore cannot
  interleave lines, and a writer that was taken over is refused: a new holder changes the
  blob's ETag when it takes the run (its `executor` metadata), which fences the old one out.
- every other file (run.json, plan.json, manifests, evidence, reports, SHA256SUMS, ...) is a
  block blob uploaded when it is new or changed: after the disaster is staged, after each step
  ends and when the run ends, so the container ends up with exactly what the run directory holds.
- one executor writes: it holds the run's blob lease (orchestrator/run/remote/lease.py) and renews
  it before uploading files; a conflict (lease taken, journal fenced) stops the run
  (StateConflict), while a container that does not answer only delays the copy: unsent journal
  lines go with the next append or heartbeat, and the run is not failed for it.

`drctl resume --state-url URL RUN` (open_for_resume) takes the lease first (nothing is touched if
another executor holds it), fences the journal, then brings the local run directory level with
the container: downloaded into `<workdir>/runs/<stack>/<run-id>/` when absent or behind, or the
container caught up when the local journal is ahead (the same machine resuming). A journal that
disagrees with the container's is refused rather than merged.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.progress import progress_line
from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR
from orchestrator.run.remote.lease import LEASE_S, RunLease, StateConflict, executor_identity
from orchestrator.run.remote.url import StateLocation, container_client, parse_state_url
from orchestrator.run.rundir import RunDir

# The run's lease evidence (lease.json), shared with the stack lease (orchestrator/run/lease.py) under
# its own key: every executor that took the run's state lease, how, and whose lease it took over.
EVIDENCE_KEY = "state_lease"
MAX_BLOCK = 4 * 1024 * 1024  # the largest Append Block every service version accepts
# Events after which files the steps wrote (approvals, faults.json) are worth sending.
SYNC_AFTER = frozenset({"step_succeeded", "step_waiting", "run_finished", "run_interrupted"})
T = TypeVar("T")


def _etag(response: Mapping[str, object]) -> str:
    """A write's ETag: a string, in a response the SDK types as holding strings, dates and ints."""
    return str(response["etag"])


class RunStateStore:
    """connect(), then start_run() for a new run (or orchestrator/run/remote/resume.py for an existing
    one); the journal calls journal_mirror(); close() sends what is left and releases the lease."""

    def __init__(self, location: StateLocation, container: ContainerClient, *, lease_s: int = LEASE_S) -> None:
        self.location, self.container, self.lease_s = location, container, lease_s
        # The run bind() points the store at; run_dir, lease and journal_blob read them.
        self._run_dir: Path | None = None
        self._lease: RunLease | None = None
        self._journal_blob: BlobClient | None = None
        self._lock = threading.RLock()  # the journal's thread and the heartbeat both send
        self.prefix = ""
        self._etag: str | None = None
        self._length = 0
        self._pending = b""  # journal bytes fsynced locally, not yet in the container
        self._synced: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) sent
        self._token = secrets.token_hex(8)  # this executor's fence on the journal blob
        self._conflict: str | None = None
        self._behind = False
        self._closed = False
        # Said with the run's first journal line, not before: a run's first stderr line is `run: <dir>`.
        self._notes: list[str] = []

    @classmethod
    def connect(cls, url: str, *, lease_s: int = LEASE_S) -> RunStateStore:
        """BadInput (one line) for a bad URL, a missing key or an unreachable container."""
        location = parse_state_url(url)
        return cls(location, container_client(location), lease_s=lease_s)

    def bind(self, run_dir: Path, stack: str, run_id: str, workdir: Path) -> None:
        """Point the store at one run: `<stack>/<run-id>/` in the container, `run_dir` here."""
        self._run_dir, self.prefix = Path(run_dir), f"{stack}/{run_id}"
        self._journal_blob = self.container.get_blob_client(f"{self.prefix}/{RunDir.JOURNAL}")
        self._lease = RunLease(self.container, self.prefix, run_id, executor=executor_identity(str(workdir)),
                               lease_s=self.lease_s, on_beat=self._catch_up)

    @property
    def run_dir(self) -> Path:
        return self._bound(self._run_dir)

    @property
    def lease(self) -> RunLease:
        return self._bound(self._lease)

    @property
    def journal_blob(self) -> BlobClient:
        return self._bound(self._journal_blob)

    @staticmethod
    def _bound(value: T | None) -> T:
        if value is None:
            raise RuntimeError("state store: no run bound (bind() or start_run() first)")
        return value

    # -- taking the run ------------------------------------------------------------------------

    def start_run(self, run_dir: Path, run: dict[str, Any]) -> None:
        """A new run: lease, an empty journal blob fenced with this executor's token, first files."""
        run_dir = Path(run_dir)
        self.bind(run_dir, run["stack"], run["run_id"], RunDir(run_dir).workdir(run["stack"]) or run_dir.parents[2])
        record = self.lease.acquire()
        try:
            self.create_journal(b"", exclusive=True)
            self.take(record)
        except ResourceExistsError:
            self.lease.release()
            raise BadInput(f"--state-url: {self.location.url} already holds a journal for {self.prefix}") from None
        except BaseException:
            self.lease.release()
            raise

    def create_journal(self, pending: bytes, *, exclusive: bool = False) -> None:
        """A new journal blob under this executor's token; `pending` (a local journal) is sent by take()."""
        created = self.journal_blob.create_append_blob(
            metadata={"executor": self._token}, match_condition=MatchConditions.IfMissing if exclusive else None)
        self._etag, self._length, self._pending = _etag(created), 0, pending

    def fence(self) -> bytes | None:
        """Change the journal blob's ETag under this executor's token, then read it at that ETag:
        an earlier holder's next append is refused, and nothing can land between fence and read.
        None when the container has no journal for the run."""
        try:
            fenced = self.journal_blob.set_blob_metadata({"executor": self._token})
        except ResourceNotFoundError:
            return None
        data = self.journal_blob.download_blob(etag=_etag(fenced),
                                               match_condition=MatchConditions.IfNotModified).readall()
        self._etag, self._length = _etag(fenced), len(data)
        return data

    def take(self, record: dict[str, Any], *, pending: bytes = b"", fetched: bool = False) -> None:
        """The run is this executor's now: evidence of how it took the lease, heartbeat, first sync.
        `pending`: local journal lines the container lacks; `fetched`: the run directory was just
        downloaded, so its files need not go back up."""
        self._pending += pending
        if fetched:
            self._synced = {relative: stat for relative, _, stat in self._files()}
        path = RunDir(self.run_dir).lease_json
        try:
            evidence = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            evidence = {}
        evidence = evidence if isinstance(evidence, dict) else {}
        mine = evidence.setdefault(EVIDENCE_KEY, {"url": self.location.url, "blob": self.lease.blob.blob_name,
                                                  "acquisitions": []})
        mine.setdefault("acquisitions", []).append(record)
        write_json_atomic(path, evidence)
        if record["took_over"]:
            previous = record["took_over"]["previous"]
            self._notes.append(f"state lease: took run {record['run_id']} from {previous.get('host', '?')} pid "
                               f"{previous.get('pid', '?')}: {record['took_over']['reason']} "
                               f"(recorded in {RunDir.LEASE})")
        self.lease.start_heartbeat()
        self.sync()

    # -- while the run goes on -----------------------------------------------------------------

    def journal_mirror(self, line: bytes) -> None:
        """Journal's mirror hook: called with each line after its fsync, in journal order."""
        while self._notes:
            progress_line(self._notes.pop(0))
        with self._lock:
            self._pending += line
            self._flush()
        try:
            event = json.loads(line).get("event")
        except ValueError:
            event = None
        if event in SYNC_AFTER:
            self.sync()

    def sync(self) -> bool:
        """Send the journal's unsent lines and every new or changed file; False when the container
        did not answer (said once on stderr). StateConflict when this executor lost the run."""
        with self._lock:
            try:
                self.lease.check()  # before overwriting anything: is the run still ours?
                if not self._flush():
                    return False
                for relative, path, stat in self._files():
                    if self._synced.get(relative) != stat:
                        self.container.get_blob_client(f"{self.prefix}/{relative}").upload_blob(
                            path.read_bytes(), overwrite=True)
                        self._synced[relative] = stat
            except StateConflict as exc:
                self._conflict = str(exc)
                raise
            except (AzureError, OSError) as exc:
                return self._fall_behind(exc)
            return True

    def _flush(self) -> bool:
        if self._conflict or self.lease.lost:
            raise StateConflict(self._conflict or self.lease.lost)
        while self._pending:
            chunk = self._pending[:MAX_BLOCK]
            try:
                result = self.journal_blob.append_block(chunk, appendpos_condition=self._length, etag=self._etag,
                                                        match_condition=MatchConditions.IfNotModified)
                self._etag = _etag(result)
            except HttpResponseError as exc:
                if exc.status_code != 412:
                    return self._fall_behind(exc)
                if not self._landed_already(chunk):
                    self._conflict = (f"run {self.prefix}: its journal in {self.location.url} was written by "
                                      "another executor; this one stops writing")
                    raise StateConflict(self._conflict) from None
            except AzureError as exc:
                return self._fall_behind(exc)
            self._length += len(chunk)
            self._pending = self._pending[len(chunk):]
        if self._behind:
            self._behind = False
            progress_line(f"state container {self.location.url}: caught up")
        return True

    def _landed_already(self, chunk: bytes) -> bool:
        """After a 412: was it our own append, whose answer was lost and which the SDK retried?"""
        props = self.journal_blob.get_blob_properties()
        if props.metadata.get("executor") != self._token or props.size != self._length + len(chunk):
            return False
        tail = self.journal_blob.download_blob(offset=self._length, length=len(chunk), etag=props.etag,
                                               match_condition=MatchConditions.IfNotModified).readall()
        if tail != chunk:
            return False
        self._etag = props.etag
        return True

    def _fall_behind(self, exc: BaseException) -> bool:
        if not self._behind:
            self._behind = True
            text = REDACTOR.text(str(exc)).strip()
            reason = text.splitlines()[0][:160] if text else type(exc).__name__
            progress_line(f"state container {self.location.url}: not answering ({reason}); the run goes on, "
                          "what it writes is sent when it answers again")
        return False

    def _catch_up(self) -> None:
        with self._lock:
            try:
                if self._pending:
                    self._flush()
            except StateConflict:
                pass  # recorded in _conflict: the run's next journal line stops it

    def _files(self) -> list[tuple[str, Path, tuple[int, int]]]:
        found = []
        for path in sorted(self.run_dir.rglob("*")):
            relative = path.relative_to(self.run_dir).as_posix()
            if relative == RunDir.JOURNAL or path.name.endswith(".tmp") or not path.is_file():
                continue  # the journal goes as an append blob; .tmp files are writes in progress
            stat = path.stat()
            found.append((relative, path, (stat.st_size, stat.st_mtime_ns)))
        return found

    def close(self) -> None:
        """Send what is left (unless another executor owns the run now) and release the lease."""
        if self._closed or self._lease is None:
            return
        self._closed = True
        try:
            if not self._conflict and not self.lease.lost and not (self.sync() and not self._pending):
                progress_line(f"state container {self.location.url} lacks part of this run: "
                              f"`drctl resume --state-url {self.location.url} {self.run_dir}` here sends it")
        except StateConflict as exc:
            progress_line(REDACTOR.text(str(exc)))
        finally:
            self.lease.release()
