"""The run journal: append-only JSON lines, each fsynced before the transition it records.

The journal is the source of truth for a run. Replaying it gives the state of every step, which
is how `drctl resume` continues on any machine that can read the run directory and how
`drctl status` reports without running anything. A line torn by a crash mid-write can only be
the last one (every earlier append completed, fsync included); it is reported and cut away
before the next append. Damage anywhere else means the file was edited: refuse to guess.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from orchestrator.atomic import make_private_dir, open_for_append
from orchestrator.engine.journal_state import Event, JournalState
from orchestrator.json_lines import JsonLines, TornLine, UnreadableLine
from orchestrator.model import StepState
from orchestrator.run.rundir import RunDir

Redact = Callable[[dict[str, Any]], dict[str, Any]]
Mirror = Callable[[bytes], None]


class JournalCorrupt(Exception):
    """A line other than the last cannot be read: the journal was damaged or edited."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        super().__init__(f"{path}: line {line_no}: {reason}")
        self.path, self.line_no, self.reason = path, line_no, reason


def _jsonable(value: Any) -> Any:
    """What json cannot encode on its own, made readable instead of failing the transition."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"  # payloads never belong in the journal
    return str(value)


class Journal:
    """Open with `Journal.open(run_dir)`; opening only reads, the first append may repair."""

    def __init__(self, run_dir: Path, state: JournalState, torn: list[TornLine], valid_size: int,
                 redact: Redact | None, now: Callable[[], float], mirror: Mirror | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.path = RunDir(run_dir).journal
        self.state = state
        self.torn_lines = torn  # reported to the caller; cut from the file on the first append
        self.redact: Redact = redact or (lambda record: record)
        self._now = now
        self._size = valid_size
        self._fd: int | None = None
        self._lock = threading.Lock()  # retries are journaled from worker threads
        self._grouping = threading.local()  # per thread: inside `group()`, commit at its end
        self._held: list[bytes] = []  # lines of a group, applied to `state`, not yet written
        self._committed: list[bytes] = []  # durable, not yet mirrored
        # Called with each line's bytes once they are fsynced, under the lock (so in journal order):
        # orchestrator/run/remote/store.py sends them to the run's state container. What it raises
        # reaches the caller of append, after the line is durable here and applied to `state`.
        self.mirror = mirror

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str], *, redact: Redact | None = None,
             now: Callable[[], float] = time.time, mirror: Mirror | None = None) -> Journal:
        state, torn, valid_size = replay(RunDir(Path(run_dir)).journal)
        return cls(Path(run_dir), state, torn, valid_size, redact, now, mirror)

    @property
    def empty(self) -> bool:
        return self.state.last_seq == 0

    def append(self, event: Event | str, **fields: Any) -> dict[str, Any]:
        """Write one event durably, then apply it to `state`; returns the record as written."""
        with self._lock:
            seq = self.state.last_seq + 1
            ts = datetime.fromtimestamp(self._now(), tz=UTC).isoformat(timespec="milliseconds")
            record = self.redact({"seq": seq, "ts": ts, "event": str(event), **fields})
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_jsonable) + "\n"
            # What replay will read back, so the live state and a resumed one cannot differ.
            written = json.loads(line)
            if written.get("seq") != seq or written.get("event") != str(event):
                raise ValueError("the redact hook must not change seq or event")
            self._held.append(line.encode("utf-8"))
            grouped = getattr(self._grouping, "depth", 0) > 0
            if not grouped:
                try:
                    self._commit()  # this line, after any a group holds (they come first in seq)
                except BaseException:
                    self._held.clear()  # this one is not applied; a group's lines die with the run
                    raise
            self.state.apply(written)
            if not grouped:
                self._mirror_committed()
            return written

    @contextmanager
    def group(self) -> Iterator[None]:
        """Group commit: this thread's appends inside the block are applied to `state` at once,
        and written and fsynced together when it ends. The caller must let none of their
        transitions take effect before then (the engine hands the steps a pass started to workers
        after its group). Another thread's append commits what the group holds before its own line."""
        depth = getattr(self._grouping, "depth", 0)
        self._grouping.depth = depth + 1
        try:
            yield
        finally:
            self._grouping.depth = depth
            if depth == 0:
                with self._lock:
                    try:
                        self._commit()
                    finally:
                        self._held.clear()
                    self._mirror_committed()

    def _commit(self) -> None:
        """Write and fsync the held lines in one go (one syscall each: with many worker threads
        every syscall also waits for the GIL back)."""
        if self._held:
            self._write(b"".join(self._held))
            self._committed += self._held
            self._held = []

    def _mirror_committed(self) -> None:
        lines, self._committed = self._committed, []
        if self.mirror is not None:
            for data in lines:
                self.mirror(data)  # in journal order, each line durable here first

    def _write(self, data: bytes) -> None:
        fd = self._ensure_fd()
        start = self._size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)  # durable before the caller lets the transition take effect
        except BaseException:
            # Interrupted mid-line (Ctrl-C, a full disk): cut the partial line so later appends
            # in this process do not land after garbage, then let the caller see the error.
            with suppress(OSError):
                os.ftruncate(fd, start)
            raise
        self._size = start + len(data)

    def _ensure_fd(self) -> int:
        if self._fd is None:
            make_private_dir(self.run_dir)  # RunDir.create made it; this only when it is missing
            created = not self.path.exists()
            self._fd = open_for_append(self.path)
            if os.fstat(self._fd).st_size > self._size:
                os.ftruncate(self._fd, self._size)  # the torn tail found by replay
                os.fsync(self._fd)
            if created:
                _fsync_dir(self.run_dir)  # the file's directory entry must survive a crash too
        return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open directories; the file itself is still fsynced
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replay(path: Path) -> tuple[JournalState, list[TornLine], int]:
    """The state a journal file describes, its torn last line if any, and its valid length."""
    state = JournalState()
    try:
        lines = JsonLines(path.read_bytes())
    except FileNotFoundError:
        return state, [], 0
    try:
        for number, record in lines:
            if not isinstance(record, dict) or "event" not in record or "seq" not in record:
                raise JournalCorrupt(path, number, "not a journal event (no seq or event)")
            if record["seq"] != state.last_seq + 1:
                raise JournalCorrupt(path, number, f"seq {record['seq']} follows {state.last_seq}")
            state.apply(record)
    except UnreadableLine as exc:
        raise JournalCorrupt(path, exc.line_no, f"not JSON ({exc.cause})") from None
    return state, [lines.torn] if lines.torn else [], lines.valid_size


def status(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Where a run stands, read from its journal without changing it (for `drctl status`)."""
    run_dir = Path(run_dir)
    if not RunDir(run_dir).journal.is_file():
        raise FileNotFoundError(f"no {RunDir.JOURNAL} in {run_dir}")
    journal = Journal.open(run_dir)
    state = journal.state
    steps: list[dict[str, Any]] = []
    for step_id, rec in state.steps.items():
        steps.append({
            "id": step_id,
            "state": str(rec.state),
            "attempts": rec.attempts,
            "duration_s": rec.duration_s,
            "started_at": rec.started_at,
            "finished_at": rec.finished_at,
            "error": (rec.error or {}).get("error") if rec.state == StepState.FAILED else None,
            "retriable": (rec.error or {}).get("retriable") if rec.state == StepState.FAILED else None,
            "reason": rec.reason,
            "exercised": rec.exercised,
        })
    counts: dict[str, int] = {}
    for entry in steps:
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
    return {
        "run_id": run_dir.name,
        "run_dir": str(run_dir),
        "stack": (state.plan or {}).get("stack"),
        "outcome": state.outcome,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "runs": state.runs,
        "counts": counts,
        "steps": steps,
        "torn_lines": [dataclasses.asdict(torn) for torn in journal.torn_lines],
    }
