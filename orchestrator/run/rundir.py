"""Run directories: `<workdir>/runs/<stack>/<run-id>/`, and every file a run keeps in one.

The layout is the run's contract with everything that reads it later (`drctl status`, `resume`,
`approve`, `verify-evidence`, a resume on another machine, an auditor), so it is spelled here
once: code that reads or writes a run's files asks a RunDir for their paths.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from orchestrator.atomic import make_dirs, make_private_dir
from orchestrator.errors import BadInput


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunDir:
    """One run's directory. Usable wherever a path is (os.PathLike); `str()` is the path."""

    path: Path

    RUNS: ClassVar[str] = "runs"  # <workdir>/runs/<stack>/<run-id>/
    RUN: ClassVar[str] = "run.json"  # what the run is: id, kind, stack, targets, options to resume with
    PLAN: ClassVar[str] = "plan.json"
    JOURNAL: ClassVar[str] = "journal.jsonl"  # the source of truth: every step transition, fsynced
    MANIFESTS: ClassVar[str] = "manifests"  # what the backups held: what validation compares against
    EVIDENCE: ClassVar[str] = "evidence"  # one <step>.json per step that ran
    APPROVALS: ClassVar[str] = "approvals"  # one <step>.json per gate a person signed off
    REPLAY: ClassVar[str] = "replay"  # the replay steps' records of what they started (Azure)
    REPORT_MD: ClassVar[str] = "report.md"
    REPORT_JSON: ClassVar[str] = "report.json"
    REPORT_HTML: ClassVar[str] = "report.html"
    JUNIT: ClassVar[str] = "junit.xml"
    VERSIONS: ClassVar[str] = "versions.json"
    SUMS: ClassVar[str] = "SHA256SUMS"  # the seal: the run's last write
    LEASE: ClassVar[str] = "lease.json"  # every acquisition of the stack's (and the state container's) lease
    PRELUDE: ClassVar[str] = "prelude.json"  # a local drill's world before the disaster
    PREFLIGHT: ClassVar[str] = "preflight.json"
    FAULTS: ClassVar[str] = "faults.json"  # what --inject-faults injected
    REHEARSAL: ClassVar[str] = "rehearsal.json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    # -- where runs are ------------------------------------------------------------------------

    @classmethod
    def create(cls, workdir: Path, stack: str, kind: str) -> RunDir:
        """A new run directory for `stack`, its id `<kind>-<time>-<random>`, with its folders: 0700,
        so that all a run writes there is its owner's alone (orchestrator/atomic.py)."""
        run_dir = cls.at(workdir, stack, new_run_id(kind))
        make_private_dir(run_dir.path, exist_ok=False)
        make_dirs(run_dir.manifests)
        make_dirs(run_dir.evidence)
        return run_dir

    @classmethod
    def at(cls, workdir: Path, stack: str, run_id: str) -> RunDir:
        return cls(Path(workdir).resolve() / cls.RUNS / stack / run_id)

    @classmethod
    def find(cls, run: str | Path, workdir: Path) -> RunDir:
        """RUN may be a run directory or a run id under `<workdir>/runs/<stack>/`."""
        path = Path(run)
        if path.is_dir():
            return cls(path.resolve())
        name = str(run)
        if "/" not in name and name not in ("", ".", ".."):
            matches = sorted(Path(workdir).glob(f"{cls.RUNS}/*/{name}"))
            if len(matches) == 1 and matches[0].is_dir():
                return cls(matches[0].resolve())
        raise BadInput(f"RUN: no run directory {run} (nor a run id under {Path(workdir) / cls.RUNS})")

    @classmethod
    def latest_of(cls, workdir: Path, stack: str) -> RunDir | None:
        """The newest run of `stack` under `workdir` that got as far as its run.json."""
        found = sorted(p.parent for p in (Path(workdir).resolve() / cls.RUNS / stack).glob(f"*/{cls.RUN}"))
        return cls(found[-1]) if found else None

    @property
    def run_id(self) -> str:
        return self.path.name

    def workdir(self, stack: str) -> Path | None:
        """The workdir holding this directory as `runs/<stack>/<run-id>/`; None when it is elsewhere."""
        path = self.path.resolve()
        if path.parent.name != stack or path.parents[1].name != self.RUNS:
            return None
        return path.parents[2]

    # -- the files -----------------------------------------------------------------------------

    @property
    def run_json(self) -> Path:
        return self.path / self.RUN

    @property
    def plan_json(self) -> Path:
        return self.path / self.PLAN

    @property
    def journal(self) -> Path:
        return self.path / self.JOURNAL

    @property
    def manifests(self) -> Path:
        return self.path / self.MANIFESTS

    def manifest(self, name: str) -> Path:
        return self.manifests / name

    @property
    def evidence(self) -> Path:
        return self.path / self.EVIDENCE

    def step_evidence(self, step_id: str) -> Path:
        return self.evidence / f"{step_id}.json"

    @property
    def approvals(self) -> Path:
        return self.path / self.APPROVALS

    def approval(self, step_id: str) -> Path:
        return self.approvals / f"{step_id}.json"

    @property
    def replay(self) -> Path:
        return self.path / self.REPLAY

    @property
    def report_md(self) -> Path:
        return self.path / self.REPORT_MD

    @property
    def report_json(self) -> Path:
        return self.path / self.REPORT_JSON

    @property
    def report_html(self) -> Path:
        return self.path / self.REPORT_HTML

    @property
    def junit_xml(self) -> Path:
        return self.path / self.JUNIT

    @property
    def versions_json(self) -> Path:
        return self.path / self.VERSIONS

    @property
    def sha256sums(self) -> Path:
        return self.path / self.SUMS

    @property
    def lease_json(self) -> Path:
        return self.path / self.LEASE

    @property
    def prelude_json(self) -> Path:
        return self.path / self.PRELUDE

    @property
    def preflight_json(self) -> Path:
        return self.path / self.PREFLIGHT

    @property
    def faults_json(self) -> Path:
        return self.path / self.FAULTS

    @property
    def rehearsal_json(self) -> Path:
        return self.path / self.REHEARSAL

    # -- reading -------------------------------------------------------------------------------

    def read_run(self) -> dict[str, Any]:
        """`run.json` of an existing run, or BadInput naming what is wrong with the directory."""
        if not self.path.is_dir():
            raise BadInput(f"RUN: {self.path} is not a directory")
        try:
            document = json.loads(self.run_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"RUN: no {self.RUN} in {self.path}: not a drctl run directory") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadInput(f"RUN: {self.run_json} is not valid JSON") from None
        if not isinstance(document, dict) or not {"run_id", "kind", "stack"} <= set(document):
            raise BadInput(f"RUN: {self.run_json} lacks run_id, kind or stack")
        return document

    def read_json(self, path: Path) -> dict[str, Any]:
        """A JSON file a resumed run needs (plan.json, prelude.json): BadInput when missing or damaged."""
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"RUN: {path.name} is missing in {path.parent}") from None
        except json.JSONDecodeError:
            raise BadInput(f"RUN: {path} is not valid JSON") from None
