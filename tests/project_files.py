"""A copy of the project's stack files in a temporary folder, and edits to them: for tests that
change a stack file and run drctl or the program on it. No tests here."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def copy_project(dest: Path, stacks: tuple[str, ...] = ("primary", "secondary")) -> Path:
    """Pulumi.yaml, the named stack files and the pipelines, copied to `dest` (created if need be)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in stacks)):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "pipelines", dest / "pipelines")
    return dest


def edit_stack(project: Path, stack: str, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Apply `edit` to the `config:` mapping of the project's stack file, in place."""
    path = project / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))
