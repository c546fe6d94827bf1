"""Reading an append-only JSON-lines file whose last line a crash may have torn.

Each append completes (fsync included) before the next begins, so only the last line can be cut
short: bytes after the last newline, or a terminated line that does not decode (zero-filled blocks
after a power loss). That line is torn, not history; damage on any earlier line means the file was
edited, and the reader refuses to guess (UnreadableLine).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TornLine:
    line_no: int
    offset: int  # where the torn bytes start; the file is cut back to here before appending
    size: int
    preview: str


class UnreadableLine(Exception):
    """A line before the last is not JSON."""

    def __init__(self, line_no: int, cause: ValueError) -> None:
        super().__init__(f"line {line_no}: not JSON ({cause})")
        self.line_no, self.cause = line_no, cause


class JsonLines:
    """Iterate for (line number, record); afterwards `torn` holds the torn last line, if any, and
    `valid_size` the length of the complete lines the iteration went through."""

    def __init__(self, data: bytes) -> None:
        self._lines = data.split(b"\n")
        # The element after the last newline is b"" for a complete file, else an unterminated write.
        self._tail = self._lines.pop()
        self.torn: TornLine | None = None
        self.valid_size = 0

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        last = len(self._lines)
        for number, raw in enumerate(self._lines, start=1):
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if number == last and not self._tail:
                    self.torn = TornLine(number, self.valid_size, len(raw) + 1, _preview(raw))
                    return
                raise UnreadableLine(number, exc) from None
            yield number, record
            self.valid_size += len(raw) + 1
        if self._tail:
            self.torn = TornLine(last + 1, self.valid_size, len(self._tail), _preview(self._tail))


def _preview(raw: bytes) -> str:
    return raw[:120].decode("utf-8", errors="replace")
