"""A cache of the offline work, keyed by the content of everything it is computed from.

Running the program under Pulumi's mock runtime takes seconds, and the offline verbs (preview,
plan, posture, coverage) are run again and again on unchanged code while someone reads them. So
the captured graph, and the documents those verbs print, are kept as JSON under
`<project>/.drill/cache/` (or `$DRCTL_CACHE_DIR`), each with the key it was computed under.

The key is a sha256 over the bytes of every file the result can depend on, read afresh each
time (no timestamps: a clock or a copy can lie about them, the bytes cannot): the Python sources
of components/, stacks/ and orchestrator/ that are running, the project's Pulumi.yaml, every stack
file (a stack reads its paired stack's), __main__.py, pipelines/, kql/ and any other
`pipelinesDir` a stack file names; plus the versions of drctl, Pulumi, azure-native and Python.
Whatever a caller adds (a history file's bytes, the options) goes in too. A cache file that
cannot be read, or that was written under another key, is a miss: the work is done again and
the file replaced atomically. `DRCTL_CACHE=off` turns the cache off.

Documents are cached only for a drctl process started from the command line (`enable_documents`,
called by orchestrator.cli.main): code running in-process (the tests, the runbook) may have
replaced a profile in a registry, which no file's bytes show. The graph is the program's own
output and does not read those registries.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator.atomic import write_atomic
from stacks.stack_file import NAMESPACE
from stacks.yaml_bounded import safe_load_bounded

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

CACHE_FORMAT = 1
CODE_ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("components", "stacks", "smoke_tests", "orchestrator")
PROJECT_DIRS = ("pipelines", "kql")
PROJECT_FILES = ("Pulumi.yaml", "__main__.py")
VERSIONED = ("azure-dataplatform-dr", "pulumi", "pulumi-azure-native")
# Pulumi marks a secret value with this signature; its value is never written to the cache.
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
SECRET_MASK = "[secret: not cached]"

_documents = False


def enable_documents() -> None:
    global _documents
    _documents = True


def enabled() -> bool:
    return os.environ.get("DRCTL_CACHE", "").lower() not in ("0", "off", "no", "false")


def cache_dir(project_dir: Path) -> Path:
    override = os.environ.get("DRCTL_CACHE_DIR")
    return Path(override) if override else Path(project_dir) / ".drill" / "cache"


def _versions() -> list[str]:
    from importlib import metadata

    found = [sys.version]
    for name in VERSIONED:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return found


def _files(project_dir: Path) -> Iterable[tuple[str, Path]]:
    """(label, path) of every keyed file, in a stable order."""
    for package in CODE_PACKAGES:
        for path in sorted((CODE_ROOT / package).rglob("*.py")):
            yield f"code:{path.relative_to(CODE_ROOT)}", path
    stack_files = sorted(project_dir.glob("Pulumi.*.yaml"))
    dirs = list(PROJECT_DIRS)
    for path in stack_files:
        dirs += _pipelines_dir(path)
    for name in [*PROJECT_FILES, *(p.name for p in stack_files)]:
        yield f"project:{name}", project_dir / name
    project = project_dir.resolve()
    for name in dict.fromkeys(dirs):
        folder = (project_dir / name).resolve()
        # a folder outside the project is refused by the config loader; never walked here
        if folder.is_relative_to(project) and folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                yield f"project:{name}/{path.relative_to(folder)}", path


def _pipelines_dir(stack_file: Path) -> list[str]:
    """The stack's `dataFactory.pipelinesDir` as its YAML parses (a comment or another key naming one
    is no setting); none when the file does not parse, which its loader reports."""
    try:
        document = safe_load_bounded(stack_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    config = document.get("config") if isinstance(document, dict) else None
    factory = config.get(f"{NAMESPACE}:dataFactory") if isinstance(config, dict) else None
    value = factory.get("pipelinesDir") if isinstance(factory, dict) else None
    return [value] if isinstance(value, str) and value else []


def program_key(project_dir: Path, *extra: Any) -> str:
    """sha256 over the keyed files' bytes, the versions, and `extra` (JSON-able)."""
    digest = hashlib.sha256(f"drctl-cache {CACHE_FORMAT}\n".encode())
    for version in _versions():
        digest.update(f"version\0{version}\n".encode())
    for label, path in _files(Path(project_dir)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        # Length-prefixed, so no two different sets of files can hash alike by concatenation.
        size = -1 if data is None else len(data)
        digest.update(f"file\0{label}\0{size}\n".encode())
        digest.update(data or b"")
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _read(path: Path, key: str) -> Any | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing, unreadable or torn: recompute
    if not isinstance(document, dict) or document.get("key") != key or "value" not in document:
        return None
    return document["value"]


def _write(path: Path, key: str, value: Any) -> None:
    """Write-then-rename, so a reader never sees half a file; a cache that cannot be written
    (a read-only checkout) only costs the next run its time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"key": key, "value": value}, separators=(",", ":")))
    except OSError:
        pass


def cached(kind: str, project_dir: Path, name: str, extra: tuple, compute: Callable[[], Any],
           *, encode: Callable[[Any], Any] = lambda v: v, decode: Callable[[Any], Any] = lambda v: v) -> Any:
    """`compute()`, or what it returned last time under the same key. `encode` makes the value
    JSON; a value JSON would not give back equal (a tuple, a set) is returned but not cached."""
    if not enabled():
        return compute()
    project_dir = Path(project_dir)
    key = program_key(project_dir, kind, name, *extra)
    path = cache_dir(project_dir) / f"{kind}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.json"
    found = _read(path, key)
    if found is not None:
        try:
            return decode(found)
        except (KeyError, TypeError, ValueError):
            pass  # a cache file of another shape under a matching key: recompute
    value = compute()
    encoded = encode(value)
    try:
        if json.loads(json.dumps(encoded)) == encoded:
            _write(path, key, _mask_secrets(encoded))
    except (TypeError, ValueError):
        pass
    return value


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
            return {**value, "value": SECRET_MASK}
        return {k: _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


def cached_document(kind: str, project_dir: Path, name: str, extra: tuple, compute: Callable[[], dict]) -> dict:
    """A verb's JSON document; cached only in a drctl process started from the command line."""
    if not _documents:
        return compute()
    return cached(kind, project_dir, name, extra, compute)


# -- the graph -------------------------------------------------------------------------------------


def graph_to_cache(graph: Graph) -> dict[str, Any]:
    return {"stack": graph.stack, "region": graph.region, "resources": graph.resources,
            "components": graph.components, "outputs": graph.outputs, "inputs": graph.inputs}


def graph_from_cache(data: dict[str, Any]) -> Graph:
    from orchestrator.program.graph import Graph

    return Graph(stack=data["stack"], region=data["region"], resources=data["resources"],
                 components=data["components"], outputs=data["outputs"], inputs=data["inputs"])


def cached_graph(project_dir: Path, stack: str, compute: Callable[[], Graph]) -> Graph:
    """The stack's captured graph (orchestrator.preview.capture_graph), from the cache when the
    program and the stack files are byte for byte what it was captured from."""
    return cached("graph", project_dir, stack, (), compute, encode=graph_to_cache, decode=graph_from_cache)
