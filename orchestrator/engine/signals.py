"""SIGTERM as Ctrl-C, for the commands that run recoveries.

A `kill` (a CI job cancelled, a container stopped) then takes the same path as Ctrl-C: running
steps get their grace, the journal says where the run stopped, and teardown code in `finally`
blocks runs. Signal handlers can only be set from the main thread; elsewhere this does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
