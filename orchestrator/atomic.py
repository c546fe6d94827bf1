"""Writing a file so that readers see the old content or the new, never half of it.

drctl may be killed at any moment (Ctrl-C, SIGTERM, SIGKILL, a power cut), and another process may
be reading the file meanwhile (`drctl status`, a resume on another machine, a CI job publishing a
document). So every file drctl writes whole goes to a temporary file in the same directory first,
is fsynced, and then takes the final name in one rename. A leftover temporary file ends in `.tmp`,
which the evidence seal and the state mirror skip.

A private directory (a run directory, 0700) keeps what is written in it private: a file written
there is 0600 and a folder made there 0700, set explicitly, so the umask does not decide. Evidence
names hosts, accounts, databases and people; it is for the operator and the auditor they give it to.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def is_private(directory: str | os.PathLike[str]) -> bool:
    """Whether `directory` lets nobody but its owner in."""
    try:
        return stat.S_IMODE(os.stat(directory).st_mode) & 0o077 == 0
    except OSError:
        return False


def _exact_mode(directory: Path, mode: int | None) -> int | None:
    """The mode a new file in `directory` is set to, or None for open()'s 0o644 less the umask."""
    if mode is not None:
        return mode
    return PRIVATE_FILE if is_private(directory) else None


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """`mkdir -p`, each new folder 0700 where its parent is private (else as mkdir makes it)."""
    path = Path(path)
    missing = []
    at = path
    while not at.exists():
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        private = is_private(folder.parent)
        try:
            folder.mkdir(mode=PRIVATE_DIR if private else 0o777)
        except FileExistsError:
            continue  # made meanwhile by another writer
        if private:
            os.chmod(folder, PRIVATE_DIR)
    return path


def make_private_dir(path: str | os.PathLike[str], *, exist_ok: bool = True) -> Path:
    """Folder `path` set to 0700 (its parents as mkdir makes them): a run directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        if not exist_ok:
            raise
        if not is_private(path):
            return path  # an existing directory keeps the mode its owner gave it
    os.chmod(path, PRIVATE_DIR)
    return path


def open_for_append(path: str | os.PathLike[str], flags: int = 0) -> int:
    """A file descriptor appending to `path`, created as write_atomic creates files."""
    path = Path(path)
    exact = _exact_mode(path.parent, None)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | flags, exact if exact is not None else 0o644)
    if exact is not None:
        os.fchmod(fd, exact)
    return fd


def append_text(path: str | os.PathLike[str]) -> IO[str]:
    """open(path, "a") as text, created as write_atomic creates files."""
    return os.fdopen(open_for_append(path), "a", encoding="utf-8")


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, exclusive: bool = False,
                 mode: int | None = None) -> None:
    """Write `data` (text as UTF-8) to `path` whole. `exclusive`: the file must not exist yet
    (FileExistsError otherwise), for records written once. `mode` exactly, whatever the umask;
    without it 0600 in a private directory, else 0644 less the umask, as open() has it."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    # A name of its own per writer: two processes writing the same file never share a temporary one.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    exact = _exact_mode(path.parent, mode)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, exact if exact is not None else 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            if exact is not None:
                os.fchmod(handle.fileno(), exact)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)  # fails when the file exists: O_EXCL's guarantee, with the content complete
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike[str], document: Any, *, exclusive: bool = False) -> None:
    """`document` as indented JSON with a final newline, written as write_atomic writes."""
    write_atomic(path, json.dumps(document, indent=2) + "\n", exclusive=exclusive)
