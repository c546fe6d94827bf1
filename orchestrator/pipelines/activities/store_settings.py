"""The read and write settings of the ADLS Gen2 connector, as far as the repository's pipelines use
them: a recursive (or not) read of a folder, a write that keeps the source's folder structure. Any
other setting (a Last-Modified filter, a wildcard, a file list, deleting after the copy) is refused
by name: a filter the runner ignored would copy more than the service does."""

from __future__ import annotations

from typing import Any

from orchestrator.pipelines.errors import PipelineError, unsupported

READ = "AzureBlobFSReadSettings"
WRITE = "AzureBlobFSWriteSettings"
READ_KEYS = frozenset({"type", "recursive"})
WRITE_KEYS = frozenset({"type", "copyBehavior"})
COPY_BEHAVIORS = frozenset({"PreserveHierarchy"})


def check_read(settings: Any, where: str) -> None:
    if not isinstance(settings, dict) or settings.get("type") != READ:
        kind = settings.get("type") if isinstance(settings, dict) else settings
        raise unsupported(f"{where} storeSettings of type {kind!r}")
    for key in sorted(set(settings) - READ_KEYS):
        raise unsupported(f"the {READ} setting {key!r} ({where})")
    if not isinstance(settings.get("recursive", False), bool):
        raise PipelineError(f"{where} storeSettings.recursive must be true or false")


def check_write(settings: Any, where: str) -> None:
    if not isinstance(settings, dict) or settings.get("type") != WRITE:
        kind = settings.get("type") if isinstance(settings, dict) else settings
        raise unsupported(f"{where} storeSettings of type {kind!r}")
    for key in sorted(set(settings) - WRITE_KEYS):
        raise unsupported(f"the {WRITE} setting {key!r} ({where})")
    behavior = settings.get("copyBehavior", "PreserveHierarchy")
    if behavior not in COPY_BEHAVIORS:
        raise unsupported(f"the copyBehavior {behavior!r} ({where})")


def recursive(settings: dict[str, Any]) -> bool:
    return bool(settings.get("recursive", False))
