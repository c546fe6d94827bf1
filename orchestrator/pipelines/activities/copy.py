"""Copy, binary to binary, between folders of the lake: each file under the source folder (all
levels when the read is recursive) is read and written under the sink folder at the same relative
path (PreserveHierarchy), as the service's integration runtime moves them, several at once. Each written blob gets
the Content-MD5 of its bytes, so the lake's listings describe it as they describe every other blob."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from orchestrator.data.errors import azure_errors
from orchestrator.data.ingest import put_blob
from orchestrator.pipelines.activities.state import ActivityKind, RunState
from orchestrator.pipelines.activities.store_settings import check_read, check_write, recursive
from orchestrator.pipelines.errors import PipelineError, unsupported
from orchestrator.pipelines.expressions import Scope

# Files of a folder moved at once, as the service's copy does (its parallelCopies, here fixed): an
# hour holds one file per device.
PARALLEL_COPIES = 8
SOURCE_KEYS = frozenset({"type", "storeSettings"})
SINK_KEYS = frozenset({"type", "storeSettings"})


def copy(activity: dict[str, Any], scope: Scope, state: RunState, path: str) -> tuple[dict, dict]:
    source = state.datasets.resolve(activity["inputs"][0], scope)
    sink = state.datasets.resolve(activity["outputs"][0], scope)
    deep = recursive(activity["source"].get("storeSettings") or {})
    where = f"local pipeline runner: {path}: copy {source.container}/{source.prefix}"
    with azure_errors(where):
        try:
            listed = [b for b in source.service.get_container_client(source.container)
                      .list_blobs(name_starts_with=source.prefix) if deep or "/" not in b.name[len(source.prefix):]]
        except ResourceNotFoundError:
            listed = []
        if not listed:
            raise PipelineError(f"the source folder {source.container}/{source.folder} does not exist "
                                "(in Azurite a folder exists when a blob is under it)")
        def copy_file(blob: Any) -> int:
            data = source.service.get_blob_client(source.container, blob.name).download_blob().readall()
            content_type = blob.content_settings.content_type or "application/octet-stream"
            put_blob(sink.service, sink.container, f"{sink.prefix}{blob.name[len(source.prefix):]}", data, content_type)
            return len(data)

        with ThreadPoolExecutor(max_workers=PARALLEL_COPIES) as pool:
            sizes = list(pool.map(copy_file, listed))
        files, total = [blob.name[len(source.prefix):] for blob in listed], sum(sizes)
    record = {"activity": path, "source": source.describe(), "sink": sink.describe(), "files": files, "bytes": total}
    state.copies.append(record)
    output = {"filesRead": len(files), "filesWritten": len(files), "dataRead": total, "dataWritten": total}
    return output, {"source": source.describe(), "sink": sink.describe()}


def _check(activity: dict[str, Any]) -> None:
    source, sink = activity.get("source"), activity.get("sink")
    if not isinstance(source, dict) or source.get("type") != "BinarySource":
        raise unsupported(f"a Copy source of type {source.get('type') if isinstance(source, dict) else source!r}")
    if not isinstance(sink, dict) or sink.get("type") != "BinarySink":
        raise unsupported(f"a Copy sink of type {sink.get('type') if isinstance(sink, dict) else sink!r}")
    for key in sorted(set(source) - SOURCE_KEYS):
        raise unsupported(f"the Copy source property {key!r}")
    for key in sorted(set(sink) - SINK_KEYS):
        raise unsupported(f"the Copy sink property {key!r}")
    check_read(source.get("storeSettings"), "the Copy source's")
    check_write(sink.get("storeSettings"), "the Copy sink's")
    if activity.get("enableStaging", False) is not False:
        raise unsupported("staged copy (enableStaging)")
    for side in ("inputs", "outputs"):
        refs = activity.get(side)
        if not isinstance(refs, list) or len(refs) != 1:
            raise PipelineError(f"a Copy needs exactly one dataset in {side}")


KINDS = {
    "Copy": ActivityKind(frozenset({"source", "sink", "enableStaging", "inputs", "outputs"}), copy, check=_check),
}
