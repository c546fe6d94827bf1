"""What a local drill run as root changes on the host (the PostgreSQL system user, o+x on the folders
above its data) is said as it happens, kept for the run's evidence, recorded in a ledger, and undone
by `drctl cleanup --local --undo-host-changes` where nothing still needs it. The ledger lives in a
temporary $XDG_STATE_HOME here."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from orchestrator.targets.local import host_changes
from orchestrator.targets.local.servers import postgres

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.setattr(host_changes, "_made", [])
    # The folders are opened for a user no process runs as. Whether a drill's PostgreSQL user still
    # runs processes is a fact of the whole machine, and other tests' drills run alongside these
    # (pytest -n); test_a_user_that_still_runs_processes_is_not_removed checks that refusal.
    monkeypatch.setattr(postgres, "SERVICE_USER", "drctl_pg_test_nobody")
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def closed_folder():
    """A 0700 folder under /tmp, whose parents others may traverse already (pytest's tmp_path is under a
    0700 folder of its own, which the grant would open too)."""
    made: list[Path] = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="drctl-host-")))
        return made[-1]

    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


def test_opening_a_folder_to_the_postgres_user_is_said_kept_and_recorded(closed_folder, capsys, state_home):
    folder = closed_folder()
    (folder / "drill").mkdir(mode=0o755)
    postgres._grant_traverse(folder / "drill")
    assert mode(folder) == 0o701 and [c["path"] for c in host_changes.made()] == [str(folder)]
    said = capsys.readouterr().err
    assert f"host change: {folder}: mode 0o700 -> 0o701" in said and "drctl cleanup --local --undo-host-changes" in said
    change = {"kind": "mode", "path": str(folder), "before": "0o700", "after": "0o701", "for": postgres.SERVICE_USER}
    assert change in host_changes.made()
    ledger = state_home / "drctl" / host_changes.LEDGER
    assert change in json.loads(ledger.read_text()) and mode(ledger) == 0o600 and mode(ledger.parent) == 0o700


def test_undo_restores_a_folder_the_drill_opened_and_forgets_it(closed_folder):
    folder = closed_folder()
    postgres._grant_traverse(folder)
    assert host_changes.undo(dry_run=True)[0]["reason"] is None and mode(folder) == 0o701  # a dry run changes nothing
    assert [(c["path"], c["undone"]) for c in host_changes.undo(dry_run=False)] == [(str(folder), True)]
    assert mode(folder) == 0o700 and host_changes.pending() == []


def test_undo_leaves_a_folder_someone_changed_since_and_drops_one_that_is_gone(closed_folder):
    changed, gone = closed_folder(), closed_folder()
    postgres._grant_traverse(changed)
    postgres._grant_traverse(gone)
    changed.chmod(0o755)  # the operator opened it since: their choice stands
    gone.rmdir()
    results = {c["path"]: c for c in host_changes.undo(dry_run=False)}
    assert not results[str(changed)]["undone"] and "0o755 now" in results[str(changed)]["reason"]
    assert results[str(gone)]["undone"] and mode(changed) == 0o755
    assert [c["path"] for c in host_changes.pending()] == [str(changed)]


def test_a_user_that_still_runs_processes_is_not_removed():
    # root always runs something: as a drill's PostgreSQL user would while a drill runs
    host_changes.user_created("root")
    result = host_changes.undo(dry_run=False)[0]
    assert not result["undone"] and "still run as root" in result["reason"]
    assert host_changes.pending() == [{"kind": "user", "name": "root"}]


def drctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1", **env})


def test_cleanup_local_lists_the_changes_and_undoes_them_when_asked(tmp_path, closed_folder, state_home):
    folder = closed_folder()
    postgres._grant_traverse(folder)
    env = {"XDG_STATE_HOME": str(state_home)}
    listed = drctl("cleanup", "--local", "--workdir", str(tmp_path / "wd"), env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"host: {folder}: mode 0o700 -> 0o701" in listed.stdout and "undo with --undo-host-changes" in listed.stdout
    assert mode(folder) == 0o701
    undone = drctl("cleanup", "--local", "--undo-host-changes", "--workdir", str(tmp_path / "wd"), env=env)
    assert undone.returncode == 0, undone.stderr
    assert "undone" in undone.stdout and mode(folder) == 0o700
    refused = drctl("cleanup", "--undo-host-changes", "--subscription", "00000000-0000-0000-0000-000000000000", env=env)
    assert refused.returncode == 2 and refused.stderr == "drctl: --undo-host-changes: only with --local (the changes " \
                                                         "local drills made)\n"
