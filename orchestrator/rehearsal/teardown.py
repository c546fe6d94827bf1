"""Tearing a rehearsal down: stopping the emulators it started and removing their data, marker last,
with Ctrl-C and SIGTERM held off until it is done."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.engine.progress import progress_line
from orchestrator.rehearsal.marks import MARKER


def stop_emulators(local_dir: Path) -> list[dict[str, Any]]:
    """Stop every emulator still serving a data directory under `local_dir` (pid, start time and
    command line must all match its record, as for a resumed drill: never somebody else's process)."""
    from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
    from orchestrator.targets.local.servers.cosmos import CosmosServer
    from orchestrator.targets.local.servers.postgres import PostgresServer

    stopped = []
    for record in sorted(Path(local_dir).glob("*/*/service.json")):
        data_dir, kind = record.parent, (_read_json(record) or {}).get("kind")
        if kind == "azurite":
            # Stopping needs no account; the constructor wants one, and this throwaway key is never used.
            server: Any = AzuriteServer(data_dir, {"leftover": generate_account_key()})
        elif kind == "postgres":
            server = PostgresServer(data_dir)
        elif kind == "cosmos":
            server = CosmosServer(data_dir)
        else:
            continue
        for pid in server.stop_orphans():
            stopped.append({"service": kind, "data_dir": str(data_dir), "pid": pid})
    return stopped


def teardown_local_dir(local_dir: Path) -> dict[str, Any]:
    """Stop the emulators of `local_dir`, then remove it, its marker last: a removal cut short
    leaves a marked directory that `drctl cleanup` finds, never unmarked data."""
    local_dir = Path(local_dir)
    record: dict[str, Any] = {"local_dir": str(local_dir), "processes_stopped": [], "data_removed": False,
                              "error": None}
    try:
        if local_dir.exists():
            record["processes_stopped"] = stop_emulators(local_dir)
            for child in local_dir.iterdir():
                if child.name == MARKER:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            (local_dir / MARKER).unlink(missing_ok=True)
            local_dir.rmdir()
    except OSError as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["data_removed"] = not local_dir.exists()
    return record


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def teardown_shielded(say: Callable[[str], None] = progress_line) -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored while tearing down: a teardown cut short is exactly the leftover
    a rehearsal promises not to leave. (Ignored signals stay ignored in the children it starts, so
    `pulumi destroy` is not cancelled by the same keypress either.) SIGKILL still works."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    say("tearing down the rehearsal (Ctrl-C is ignored until it is done)")
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
