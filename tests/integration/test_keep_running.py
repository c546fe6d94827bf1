"""`drctl drill --local --keep-running`: the recovered region stays up after drctl exits, the checks
run by hand pass against it (`pytest smoke_tests --outputs`), and `drctl cleanup --local` stops it
and removes its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from reliability.leftovers import cleanup_case

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="drctl-kept-")).resolve()
    yield path
    cleanup_case(path)


def test_a_kept_region_passes_the_hand_checks_until_cleanup_stops_it(workdir):
    drill = run(*DRCTL, "drill", "--local", "--keep-running", "--json", "--workdir", str(workdir))
    assert drill.returncode == 0, drill.stderr[-2000:]
    summary = json.loads(drill.stdout)
    kept = summary["kept_running"]
    pids = [pid for pid in kept["servers"].values() if pid]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)  # drctl has exited; its region has not
    outputs = json.loads(Path(kept["outputs"]).read_text())
    assert "local" in outputs and not any(key in json.dumps(outputs) for key in ("AccountKey", "password"))
    # PostgreSQL's password is in the keys file the outputs point to, never in the outputs themselves
    keys = json.loads(Path(outputs["local"]["keysFile"]).read_text())
    assert keys[outputs["local"]["postgresPasswordKey"]] not in json.dumps(outputs)

    hand = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "smoke_tests",
               "--outputs", kept["outputs"])
    assert hand.returncode == 0, hand.stdout[-3000:] + hand.stderr[-2000:]
    assert "2 passed" in hand.stdout  # lake blob-write-read-delete, postgres select-1
    assert "backup's manifest" in hand.stdout  # the manifest comparisons are left to drctl's run, saying so

    cleanup = run(*DRCTL, "cleanup", "--local", "--workdir", str(workdir), "--json")
    assert cleanup.returncode == 0, cleanup.stderr
    removed = [e for e in json.loads(cleanup.stdout)["local"]["leftovers"] if e["remove"]]
    assert [e["reason"] for e in removed] == ["a drill's region left running by --keep-running"]
    assert not any(alive(pid) for pid in pids) and not Path(kept["local_dir"]).exists()
