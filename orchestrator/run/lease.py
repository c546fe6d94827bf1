"""Stack leases: one failover, drill or fallback per stack at a time.

A run holds its stack's lease from the moment its input is checked (just before its run directory
is created; for a resume, once the run is found resumable) to its end. The lease is the file
`<workdir>/leases/<stack>.json`: the holder's run id and kind, host, pid and process start time,
acquired_at and expires_at. A heartbeat thread moves expires_at forward every RENEW_EVERY_S while
the run goes on; the end of the run (success, failure, Ctrl-C) removes the file.

Another run on the stack is refused (bad input: one line naming the holder's run, exit 2), unless
the lease is stale:
- written on this host, and its holder process is gone (the pid is not running, or runs another
  process: its start time differs). A dead process renews nothing, whatever expires_at says;
- written on another host (whose processes this host cannot see), and expires_at has passed.
A live holder on this host keeps its lease even past expires_at: a heartbeat late on a loaded
machine is no reason to run twice. `--break-lease` takes any lease over (a holder on a machine
that died before its lease expired, or one that hangs). Every takeover is recorded: a line on
stderr, `took_over` in the new lease file, and the run's evidence `lease.json` (who took whose
lease, when, and why). A holder whose lease was broken says so once on stderr and stops renewing.

FileLease has the operations of an Azure blob lease (acquire, renew, release, break), so run state
kept in a blob container can hold its lease on the blob instead, behind the same StackLease.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.progress import progress_line
from orchestrator.errors import BadInput
from orchestrator.run.ownership import owner_alive, owner_fields, parse_time
from orchestrator.run.rundir import RunDir

LEASES_DIR = "leases"
TTL_S = 60.0
RENEW_EVERY_S = 15.0  # four chances to renew before a lease seen from another host expires
_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class LeaseHeld(BadInput):
    """Another live run holds the stack's lease."""


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_holder(doc: dict[str, Any]) -> str:
    if "unreadable" in doc:
        return f"an unreadable lease file (last written {doc.get('written_at')})"
    run = doc.get("run_id") or f"a {doc.get('kind', 'run')} still starting (no run id yet)"
    return (f"run {run} ({doc.get('kind')}, pid {doc.get('pid')} on {doc.get('host')}, since "
            f"{doc.get('acquired_at')}, lease until {doc.get('expires_at')})")


class FileLease:
    """The lease of one stack as a file. `acquire`, `renew`, `bind` and `release` act for this
    object's holder only; `break_lease` ends whoever's lease is there."""

    def __init__(self, workdir: Path, stack: str, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.time):
        if not _STACK.match(stack):
            raise BadInput(f"--stack: {stack!r} cannot name a lease file")
        self.stack, self.ttl_s, self._clock = stack, ttl_s, clock
        self.dir = Path(workdir).resolve() / LEASES_DIR
        self.path = self.dir / f"{stack}.json"
        self.holder: dict[str, Any] | None = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Judging a lease and replacing it must be one step, or two runs could both find the same
        # stale lease and both take it. flock on the directory: the kernel drops it if we die.
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
            written = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return {"unreadable": text[:120], "written_at": _iso(written), "written_epoch_s": written}
        return doc

    def stale(self, doc: dict[str, Any]) -> str | None:
        """Why the lease `doc` may be taken over without --break-lease, or None while it holds."""
        now = self._clock()
        if "unreadable" in doc:
            return "the lease file is unreadable and older than its TTL" \
                if doc["written_epoch_s"] + self.ttl_s < now else None
        alive = owner_alive(doc)
        if alive is False:
            return f"its holder process {doc.get('pid')} on {doc.get('host')} is gone"
        expires = parse_time(doc.get("expires_at"))
        if alive is None and (expires is None or expires.timestamp() < now):
            return f"it expired at {doc.get('expires_at')} and its host {doc.get('host')} is not this one"
        return None

    def acquire(self, holder: dict[str, Any], *, break_lease: bool = False) -> dict[str, Any] | None:
        """Hold the lease for `holder`; returns the record of the lease taken over, if any."""
        with self._locked():
            current = self.read()
            took_over = None
            if current is not None:
                reason = self.stale(current)
                if break_lease:
                    reason = "broken with --break-lease" + (f" ({reason})" if reason else "")
                if reason is None:
                    raise LeaseHeld(f"stack {self.stack} is in use by {describe_holder(current)}: wait for it to end; "
                                    f"if it is dead, `--break-lease` takes its lease ({self.path})")
                previous = {k: v for k, v in current.items() if k != "took_over"}  # one level, not a chain
                took_over = {"at": _iso(self._clock()), "reason": reason, "previous": previous,
                             "by": {k: holder.get(k) for k in ("run_id", "kind", "user", "host", "pid")}}
            doc = self._stamped({**holder, "acquired_at": _iso(self._clock()), "took_over": took_over})
            self._write(doc, create=current is None)
            self.holder = doc
            return took_over

    def renew(self) -> bool:
        """Move expires_at forward; False once the file no longer names this holder (broken)."""
        with self._locked():
            current = self.read()
            if not self._ours(current):
                return False
            self.holder = self._stamped(current)
            self._write(self.holder, create=False)
            return True

    def bind(self, run_id: str) -> None:
        """The run id, once the run directory exists (a new run acquires before it has one)."""
        with self._locked():
            current = self.read()
            if self._ours(current):
                took_over = current.get("took_over")
                if took_over and took_over["by"].get("run_id") is None:
                    took_over = {**took_over, "by": {**took_over["by"], "run_id": run_id}}
                self.holder = {**current, "run_id": run_id, "took_over": took_over}
                self._write(self.holder, create=False)

    def release(self) -> None:
        with self._locked():
            if self._ours(self.read()):
                self.path.unlink()
        self.holder = None

    def break_lease(self) -> dict[str, Any] | None:
        """End whoever's lease is there (for a blob: Break Lease); returns what it said."""
        with self._locked():
            current = self.read()
            if current is not None:
                self.path.unlink()
            return current

    def _ours(self, current: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
        return bool(current and self.holder and current.get("token") == self.holder["token"])

    def _stamped(self, doc: dict[str, Any]) -> dict[str, Any]:
        now = self._clock()
        return {**doc, "renewed_at": _iso(now), "expires_at": _iso(now + self.ttl_s)}

    def _write(self, doc: dict[str, Any], *, create: bool) -> None:
        # No reader ever sees half a lease; a new lease appears only where there was none.
        try:
            write_json_atomic(self.path, doc, exclusive=create)
        except FileExistsError:
            # Only without working flock (some network filesystems) can this race be lost.
            raise LeaseHeld(f"stack {self.stack} is in use by {describe_holder(self.read() or {})}") from None


class StackLease:
    """The lease a run command holds. The CLI creates it (nothing happens yet) and releases it when
    the command ends; the run acquires it once its input is checked, and binds its run id and run
    directory, where `lease.json` records every acquisition and takeover."""

    def __init__(self, workdir: Path, stack: str, kind: str, *, break_lease: bool = False, ttl_s: float = TTL_S,
                 renew_every_s: float = RENEW_EVERY_S, say: Callable[[str], None] | None = None) -> None:
        self.workdir, self.stack, self.kind, self.break_lease = Path(workdir), stack, kind, break_lease
        self.ttl_s, self.renew_every_s = ttl_s, renew_every_s
        self._say = say
        self.lease: FileLease | None = None
        self.took_over: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def say(self, line: str) -> None:
        (self._say or progress_line)(line)

    @property
    def held(self) -> bool:
        return self.lease is not None and self.lease.holder is not None

    def acquire(self, run_id: str | None = None) -> None:
        """Take the lease (LeaseHeld, one line, when another run holds it); says nothing yet, so the
        run's `run:` line can still come first on stderr: `bind` reports a takeover."""
        lease = self.lease = FileLease(self.workdir, self.stack, ttl_s=self.ttl_s)
        holder = {**owner_fields(), "user": _user(), "kind": self.kind, "stack": self.stack, "run_id": run_id,
                  "token": secrets.token_hex(8)}
        self.took_over = lease.acquire(holder, break_lease=self.break_lease)
        self._heartbeat = threading.Thread(target=self._beat, args=(lease,), name=f"lease-{self.stack}", daemon=True)
        self._heartbeat.start()

    def bind(self, run_id: str, run_dir: Path) -> None:
        """The run's id into the lease, and the acquisition (with any takeover) into its evidence."""
        assert self.lease is not None and self.lease.holder is not None, "bind after acquire"
        self.lease.bind(run_id)
        self.took_over = self.lease.holder.get("took_over")  # now naming this run as the taker
        if self.took_over:
            self.say(f"lease: took stack {self.stack}'s lease from {describe_holder(self.took_over['previous'])}: "
                     f"{self.took_over['reason']}")
        path = RunDir(run_dir).lease_json
        try:
            evidence = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            evidence = {"stack": self.stack, "lease_file": str(self.lease.path), "acquisitions": []}
        entry = {k: v for k, v in self.lease.holder.items() if k != "took_over"}
        evidence.setdefault("acquisitions", []).append({**entry, "took_over": self.took_over})
        write_json_atomic(path, evidence)

    def _beat(self, lease: FileLease) -> None:
        while not self._stop.wait(self.renew_every_s):
            try:
                if not lease.renew():
                    holder = lease.read()
                    self.say(f"lease: stack {self.stack}'s lease was taken by "
                             f"{describe_holder(holder) if holder else 'nobody (removed)'}; no longer renewed")
                    return
            except OSError as exc:  # a full disk must not stop the run; expiry covers the rest
                self.say(f"lease: could not renew stack {self.stack}'s lease: {exc}")

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        if self.lease is not None and self.lease.holder is not None:
            self.lease.release()

    def __enter__(self) -> StackLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def lease_workdir(run_dir: Path, run: dict[str, Any], default: Path) -> Path:
    """The workdir whose leases a resumed run takes: the one holding `runs/<stack>/<run-id>/`."""
    return RunDir(run_dir).workdir(str(run.get("stack"))) or Path(run.get("workdir") or default)
