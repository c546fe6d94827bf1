"""Invalid stack configuration, as every layer reports it: one line naming the file and the key.

Raised where a stack file is read (stacks/config.py) and where a service checks its settings against
the rest of the platform while the program runs (e.g. a gateway needing the hub's GatewaySubnet).
"""

from __future__ import annotations


class ConfigError(Exception):
    """Invalid stack configuration: one line naming the file and the key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        # A key or value from the file may hold a line break or another control character: shown
        # escaped, or the error would be several lines (found by the property test over the loader).
        super().__init__(_printable(f"{source}: {key}: {message}"))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
