"""What the crash suite (reliability/suite_crash.py) needs around drctl processes and journals.

The journal is read here independently of orchestrator/engine/journal.py, so a bug there cannot hide
itself: complete lines must each be JSON, and only bytes after the last newline may be torn.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.engine.crashpoint import KILL_ENV as DRCTL_ENV_KILL
from orchestrator.run.rundir import RunDir
from reliability.drctl import DRCTL

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300
# Events after which a started step is no longer running (a non-final failure is followed by a retry).
_ENDED = {"step_succeeded", "step_skipped", "step_waiting", "step_abandoned"}

__all__ = ["DRCTL_ENV_KILL", "Drill", "drctl", "journal_records", "running_at_end", "start_drill", "tear", "wait_for"]


def _env(extra: dict[str, str]) -> dict[str, str]:
    # No test hook inherited from whoever runs the suite: only the ones a case sets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}
    env["NO_COLOR"] = "1"
    return {**env, **extra}


class Drill:
    """`drctl drill --local --json --workdir <workdir>` in the background, output in files."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / "drctl.stderr"
        with open(workdir / "drctl.stdout", "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([*DRCTL, "drill", "--local", "--json", "--workdir", str(workdir)],
                                         cwd=REPO, env=_env(env), stdout=out, stderr=err)

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL

    def wait(self, timeout: float = TIMEOUT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def start_drill(workdir: Path, env: dict[str, str]) -> Drill:
    return Drill(workdir, env)


def wait_for(drill: Drill, ready: Callable[[str], bool], timeout_s: float = 120) -> str:
    """stderr once `ready(stderr)`; polled every 20 ms (the prelude's timing depends on it)."""
    deadline = time.monotonic() + timeout_s
    while not ready(text := drill.stderr_text()):
        if drill.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"drill exited {drill.proc.returncode} before it was ready: {text[-800:]}")
        time.sleep(0.02)
    return text


def drctl(*args: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env({}), capture_output=True, text=True, timeout=timeout)


def journal_records(run_dir: Path) -> tuple[list[dict], bytes | None]:
    """The journal's complete records, and its torn tail (bytes after the last newline) if any."""
    try:
        data = RunDir(run_dir).journal.read_bytes()
    except FileNotFoundError:
        return [], None
    lines = data.split(b"\n")
    tail = lines.pop()
    return [json.loads(line) for line in lines], tail or None


def running_at_end(run_dir: Path) -> set[str]:
    """Steps the journal shows started and not ended: what was running when the process died."""
    running: set[str] = set()
    for record in journal_records(run_dir)[0]:
        step, event = record.get("step"), record["event"]
        if event == "step_started":
            running.add(step)
        elif event in _ENDED or (event == "step_failed" and record.get("final", True)):
            running.discard(step)
    return running


def tear(path: Path, kind: str) -> None:
    """`cut`: the last record loses its second half and its newline, as if the crash came during
    its write (so its transition never took effect). `partial`: the start of one more record."""
    data = path.read_bytes()
    if kind == "cut":
        body = data[:-1] if data.endswith(b"\n") else data
        start = body.rfind(b"\n") + 1
        data = data[: start + max(1, (len(body) - start) // 2)]
    elif kind == "partial":
        seq = len(data.splitlines()) + 1
        data += b'{"seq":%d,"ts":"2026-01-01T00:00:00.000+00:00","event":"step_succ' % seq
    else:
        raise ValueError(kind)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
