"""`drctl verify-evidence`: is a run directory still what its signed seal says, link by link?

Checked: every link's signature (against the --public-key keys when given, else against the key the
link carries, which proves integrity but not who signed); that each seal's SHA256SUMS is the one
it signed; that every file is the one SHA256SUMS or a later addendum lists; that nothing was added.
Nothing here follows a symlink: a symlink, a special file or a listed path outside the run
directory is a problem named by its path, and its target is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.evidence.chain import ADDENDA, ADDENDUM, SEAL, SIG, Link, after, read_links, regular_files
from orchestrator.evidence.signatures import PublicKey, signature_problem
from orchestrator.run.rundir import RunDir

SUMS = RunDir.SUMS


def verify(run_dir: Path, public_keys: dict[str, PublicKey] | None = None) -> dict[str, Any]:
    """{"files", "problems": [{"file", "problem"}], "signatures": [...], "trusted_keys"}; BadInput
    when there is nothing to verify."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInput(f"RUN_DIR: {run_dir} is not a directory")
    files, others = regular_files(run_dir)
    if SUMS not in files and SUMS not in others:
        raise BadInput(f"RUN_DIR: {run_dir} has no {SUMS}: not a sealed run directory (did the run finish?)")
    problems = [{"file": name, "problem": "a symlink or special file (not followed)"} for name in others]
    result: dict[str, Any] = {"files": 0, "problems": problems, "signatures": [],
                              "trusted_keys": sorted(public_keys) if public_keys is not None else None}
    if SUMS in others:
        return result
    listed, bad_line = _read_sums(run_dir / SUMS)
    if bad_line:
        problems.append({"file": SUMS, "problem": bad_line})
        return {**result, "files": len(listed)}
    present = set(files)
    for name, digest in listed.items():
        problem = None if name in others else _file_problem(run_dir, name, digest, present)
        if problem:
            problems.append({"file": name, "problem": problem})
    links = read_links(run_dir, files)
    covered_after = _check_chain(run_dir, links, public_keys, present, problems, result["signatures"])
    covered = set(listed) | covered_after | {SUMS, SIG}
    problems += [{"file": name, "problem": "added after the run was sealed"} for name in files if name not in covered]
    addenda = sum(1 for name in covered_after if name.startswith(f"{ADDENDA}/"))
    return {**result, "files": len(listed) + len(covered_after), "addenda_after_seal": addenda}


def _check_chain(run_dir: Path, links: dict[str, Link], trusted: dict[str, PublicKey] | None, present: set[str],
                 problems: list[dict[str, str]], signatures: list[dict[str, Any]]) -> set[str]:
    """Walk back from the seal to the first, then forward over the addenda after it; return what
    those later addenda cover (themselves included)."""
    run_id = _run_id(run_dir, present)

    def check(link: Link) -> None:
        expected = ADDENDUM if link.path.startswith(f"{ADDENDA}/") else SEAL
        statement = link.statement
        problem = signature_problem(link.document, trusted)
        if problem is None and statement.get("type") != expected:
            problem = f"a {statement.get('type')!r} statement where a {expected!r} one belongs"
        if problem is None and statement.get("run_id") != run_id:
            problem = f"signed for run {statement.get('run_id')!r}, not for this one"
        if problem:
            problems.append({"file": link.path, "problem": problem})
            return
        key = statement["key"]
        signatures.append({"file": link.path, "key_id": key["id"], "algorithm": key["algorithm"],
                           "source": key.get("source"), "signed_at": statement.get("signed_at")})
        if expected == SEAL:
            sums = str(PurePosixPath(link.path).with_name(SUMS))
            if sums in present and _sha256(run_dir / sums) != statement.get("sums_sha256"):
                problems.append({"file": sums, "problem": f"not the {SUMS} the signature ({link.path}) covers: "
                                                          "rewritten after it was signed"})
        for name, digest in (statement.get("covers") or {}).items():
            file_problem = _file_problem(run_dir, str(name), str(digest), present)
            if file_problem:
                problems.append({"file": str(name), "problem": f"{file_problem} (since {link.path} signed it)"})

    if SIG not in links:
        problems.append({"file": SIG, "problem": "missing: the seal is not signed"})
        return set()
    by_digest = {link.digest: link for link in links.values()}
    on_chain: list[str] = []
    link: Link | None = links[SIG]
    while link is not None and link.path not in on_chain:
        on_chain.append(link.path)
        check(link)
        if link.extends is None:
            break
        if link.extends not in by_digest:
            problems.append({"file": link.path, "problem": "extends a seal or addendum that is not in the run "
                                                           "directory (removed or altered)"})
        link = by_digest.get(link.extends)
    covered_after: set[str] = set()
    for step in after(SIG, links):
        for later in step:
            on_chain.append(later.path)
            if len(step) > 1:
                problems.append({"file": later.path, "problem": "a fork: another link extends the same one"})
            elif not later.path.startswith(f"{ADDENDA}/"):
                problems.append({"file": later.path, "problem": "a seal after the current one"})
            else:
                check(later)
            covered_after |= {later.path, *map(str, later.statement.get("covers") or {})}
    problems += [{"file": path, "problem": "not on the evidence chain (no seal leads to it)"}
                 for path in links if path not in on_chain]
    return covered_after


def _run_id(run_dir: Path, present: set[str]) -> str:
    """The run's id as its run.json says (a file the seal covers), so that a copy verifies in a folder
    of any name (publish.py's `<run-id>/<digest>/`); the folder's name when there is no run.json."""
    if RunDir.RUN in present:
        try:
            return str(json.loads((run_dir / RunDir.RUN).read_text(encoding="utf-8"))["run_id"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged run.json is named by its digest
    return run_dir.name


def _read_sums(path: Path) -> tuple[dict[str, str], str | None]:
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            return listed, f"line {number} is not '<sha256>  <file>'"
        listed[name] = digest
    return listed, None


def _file_problem(run_dir: Path, name: str, digest: str, present: set[str]) -> str | None:
    if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts or "\\" in name:
        return "listed outside the run directory"
    if name not in present:
        if os.path.lexists(run_dir / name) or any(Path(run_dir, *PurePosixPath(name).parts[:i]).is_symlink()
                                                  for i in range(1, len(PurePosixPath(name).parts))):
            return "under a symlinked folder (not followed)"
        return "missing"
    return "altered" if _sha256(run_dir / name) != digest else None


def _sha256(path: Path) -> str | None:
    """The file's digest, opened without following a symlink at its last component (a file swapped
    for one after the walk is refused, not read); None when it is not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest()
