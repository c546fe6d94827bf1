"""Errors that end a command with exit code 2: bad input, reported as one line."""

from __future__ import annotations


class BadInput(Exception):
    """Usage error, invalid config, unknown stack or unreadable run directory: nothing was touched."""
