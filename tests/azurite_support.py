"""An Azurite server in a directory of its own for a test module, started and always stopped and
removed; skipped with the reason when the emulator is not installed (`./dev setup` installs it)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from orchestrator.targets.local.servers.azurite import AzuriteServer, azurite_binary

Server = TypeVar("Server", bound=AzuriteServer)


@contextmanager
def azurite_in_tempdir(prefix: str, make: Callable[[Path], Server]) -> Iterator[tuple[Server, Path]]:
    """`make(workdir)` builds the server (plain, or with OAuth and TLS); it runs until the block ends."""
    try:
        azurite_binary()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    server = make(workdir)
    try:
        server.start()
        yield server, workdir
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
