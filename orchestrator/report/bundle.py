"""The evidence bundle: what an auditor needs to accept that a recovery happened as reported.

A run directory holds the journal, the plan, the manifests, per-step evidence, the reports and
the approvals; this adds `versions.json` (the IaC's git commit, the package versions, a hash of
the stack files with secret values removed) and, as the run's last write, `SHA256SUMS` over every
file, signed (SHA256SUMS.sig: orchestrator/evidence/). The sums file is in the format of coreutils'
`sha256sum`, so `sha256sum -c SHA256SUMS` checks it too; `drctl verify-evidence RUN_DIR --public-key
KEY` checks the signature and names each file altered, missing or added since.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from orchestrator.atomic import write_json_atomic
from orchestrator.run.rundir import RunDir
from stacks.yaml_bounded import safe_load_bounded

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The packages whose behaviour decides what a run did; the rest follow from them.
PACKAGES = ("azure-dataplatform-dr", "pulumi", "pulumi-azure-native", "azure-core", "azure-identity",
            "azure-storage-blob", "azure-mgmt-resource", "azure-mgmt-storage", "azure-mgmt-postgresqlflexibleservers",
            "azure-mgmt-datafactory", "psycopg", "click", "pydantic", "tenacity")
SECRET = "[secret removed]"


def write_versions(run_dir: Path, run: dict[str, Any], project_dir: Path | None = None) -> dict[str, Any]:
    """versions.json, once per run (a resumed run keeps what the run started with)."""
    path = RunDir(run_dir).versions_json
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    project = Path(project_dir or run.get("project_dir") or PROJECT_DIR)
    stacks = [s for s in (run.get("stack"), run.get("paired_stack") or run.get("secondary_stack")) if s]
    document = {
        "iac": _git(project),
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "azurite": _azurite_version(project),
        "stack_config_sha256": {stack: config_digest(project / f"Pulumi.{stack}.yaml") for stack in stacks},
    }
    write_json_atomic(path, document)
    return document


def config_digest(path: Path) -> str | None:
    """sha256 of the stack file's values with every secret value replaced, in a canonical form:
    two files that differ only in a secret (or in comments and layout) have the same digest."""
    try:
        # bounded: an alias bomb would exhaust memory here, at the end of a run, before its seal
        document = safe_load_bounded(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    canonical = json.dumps(_without_secrets(document), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _without_secrets(value: Any) -> Any:
    # Pulumi writes an encrypted config value as {"secure": "<ciphertext>"}.
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _git(project: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "note": f"{project} is not a git checkout (or git is not installed)"}
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(changed), "changed_files": len(changed.splitlines()) if changed else 0}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _azurite_version(project: Path) -> str | None:
    try:
        return json.loads((project / "node_modules" / "azurite" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


# -- sealing and verifying: signed, and chained to what extends them (orchestrator/evidence/) ----------
def seal(run_dir: Path) -> Path:
    """SHA256SUMS over every file of the run directory, signed: the run's last write."""
    from orchestrator.evidence.chain import seal as signed_seal

    return signed_seal(Path(run_dir))


def verify(run_dir: Path, public_keys: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"files": N, "problems": [{"file", "problem"}], ...}; BadInput when there is nothing to verify."""
    from orchestrator.evidence.verify import verify as verify_chain

    return verify_chain(Path(run_dir), public_keys)
