"""Canary secrets and the scan that looks for them (reliability/suite_secrets.py).

A canary is a made-up secret unique to one suite run, so finding it anywhere is proof of a leak
and never a coincidence. Each placement gets its own canary (`CANARY-<run>-<tag>+/=`): a leak then
names where the secret came from. The `+/=` tail is what base64 account keys and SAS signatures
contain, and what URL-encoding changes, so an encoded copy is not the plain one.

What is looked for, per file, as bytes:
- the canaries' common prefix `CANARY-<run>`: it survives URL-encoding, JSON or HTML escaping and a
  truncation after it, so one search catches the plain, encoded and cut-short copies of every canary;
- that prefix base64-encoded at each of the three byte alignments (standard and URL-safe alphabets):
  a secret inside a base64 blob (a Basic auth header, an encoded document) shows up there, and which
  of the three depends on where in the blob it starts;
- each account key of the local region (generated per drill, as secret as any canary): its first 20
  characters (plain, and URL-encoded), as tests/integration/test_local_region_drill.py does.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

TAIL = "+/="
KEY_PREFIX = 20
# The account keys' own store: the local region's settings file, 0600, next to the emulators' data
# (removed with it when a drill recovers). It exists to hold the keys, so it is not searched for them;
# it is still searched for the canaries.
KEY_STORE = "account-keys.json"


def make_prefix() -> str:
    return f"CANARY-{secrets.token_hex(8)}"


def canary(prefix: str, tag: str) -> str:
    return f"{prefix}-{tag}{TAIL}"


def _base64_cores(text: str) -> list[bytes]:
    """The part of base64(text) that does not depend on what precedes or follows it, for each of the
    three offsets `text` can start at inside a longer encoded blob."""
    cores = []
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + text.encode())
            # The first 4 characters carry the padding bytes' bits (offset > 0), the last 4 the
            # bytes that follow: both differ from blob to blob.
            core = encoded[4 if offset else 0: -4]
            if core not in cores:
                cores.append(core)
    return cores


@dataclass
class Needles:
    """What one scan looks for: (label, bytes) pairs; `keys` are left out of KEY_STORE files."""

    canary: list[tuple[str, bytes]]
    keys: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def for_prefix(cls, prefix: str, account_keys: list[str] | None = None) -> Needles:
        found = [("canary", prefix.encode())]
        found += [(f"canary, base64 #{n}", core) for n, core in enumerate(_base64_cores(prefix))]
        keys = []
        for number, key in enumerate(account_keys or []):
            keys.append((f"account key {number}", key[:KEY_PREFIX].encode()))
            encoded = quote(key, safe="")[:KEY_PREFIX + 8].encode()
            if encoded != keys[-1][1]:
                keys.append((f"account key {number}, URL-encoded", encoded))
        return cls(found, keys)


@dataclass
class Leak:
    path: str
    what: str
    context: str  # the bytes around the find, to say which canary and where

    def line(self) -> str:
        return f"{self.what} in {self.path}: ...{self.context}..."


@dataclass
class Scan:
    files: int = 0
    bytes: int = 0
    unreadable: list[str] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)

    def add(self, other: Scan) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.unreadable += other.unreadable
        self.leaks += other.leaks


def scan_bytes(name: str, data: bytes, needles: Needles, *, key_store: bool = False) -> list[Leak]:
    leaks = []
    for what, needle in needles.canary + ([] if key_store else needles.keys):
        at = data.find(needle)
        if at >= 0:
            context = data[max(0, at - 40): at + len(needle) + 40].decode("utf-8", "replace")
            leaks.append(Leak(name, what, context.replace("\n", "\\n")))
    return leaks


def scan_tree(root: Path, needles: Needles, skip: Callable[[Path], bool] = lambda path: False) -> Scan:
    """Every regular file under `root`, whole, but those `skip` names. Symlinks are not followed
    (none is expected; one pointing out of the tree would scan what the run did not write)."""
    result = Scan()
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or skip(path):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.unreadable.append(f"{path}: {exc.strerror}")
            continue
        result.files += 1
        result.bytes += len(data)
        result.leaks += scan_bytes(str(path.relative_to(root)), data, needles, key_store=path.name == KEY_STORE)
    return result
