"""The engine's bounded pool of step workers."""

from __future__ import annotations

import _thread
import queue
import threading
from collections.abc import Callable


class WorkerPool:
    """At most max_workers threads, started as tasks need them, never joined: a step abandoned at
    Ctrl-C cannot keep the process alive (threads of the `_thread` module end with the
    interpreter, as daemon threads do).

    A thread starts when a task comes and every thread has one already, so `--workers 1000` costs
    nothing until a thousand steps are ready at once (starting them all up front took half a
    second of the run's clock). They are `_thread` threads: threading.Thread.start() waits until
    the new thread runs, about 0.3 to 0.5 ms on two busy cores against 0.05 ms, and when one
    finished foundation made a thousand deploys ready, those waits put the critical path's next
    step about 100 ms behind its dependency."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = 0
        self._lock = threading.Lock()
        self._in_flight = 0  # submitted and not finished: queued or running

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            try:
                task()
            finally:
                with self._lock:
                    self._in_flight -= 1

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)
        with self._lock:
            self._in_flight += 1
            # Every thread runs a task or waits for one: with no more tasks in flight than
            # threads, each queued task has a thread free to take it.
            if self._in_flight > self._threads and self._threads < self._size:
                self._threads += 1
                _thread.start_new_thread(self._work, ())

    @property
    def threads(self) -> int:
        with self._lock:
            return self._threads

    def close(self) -> None:
        """Let every worker end once the tasks queued before this call are taken."""
        with self._lock:
            threads, self._threads = self._threads, self._size  # no thread starts after close
        for _ in range(threads):
            self._tasks.put(None)
