"""What a local drill changes on the host beyond its own folders, said when it happens and undoable.

PostgreSQL refuses to run as root, so a drill run as root creates a system user for it (useradd)
and lets that user traverse the folders above its data directory (o+x on each that lacked it).
Both outlive the run. Each change is said on stderr as it is made, kept for the run's evidence
(`made()`), and recorded in a ledger in the user's state folder ($XDG_STATE_HOME/drctl, else
~/.local/state/drctl), which `drctl cleanup --local --undo-host-changes` reads to undo them: it
removes the user once no process runs as it, and takes back o+x from a folder whose mode is still
what the drill set (a folder someone changed since is left as they made it).
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import threading
from pathlib import Path
from typing import Any

import psutil

from orchestrator.atomic import make_dirs, make_private_dir, write_atomic

LEDGER = "host-changes.json"
_lock = threading.Lock()
_made: list[dict[str, Any]] = []


def ledger_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "drctl" / LEDGER


def describe(change: dict[str, Any]) -> str:
    if change["kind"] == "user":
        return f"created system user {change['name']} (PostgreSQL refuses to run as root)"
    return f"{change['path']}: mode {change['before']} -> {change['after']} (so the PostgreSQL user can reach its data)"


def _key(change: dict[str, Any]) -> tuple[str, str]:
    return change["kind"], change.get("name") or change["path"]


def _read() -> list[dict[str, Any]]:
    try:
        entries = json.loads(ledger_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("kind") in ("user", "mode")] \
        if isinstance(entries, list) else []


def _write(entries: list[dict[str, Any]]) -> None:
    path = ledger_path()
    make_dirs(path.parent.parent)
    make_private_dir(path.parent)
    write_atomic(path, json.dumps(entries, indent=2) + "\n", mode=0o600)


def record(change: dict[str, Any]) -> None:
    """Say `change` on stderr, keep it for this run's evidence, add it to the ledger."""
    from orchestrator.engine.progress import progress_line

    with _lock:
        _made.append(change)
        entries = _read()
        if _key(change) not in {_key(e) for e in entries}:  # the first mode a folder had is the one to restore
            _write([*entries, change])
    progress_line(f"host change: {describe(change)}; undo with `drctl cleanup --local --undo-host-changes`")


def user_created(name: str) -> None:
    record({"kind": "user", "name": name})


def mode_changed(path: Path, before: int, after: int, *, for_user: str) -> None:
    record({"kind": "mode", "path": str(path), "before": oct(stat.S_IMODE(before)), "after": oct(stat.S_IMODE(after)),
            "for": for_user})


def made() -> list[dict[str, Any]]:
    """The host changes this process made (a run's evidence)."""
    with _lock:
        return [dict(c) for c in _made]


def pending() -> list[dict[str, Any]]:
    """The ledger's changes not undone yet."""
    with _lock:
        return _read()


def undo(*, dry_run: bool) -> list[dict[str, Any]]:
    """Undo what the ledger holds where that is safe: each change with `undone` and, if not, `reason`."""
    results, keep = [], []
    with _lock:
        entries = _read()
        for change in reversed(entries):  # the user last: folders first, as they were granted for it
            done, reason = _undo_one(change, dry_run)
            results.append({**change, "undone": done and not dry_run, "reason": reason})
            if not done or dry_run:
                keep.append(change)
        if not dry_run:
            _write(list(reversed(keep)))
    return list(reversed(results))


def _undo_one(change: dict[str, Any], dry_run: bool) -> tuple[bool, str | None]:
    if change["kind"] == "user":
        return _remove_user(change["name"], dry_run)
    running = _running_as(change.get("for"))
    if running:
        return False, f"{len(running)} process(es) still run as {change['for']} (a drill's PostgreSQL): stop them first"
    path = Path(change["path"])
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return True, "gone: nothing to undo"
    if oct(stat.S_IMODE(mode)) != change["after"]:
        return False, f"its mode is {oct(stat.S_IMODE(mode))} now, not what the drill set: left as it is"
    if not dry_run:
        path.chmod(int(change["before"], 8))
    return True, None


def _running_as(name: str | None) -> list[int]:
    try:
        uid = pwd.getpwnam(name).pw_uid if name else None
    except KeyError:
        return []
    return [] if uid is None else [p.pid for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]


def _remove_user(name: str, dry_run: bool) -> tuple[bool, str | None]:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True, "gone: nothing to undo"
    running = _running_as(name)
    if running:
        return False, f"{len(running)} process(es) still run as {name} (a drill's PostgreSQL): stop them first"
    if dry_run:
        return True, None
    done = subprocess.run(["userdel", name], capture_output=True, text=True)
    if done.returncode != 0:
        return False, f"userdel {name} failed: {done.stderr.strip()}"
    return True, None
