"""The seal and what extends it: a chain of signed statements over the run directory.

    SHA256SUMS              every file of the run (coreutils' format: `sha256sum -c SHA256SUMS` checks it)
    SHA256SUMS.sig          the seal: a signed statement of SHA256SUMS's digest (signatures.py)
    addenda/NNNN-<what>.json  a file recorded after the seal (an approval), signed, with its digest
    seals/NNNN/SHA256SUMS{,.sig}  a seal a later one superseded (a resumed run seals again)

Each link names the SHA-256 of the link before it (`extends`), so the chain is one line from the
first seal: an approval recorded on a sealed run extends that seal, and the seal a resume writes
extends the approval. Links are named by content, so moving a superseded seal into seals/ keeps
the chain whole. A seal is the run's last write; when signing fails (Key Vault unreachable at the
end of a failover) SHA256SUMS is still written, the run is not failed for it, and stderr and
`verify-evidence` say that the seal is not signed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_atomic
from orchestrator.data.manifest import sha256_file
from orchestrator.engine.progress import progress_line
from orchestrator.evidence.keys import signer_for
from orchestrator.evidence.signatures import Signer, signed_document
from orchestrator.redact import REDACTOR
from orchestrator.run.rundir import RunDir

SEAL, ADDENDUM = "drctl.evidence.seal/v1", "drctl.evidence.addendum/v1"
SIG = f"{RunDir.SUMS}.sig"
ADDENDA, SEALS = "addenda", "seals"


@dataclass(frozen=True)
class Link:
    path: str  # relative to the run directory
    digest: str  # sha256 of the file's bytes: what the next link names
    document: Any  # the parsed JSON; None when it is not JSON

    @property
    def statement(self) -> dict[str, Any]:
        statement = self.document.get("statement") if isinstance(self.document, dict) else None
        return statement if isinstance(statement, dict) else {}

    @property
    def extends(self) -> str | None:
        extends = self.statement.get("extends")
        return str(extends.get("sha256")) if isinstance(extends, dict) else None


def regular_files(run_dir: Path) -> tuple[list[str], list[str]]:
    """(regular files, everything else: symlinks, devices, sockets), relative and sorted, found
    without following a symlink. Leftover temporary files of atomic writes (`.tmp`) are not evidence."""
    regular, other = [], []
    for root, dirs, files in os.walk(run_dir):  # os.walk does not descend into a symlinked directory
        for name in sorted(dirs):
            if Path(root, name).is_symlink():
                other.append(Path(root, name).relative_to(run_dir).as_posix())
        dirs[:] = sorted(d for d in dirs if not Path(root, d).is_symlink())
        for name in sorted(files):
            path = Path(root, name)
            relative = path.relative_to(run_dir).as_posix()
            if path.is_symlink() or not path.is_file():
                other.append(relative)
            elif not name.endswith(".tmp"):
                regular.append(relative)
    return sorted(regular), sorted(other)


def read_links(run_dir: Path, files: list[str]) -> dict[str, Link]:
    """Every link document among `files` (regular files only: a symlink is never read)."""
    links = {}
    for name in files:
        parts = name.split("/")
        if name == SIG or (parts[0] == SEALS and parts[-1] == SIG and len(parts) == 3) or \
                (parts[0] == ADDENDA and len(parts) == 2 and name.endswith(".json")):
            data = (Path(run_dir) / name).read_bytes()
            try:
                document = json.loads(data)
            except ValueError:
                document = None
            links[name] = Link(name, hashlib.sha256(data).hexdigest(), document)
    return links


def after(current: str, links: dict[str, Link]) -> list[list[Link]]:
    """From link `current` on: at each step, the links that extend the one before (one, unless forked)."""
    steps: list[list[Link]] = []
    digest, seen = links[current].digest, {current}
    while True:
        nexts = [link for link in links.values() if link.extends == digest and link.path not in seen]
        if not nexts:
            return steps
        steps.append(nexts)
        seen.update(link.path for link in nexts)
        digest = nexts[0].digest


def head(run_dir: Path) -> Link | None:
    """The chain's last link: the current seal, or the last addendum extending it."""
    links = read_links(run_dir, regular_files(run_dir)[0])
    if SIG not in links:
        return None
    steps = after(SIG, links)
    return steps[-1][0] if steps else links[SIG]


def seal(run_dir: Path, signer: Signer | None = None) -> Path:
    """SHA256SUMS over every file of the run directory, and its signature: the run's last write.
    A run sealed before (a gate stopped it, an approval extended it) keeps its earlier seal in seals/.
    `signer`: else the configured key, else the workdir's (keys.py)."""
    run = RunDir(run_dir)
    previous = head(run.path)
    sums, sig = run.sha256sums, run.path / SIG
    if previous is not None and sums.is_file():
        archive = run.path / SEALS / f"{_next_number(run.path / SEALS):04d}"
        archive.mkdir(parents=True)
        os.replace(sums, archive / RunDir.SUMS)
        os.replace(sig, archive / SIG)
    names = [n for n in regular_files(run.path)[0] if n not in (RunDir.SUMS, SIG)]
    write_atomic(sums, "".join(f"{sha256_file(run.path / n)}  {n}\n" for n in names))
    statement = {"type": SEAL, "run_id": run.run_id, "sums_sha256": sha256_file(sums),
                 "extends": {"sha256": previous.digest} if previous else None}
    _write_signed(run.path, sig, statement, signer, exclusive=False)
    return sums


def extend(run_dir: Path, files: list[Path], reason: str, signer: Signer | None = None) -> Path | None:
    """Record `files` (written after the run was sealed) in a signed addendum chained to the seal.
    None when the run is not sealed yet: its seal will cover them."""
    run = RunDir(run_dir)
    if not run.sha256sums.is_file():
        return None
    (run.path / ADDENDA).mkdir(exist_ok=True)
    covers = {Path(f).resolve().relative_to(run.path.resolve()).as_posix(): sha256_file(Path(f)) for f in files}
    slug = "".join(c if c.isalnum() or c in ".-" else "-" for c in reason)[:60]
    # Two gates approved at the same moment would both extend the same link (a fork verify-evidence
    # refuses): one writer at a time, by a lock on the addenda folder itself (no file added to the run).
    folder = os.open(run.path / ADDENDA, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        previous = head(run.path)
        statement = {"type": ADDENDUM, "run_id": run.run_id, "reason": reason, "covers": covers,
                     "extends": {"sha256": previous.digest} if previous else None}
        path = run.path / ADDENDA / f"{_next_number(run.path / ADDENDA):04d}-{slug}.json"
        return path if _write_signed(run.path, path, statement, signer, exclusive=True) else None
    finally:
        os.close(folder)  # releases the lock


def _next_number(folder: Path) -> int:
    numbers = [int(p.name[:4]) for p in folder.glob("[0-9][0-9][0-9][0-9]*")] if folder.is_dir() else []
    return max(numbers, default=0) + 1


def _write_signed(run_dir: Path, path: Path, statement: dict[str, Any], signer: Signer | None, *,
                  exclusive: bool) -> bool:
    try:
        document = signed_document(statement, signer or signer_for(run_dir))
    except Exception as exc:  # Key Vault down, a key gone: the run's record still gets written
        progress_line(REDACTOR.text(f"evidence NOT signed ({path.name}): {exc}; verify-evidence will report it"))
        return False
    write_atomic(path, json.dumps(document, indent=2) + "\n", exclusive=exclusive)
    return True
