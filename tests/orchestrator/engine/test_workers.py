"""orchestrator/engine/workers.py: the pool never runs more than its size, starts threads only when needed."""

from __future__ import annotations

import _thread
import threading
import time

from orchestrator.engine.workers import WorkerPool


def test_at_most_size_tasks_run_at_once_and_every_task_runs():
    pool = WorkerPool(3)
    lock, running, peak, done = threading.Lock(), [0], [0], threading.Semaphore(0)

    def task():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        done.release()

    for _ in range(12):
        pool.submit(task)
    for _ in range(12):
        assert done.acquire(timeout=10)
    assert peak[0] == 3
    assert pool.threads == 3
    pool.close()


def test_threads_start_only_when_every_thread_is_busy():
    pool = WorkerPool(50)
    finished = threading.Semaphore(0)
    for _ in range(5):  # one at a time: the first thread takes each in turn
        pool.submit(finished.release)
        assert finished.acquire(timeout=10)
        time.sleep(0.01)  # let the worker's bookkeeping after the task finish
    assert pool.threads == 1
    release = threading.Event()
    for _ in range(4):
        pool.submit(lambda: (release.wait(10), finished.release()))
    assert pool.threads == 4
    release.set()
    for _ in range(4):
        assert finished.acquire(timeout=10)
    pool.close()


def test_after_close_the_workers_end():
    pool = WorkerPool(4)
    gate, started = threading.Event(), threading.Semaphore(0)
    for _ in range(4):
        pool.submit(lambda: (started.release(), gate.wait(10)))
    for _ in range(4):
        assert started.acquire(timeout=10)
    before = _thread._count()  # threads of the _thread module, which threading does not list
    gate.set()
    pool.close()
    deadline = time.monotonic() + 10
    while _thread._count() > before - 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _thread._count() <= before - 4
