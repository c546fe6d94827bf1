"""Showing journal records to the run's `on_event` callback (progress lines, crash points, tests).

A record is shown only once it is durable. The main thread writes a pass's transitions as one
journal group, fsynced once at its end, so its records are held until the group is committed: a
progress line (or a test's kill after one) never gets ahead of the journal. A worker thread's
records (retries) are appended one by one, durable as they are written, and shown at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Announcer:
    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None) -> None:
        self.on_event = on_event
        self._held: list[dict[str, Any]] | None = None  # None: no group open

    def hold(self) -> None:
        """The main thread opens a journal group: hold its records until `release`."""
        self._held = []

    def written(self, record: dict[str, Any]) -> None:
        """`record` was appended to the journal: show it now, or once its group is durable."""
        if self._held is not None and threading.current_thread() is threading.main_thread():
            self._held.append(record)
        else:
            self.tell(record)

    def release(self) -> None:
        """The group is committed (or over): show what it held, and the next records as they come."""
        held, self._held = self._held or [], None
        for record in held:
            self.tell(record)

    def tell(self, record: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(record)
            except Exception:  # a broken progress display must not stop a failover
                log.exception("on_event callback failed")
