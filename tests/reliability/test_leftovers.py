"""reliability/leftovers.py: a workdir's processes are found by command line or working directory."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from reliability.leftovers import cleanup_case, describe, leftover_problems, processes_of

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_process_named_by_or_running_in_the_workdir_is_found_then_stopped_with_the_folder():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-leftovers-")).resolve()
    (workdir / "data").mkdir()
    named = subprocess.Popen([*SLEEP, str(workdir / "data")])
    inside = subprocess.Popen(SLEEP, cwd=workdir)
    elsewhere = subprocess.Popen(SLEEP)
    try:
        assert {p.pid for p in processes_of(workdir)} == {named.pid, inside.pid}
        assert len(leftover_problems(workdir)) == 2 and all("left running" in p for p in leftover_problems(workdir))
        assert cleanup_case(workdir) == 2
        assert named.wait(10) is not None and inside.wait(10) is not None
        assert not workdir.exists() and describe(processes_of(workdir)) == []
        assert elsewhere.poll() is None  # not the workdir's: untouched
    finally:
        for proc in (named, inside, elsewhere):
            proc.kill()
            proc.wait()
