"""Errors that end a command with exit code 2: bad input, reported as one line."""

from __future__ import annotations


class BadInput(Exception):
    """Usage error, invalid config, unknown stack or unreadable run directory: nothing was touched."""


def one_line(message: str) -> str:
    """A message as the single line exit code 2 promises: control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
