"""Lifecycle of the local emulator processes: start, readiness, stop, and resume after a crash.

Each service owns a data directory. A small state file there records the pid, the port and the
process start time, so a later drctl (after the previous one was killed) can find an orphan it
left behind, stop it, and start again on the same data. Only a process whose pid, start time and
command line all match the record is treated as ours: pids get reused, and we must never signal
somebody else's process.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import psutil

from orchestrator.atomic import write_atomic

HOST = "127.0.0.1"  # every local server binds to loopback only
STATE_FILE = "service.json"


class ServerStartError(RuntimeError):
    """A local server did not come up; the message carries the tail of its log."""


def free_port(preferred: int | None = None) -> int:
    """A free TCP port on loopback; the preferred one (a resumed service's old port) if free."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do: connections of a stopped server in TIME_WAIT do not block the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def read_state(directory: Path) -> dict | None:
    try:
        return json.loads((directory / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None  # a torn write from a crash counts as "no record"


def write_state(directory: Path, state: dict) -> None:
    write_atomic(directory / STATE_FILE, json.dumps(state, indent=2))  # a crash never leaves half a record


def owned_process(pid: int | None, marker: str, create_time: float | None = None) -> psutil.Process | None:
    """The live process `pid` if it is ours: its command line names our data dir (and, when
    recorded, it started at the recorded time); otherwise None."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if create_time is not None and abs(proc.create_time() - create_time) > 0.5:
            return None  # the pid was recycled by an unrelated process
        if not any(marker in part for part in proc.cmdline()):
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_gone(proc: psutil.Process) -> bool:
    """Exited. A zombie counts as gone: an orphan's zombie is reaped by init, on init's time."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(proc: psutil.Process, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not is_gone(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def terminate(proc: psutil.Process, sig: int, timeout_s: float = 15.0) -> None:
    """Ask with `sig`, then kill the whole process group (postgres backends too)."""
    try:
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        return
    if _wait_gone(proc, timeout_s):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
    try:
        proc.kill()
    except psutil.NoSuchProcess:
        return
    _wait_gone(proc, 5)


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds the listening socket on `port`: a readiness probe
    alone could be answered by whoever else grabbed the port."""
    try:
        return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in psutil.Process(pid).net_connections(kind="inet"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def log_tail(path: Path, since: int = 0, lines: int = 30) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log empty)"


# strong references: a server nobody holds any more must still be stopped at exit
_registry: set[ManagedServer] = set()
_registry_lock = threading.Lock()


# Set as drctl exits: a step abandoned at Ctrl-C may still be starting a server in its worker thread
# (a restore's PostgreSQL recovering), which must then stop it rather than leave it behind.
_exiting = threading.Event()


def stop_all() -> None:
    """Stop every server this process started. Safe to call twice, and from atexit."""
    with _registry_lock:
        servers = list(_registry)
    for server in servers:
        server.stop()


def _stop_all_at_exit() -> None:
    _exiting.set()
    stop_all()


atexit.register(_stop_all_at_exit)


class ManagedServer:
    """One server process bound to one data directory. Subclasses say how to prepare the data
    directory, which command to run and how to tell it is ready."""

    kind = "server"
    stop_signal = signal.SIGTERM
    abrupt_signal = signal.SIGKILL
    ready_timeout_s = 30.0
    ready_poll_s = 0.1  # between readiness probes while it starts

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.log_path = self.data_dir / f"{self.kind}.log"
        self._lock = threading.RLock()
        self._popen: subprocess.Popen | None = None
        self._port: int | None = None

    # -- what subclasses provide -------------------------------------------------------------
    def _marker(self) -> str:
        """A string found in the server's command line only when it serves this data dir."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Make the data directory usable (first start only; never wipe existing data)."""

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    def _popen_kwargs(self) -> dict:
        return {}

    def _is_ready(self, port: int) -> bool:
        raise NotImplementedError

    def _orphan_pids(self) -> list[tuple[int | None, float | None]]:
        state = read_state(self.data_dir) or {}
        return [(state.get("pid"), state.get("create_time"))]

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None or not self.running:
            raise RuntimeError(f"{self.kind} in {self.data_dir} is not running")
        return self._port

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> ManagedServer:
        with self._lock:
            if self.running:
                return self
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.stop_orphans()
            self._prepare()
            previous = (read_state(self.data_dir) or {}).get("port")
            for attempt in range(3):
                port = free_port(previous if attempt == 0 else None)
                try:
                    self._launch(port)
                    break
                except ServerStartError as err:
                    # another process may have grabbed the port between our probe and the bind
                    if attempt == 2 or "in use" not in str(err).lower():
                        raise
            with _registry_lock:
                _registry.add(self)
            return self

    def _launch(self, port: int) -> None:
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            # a new session: a Ctrl-C aimed at drctl does not kill the servers mid-step; stop()
            # and stop_orphans() own their shutdown
            self._popen = subprocess.Popen(
                self._command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, **self._popen_kwargs())
        # registered before it is ready: a step abandoned at Ctrl-C while its server starts (a
        # restore's recovery takes a while) must not leave that server behind when drctl exits
        with _registry_lock:
            _registry.add(self)
        self._port = port
        proc = psutil.Process(self._popen.pid)
        write_state(self.data_dir, {"kind": self.kind, "pid": self._popen.pid, "port": port,
                                    "create_time": proc.create_time()})
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            if _exiting.is_set():  # after stop_all's snapshot of the registry, or waiting for this lock
                self.stop()
                raise ServerStartError(f"{self.kind} in {self.data_dir}: drctl is exiting, not started")
            if self._popen.poll() is not None:
                code = self._popen.returncode
                self._popen = None
                raise ServerStartError(f"{self.kind} in {self.data_dir} exited with code {code} while "
                                       f"starting on port {port}; log tail:\n{log_tail(self.log_path, log_offset)}")
            if listens_on(self._popen.pid, port) and self._is_ready(port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"{self.kind} in {self.data_dir} not ready on port {port} after "
                                       f"{self.ready_timeout_s:.0f}s; log tail:\n{log_tail(self.log_path, log_offset)}")
            time.sleep(self.ready_poll_s)

    def stop(self, abrupt: bool = False) -> None:
        """Stop the server if we run it. `abrupt` kills it (a disaster, not a shutdown)."""
        with self._lock:
            popen, self._popen = self._popen, None
            if popen is None:
                return
            if popen.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    terminate(psutil.Process(popen.pid), self.abrupt_signal if abrupt else self.stop_signal)
            popen.wait()  # reap, so no zombie keeps the pid alive
            state = read_state(self.data_dir) or {}
            if state.get("pid") == popen.pid:  # keep the port: a restart tries it first
                with contextlib.suppress(OSError):  # the data dir is gone: nothing left to resume
                    write_state(self.data_dir, {**state, "pid": None, "create_time": None})

            with _registry_lock:
                _registry.discard(self)

    def detach(self) -> None:
        """Leave the server running after this process ends (`drctl drill --keep-running`): it is no
        longer stopped by stop() or at exit; `drctl cleanup` stops it through its state file."""
        with self._lock:
            self._popen = None
            with _registry_lock:
                _registry.discard(self)

    def stop_orphans(self) -> list[int]:
        """Stop a server left running on this data dir by a drctl that died. Returns their pids."""
        stopped = []
        for pid, created in self._orphan_pids():
            if self._popen is not None and pid == self._popen.pid:
                continue
            proc = owned_process(pid, self._marker(), created)
            if proc is not None:
                terminate(proc, self.stop_signal)
                stopped.append(proc.pid)
        return stopped

    def __enter__(self) -> ManagedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never includes secrets
        return f"{type(self).__name__}(data_dir={str(self.data_dir)!r}, pid={self.pid}, port={self._port})"

