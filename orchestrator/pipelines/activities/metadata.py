"""GetMetadata, for the one field the repository's pipelines ask: whether a folder exists. In
Azurite a folder exists when a blob is under it (no hierarchical namespace)."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from orchestrator.data.errors import azure_errors
from orchestrator.pipelines.activities.state import ActivityKind, RunState
from orchestrator.pipelines.activities.store_settings import check_read
from orchestrator.pipelines.errors import PipelineError, unsupported
from orchestrator.pipelines.expressions import Scope

FIELDS = frozenset({"exists"})


def get_metadata(activity: dict[str, Any], scope: Scope, state: RunState, path: str) -> tuple[dict, dict]:
    folder = state.datasets.resolve(activity.get("dataset"), scope)
    container = folder.service.get_container_client(folder.container)
    with azure_errors(f"local pipeline runner: {path}: list {folder.container}/{folder.prefix}"):
        try:
            exists = next(iter(container.list_blobs(name_starts_with=folder.prefix, results_per_page=1)), None) \
                is not None
        except ResourceNotFoundError:
            exists = False
    return {"exists": exists}, {"dataset": folder.describe()}


def _check(activity: dict[str, Any]) -> None:
    fields = activity.get("fieldList")
    if not isinstance(fields, list) or not fields:
        raise PipelineError("GetMetadata needs a fieldList")
    for name in fields:
        if name not in FIELDS:
            raise unsupported(f"the GetMetadata field {name!r}")
    if "storeSettings" in activity:
        check_read(activity["storeSettings"], "GetMetadata")
    if "formatSettings" in activity:
        raise unsupported("GetMetadata formatSettings")


KINDS = {
    "GetMetadata": ActivityKind(frozenset({"dataset", "fieldList", "storeSettings", "formatSettings"}), get_metadata,
                                check=_check),
}
