"""Who holds a stack lease or a rehearsal marker, whether that drctl process still runs, and the
timestamps that say until when it holds.

A holder is named by host, pid and the process's start time: a later process that happens to get
the same pid is somebody else, and a holder on another host cannot be looked up from here.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import psutil


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (no zone means UTC), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def owner_fields() -> dict[str, Any]:
    """Who owns a lease or marker: this drctl process, told apart from a later one that reuses its pid."""
    return {"host": socket.gethostname(), "pid": psutil.Process().pid, "pid_started": psutil.Process().create_time()}


def owner_alive(marker: dict[str, Any]) -> bool | None:
    """True/False when the owning drctl is known to run or to be gone; None when this host cannot
    tell (another host wrote the marker, or it names no process)."""
    pid, started = marker.get("pid"), marker.get("pid_started")
    if marker.get("host") != socket.gethostname() or not isinstance(pid, int):
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # A recycled pid belongs to somebody else: the owner is gone.
        return not (isinstance(started, (int, float)) and abs(proc.create_time() - started) > 0.5)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; whose it is cannot be read, so do not pull the data from under it
