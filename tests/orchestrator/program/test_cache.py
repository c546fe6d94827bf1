"""The offline cache (orchestrator/program/cache.py): keyed by content, never stale, never trusted
when damaged. The keyed files are copies in a temporary directory: the repository is not edited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator.program.capture as preview
from orchestrator.program import cache as graph_cache
from orchestrator.stack import capture

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the program's sources and the project's files, as the cache's key reads them."""
    code = tmp_path / "code"
    for package in graph_cache.CODE_PACKAGES:
        shutil.copytree(REPO / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    project.mkdir()
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in REPO.glob("Pulumi.*.yaml"))]:
        shutil.copy(REPO / name, project / name)
    for folder in graph_cache.PROJECT_DIRS:
        shutil.copytree(REPO / folder, project / folder)
    monkeypatch.setattr(graph_cache, "CODE_ROOT", code)
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DRCTL_CACHE", raising=False)
    return project


def edit(path: Path) -> bytes:
    before = path.read_bytes()
    path.write_bytes(before + b"\n# edited\n")
    return before


@pytest.mark.parametrize("keyed", [
    "code/components/foundation.py",  # a component source
    "code/stacks/config.py",  # the config schema
    "code/orchestrator/plan/recovery.py",  # drctl itself
    "project/Pulumi.secondary.yaml",  # a stack file
    "project/Pulumi.yaml",
    "project/pipelines/ingest_events.json",  # a pipeline
    "project/kql/events.kql",
])
def test_a_change_to_any_keyed_file_misses_the_cache(project, keyed):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert graph_cache.cached("graph", project, "secondary", (), compute) == {"n": 1}
    assert graph_cache.cached("graph", project, "secondary", (), compute) == {"n": 1}  # a hit
    path = project.parent / keyed
    before = edit(path)
    assert graph_cache.cached("graph", project, "secondary", (), compute) == {"n": 2}  # a miss
    path.write_bytes(before)  # the same bytes again: keyed by content, not by time
    assert graph_cache.program_key(project) == graph_cache.program_key(project)
    assert graph_cache.cached("graph", project, "secondary", (), compute) == {"n": 3}  # one file per name
    assert len(calls) == 3


def test_a_new_stack_file_or_a_named_pipelines_dir_changes_the_key(project):
    key = graph_cache.program_key(project)
    (project / "Pulumi.extra.yaml").write_text("config: {}\n")
    assert graph_cache.program_key(project) != key
    key = graph_cache.program_key(project)
    (project / "elsewhere").mkdir()
    (project / "elsewhere" / "p.json").write_text("{}")
    assert graph_cache.program_key(project) == key  # not named by any stack file: not read
    (project / "Pulumi.extra.yaml").write_text("config:\n  dataplatform:dataFactory:\n    pipelinesDir: elsewhere\n")
    key = graph_cache.program_key(project)
    (project / "elsewhere" / "p.json").write_text('{"changed": true}')
    assert graph_cache.program_key(project) != key


def test_a_pipelines_dir_named_in_a_comment_or_outside_the_project_is_never_read(project, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text("{}")
    (project / "elsewhere").mkdir()
    (project / "elsewhere" / "p.json").write_text("{}")
    (project / "link").symlink_to(outside)
    (project / "Pulumi.extra.yaml").write_text(
        "# dataFactory: {pipelinesDir: elsewhere}\n"
        "config:\n  dataplatform:prefix: pipelinesDir: elsewhere\n"  # a value, not the setting
        f"  dataplatform:lake: {{note: 'pipelinesDir: {outside}'}}\n")
    read = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real_read_bytes(self))
    key = graph_cache.program_key(project)
    assert not [p for p in read if "elsewhere" in p.parts or p.is_relative_to(outside)]
    (project / "elsewhere" / "p.json").write_text('{"changed": true}')
    assert graph_cache.program_key(project) == key
    for escape in (str(outside), "../outside", "link"):  # the loader refuses them; the key never walks them
        (project / "Pulumi.extra.yaml").write_text(f"config:\n  dataplatform:dataFactory:\n    pipelinesDir: {escape}\n")
        read.clear()
        graph_cache.program_key(project)
        assert not [p for p in read if p.resolve().is_relative_to(outside)], escape


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": "another", "value": {"n": 0}}', b"[1, 2]",
                                    b'{"key": null}'])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_replaced(project, damage):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    graph_cache.cached("graph", project, "primary", (), compute)
    path = graph_cache.cache_dir(project) / "graph-primary.json"
    path.write_bytes(damage)
    assert graph_cache.cached("graph", project, "primary", (), compute) == {"n": 2}
    assert graph_cache.cached("graph", project, "primary", (), compute) == {"n": 2}  # rewritten whole


def test_the_cache_can_be_turned_off_and_documents_need_the_command_line(project, monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or {"n": len(calls)}  # noqa: E731
    monkeypatch.setattr(graph_cache, "_documents", False)
    graph_cache.cached_document("plan", project, "primary", (), compute)
    graph_cache.cached_document("plan", project, "primary", (), compute)
    assert len(calls) == 2  # in-process callers may have patched a registry: never cached
    monkeypatch.setattr(graph_cache, "_documents", True)
    graph_cache.cached_document("plan", project, "primary", (), compute)
    graph_cache.cached_document("plan", project, "primary", (), compute)
    assert len(calls) == 3
    monkeypatch.setenv("DRCTL_CACHE", "off")
    graph_cache.cached("graph", project, "primary", (), compute)
    graph_cache.cached("graph", project, "primary", (), compute)
    assert len(calls) == 5


def test_secret_values_are_not_written_to_the_cache():
    secret = {graph_cache._SECRET_SIG[0]: graph_cache._SECRET_SIG[1], "value": "hunter2-password"}
    masked = graph_cache._mask_secrets({"inputs": {"urn": {"administratorLoginPassword": secret, "sku": "B1"}}})
    assert masked["inputs"]["urn"]["administratorLoginPassword"]["value"] == graph_cache.SECRET_MASK
    assert masked["inputs"]["urn"]["sku"] == "B1"


def test_capture_gives_back_the_same_graph_from_the_cache_without_running_the_program(tmp_path, monkeypatch):
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DRCTL_CACHE", raising=False)
    fresh = capture(REPO, "primary")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the program ran again on unchanged code and config")

    monkeypatch.setattr(preview, "capture_graph", must_not_run)
    again = capture(REPO, "primary")
    assert again == fresh
    assert again.component_profiles().keys() == fresh.component_profiles().keys()


# What a drctl process that answers from the cache has imported by the end, printed to stderr.
_IMPORTED_BY_END = """
import json, sys
from orchestrator.cli.main import main
try:
    main()
except SystemExit:
    pass
heavy = ("pulumi", "pulumi_azure_native", "components.registry", "azure.core", "azure.storage.blob", "psycopg",
         "pydantic")
print(json.dumps(sorted(name for name in heavy if name in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("verb", ["preview", "plan", "posture", "coverage"])
def test_a_verb_answered_from_the_cache_imports_neither_pulumi_nor_the_services(verb, repo_graphs, tmp_path,
                                                                                monkeypatch):
    """Repeated on unchanged code and config, the offline verbs are read from the cache; importing
    Pulumi, the services and the checks' SDKs costs about 0.3 s, most of what such a run would take
    (bench/offline.py measures it: offline.*_repeated_s)."""
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DRCTL_CACHE", raising=False)
    repo_graphs.warm_cache(REPO, "reference", "reference-secondary")
    args = [verb, "--stack", "reference", "--json"] + (["--workdir", str(tmp_path / "run")] if verb == "plan" else [])
    env = {**os.environ, "NO_COLOR": "1"}
    first = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode in (0, 1), first.stderr[-2000:]  # coverage exits 1 on a gap; still a document
    again = subprocess.run([sys.executable, "-c", _IMPORTED_BY_END, *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads(again.stderr.strip().splitlines()[-1]) == []


def test_a_cold_preview_runs_the_program_without_importing_the_checks_sdks(tmp_path, monkeypatch):
    """Preview declares the checks and runs none: the SDKs the checks use (about 0.1 s of imports,
    on a run bench/offline.py holds within 1.2 times Pulumi's own floor) are imported when a check runs."""
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DRCTL_CACHE", raising=False)
    done = subprocess.run([sys.executable, "-c", _IMPORTED_BY_END, "preview", "--stack", "reference", "--json"],
                          cwd=REPO, env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["resources"]  # the program ran
    assert json.loads(done.stderr.strip().splitlines()[-1]) == ["components.registry", "pulumi", "pulumi_azure_native",
                                                                  "pydantic"]
