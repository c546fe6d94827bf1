"""The engine's bounded pool of step workers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class WorkerPool:
    """At most max_workers daemon threads: a step abandoned at Ctrl-C cannot keep the process alive.

    A thread starts when a task comes and every thread has one already, so `--workers 1000` costs
    nothing until a thousand steps are ready at once (starting them all up front took half a
    second of the run's clock)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
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
        with self._lock:
            self._in_flight += 1
            # Every thread runs a task or waits for one: with no more tasks in flight than
            # threads, each queued task has a thread free to take it.
            start = self._in_flight > len(self._threads) and len(self._threads) < self._size
            if start:
                thread = threading.Thread(target=self._work, name=f"drctl-step-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
        if start:
            thread.start()
        self._tasks.put(task)

    def close(self) -> None:
        with self._lock:
            threads = len(self._threads)
        for _ in range(threads):
            self._tasks.put(None)
