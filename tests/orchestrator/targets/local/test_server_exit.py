"""A local server whose start is still under way as drctl exits (a step abandoned at Ctrl-C, its worker
thread still starting PostgreSQL on a restored base backup) stops itself instead of outliving drctl.

The server here is a real process (`sleep`) that never becomes ready, as PostgreSQL during a long
recovery; nothing is mocked but the readiness probe's answer."""

from __future__ import annotations

import sys
import threading
import time

import psutil
import pytest

from orchestrator.targets.local.servers import processes
from orchestrator.targets.local.servers.processes import ManagedServer, ServerStartError


class NeverReady(ManagedServer):
    kind = "never-ready"
    ready_timeout_s = 60.0

    def _marker(self) -> str:
        return str(self.data_dir)

    def _command(self, port: int) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(120)", str(self.data_dir)]

    def _is_ready(self, port: int) -> bool:
        return False


@pytest.fixture
def exiting():
    yield processes._exiting
    processes._exiting.clear()


def test_a_server_still_starting_when_drctl_exits_is_stopped(tmp_path, exiting):
    server = NeverReady(tmp_path / "server")
    failure: list[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except ServerStartError as err:
            failure.append(err)

    worker = threading.Thread(target=start)
    worker.start()
    deadline = time.monotonic() + 10
    while server.pid is None:  # launched, waiting to be ready
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pid = server.pid
    processes._stop_all_at_exit()  # what atexit runs
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert failure and "exiting" in str(failure[0])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
