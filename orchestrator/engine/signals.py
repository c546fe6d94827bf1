"""SIGTERM as Ctrl-C, for the commands that run recoveries.

A `kill` (a CI job cancelled, a container stopped) then takes the same path as Ctrl-C: running
steps get their grace, the journal says where the run stopped, and teardown code in `finally`
blocks runs. Signal handlers can only be set from the main thread; elsewhere this does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_as_interrupt(on_sigterm: Callable[[], None] | None = None) -> Iterator[None]:
    """`on_sigterm` runs first, in the handler (it must not block): what SIGTERM owes beyond Ctrl-C.
    A terminal's Ctrl-C reaches drctl's whole process group, its children included; a `kill`
    reaches drctl alone, so a child that must stop (`pulumi up`) has to be told by drctl."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _terminate(signum, frame):
        if on_sigterm is not None:
            on_sigterm()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
