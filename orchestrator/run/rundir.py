"""Run directories: `<workdir>/runs/<stack>/<run-id>/`, with `run.json` saying what the run is."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput

RUN_FILE = "run.json"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(kind: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"


def create_run_dir(workdir: Path, stack: str, kind: str) -> tuple[str, Path]:
    run_id = new_run_id(kind)
    run_dir = Path(workdir).resolve() / "runs" / stack / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    (run_dir / "manifests").mkdir()
    (run_dir / "evidence").mkdir()
    return run_id, run_dir


def write_json_atomic(path: Path, document: Any) -> None:
    """Readers see the old file or the new one, never half of one (drctl may be killed anytime)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_run(run_dir: Path) -> dict[str, Any]:
    """`run.json` of an existing run, or BadInput naming what is wrong with the directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInput(f"RUN: {run_dir} is not a directory")
    path = run_dir / RUN_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"RUN: no {RUN_FILE} in {run_dir}: not a drctl run directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput(f"RUN: {path} is not valid JSON") from None
    if not isinstance(document, dict) or not {"run_id", "kind", "stack"} <= set(document):
        raise BadInput(f"RUN: {path} lacks run_id, kind or stack")
    return document


def resolve_run(run: str | Path, workdir: Path) -> Path:
    """RUN may be a run directory or a run id under `<workdir>/runs/<stack>/`."""
    path = Path(run)
    if path.is_dir():
        return path.resolve()
    name = str(run)
    if "/" not in name and name not in ("", ".", ".."):
        matches = sorted(Path(workdir).glob(f"runs/*/{name}"))
        if len(matches) == 1 and matches[0].is_dir():
            return matches[0].resolve()
    raise BadInput(f"RUN: no run directory {run} (nor a run id under {Path(workdir) / 'runs'})")
