"""Writing a file so that readers see the old content or the new, never half of it.

drctl may be killed at any moment (Ctrl-C, SIGTERM, SIGKILL, a power cut), and another process may
be reading the file meanwhile (`drctl status`, a resume on another machine, a CI job publishing a
document). So every file drctl writes whole goes to a temporary file in the same directory first,
is fsynced, and then takes the final name in one rename. A leftover temporary file ends in `.tmp`,
which the evidence seal and the state mirror skip.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, exclusive: bool = False,
                 mode: int = 0o644) -> None:
    """Write `data` (text as UTF-8) to `path` whole. `exclusive`: the file must not exist yet
    (FileExistsError otherwise), for records written once. `mode` before the umask, as open() has it."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    # A name of its own per writer: two processes writing the same file never share a temporary one.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
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
