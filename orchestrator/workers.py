"""The engine's bounded pool of step workers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class WorkerPool:
    """max_workers daemon threads: a step abandoned at Ctrl-C cannot keep the process alive."""

    def __init__(self, size: int) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"drctl-step-{n}", daemon=True) for n in range(size)]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)

    def close(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
