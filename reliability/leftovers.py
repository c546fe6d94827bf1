"""Processes a run left behind: every emulator and drctl process of a case runs from its workdir.

A process belongs to a workdir when its command line names the folder (the emulators are given
their data directories there) or its working directory is inside it. The suites and the
integration tests use these to assert that nothing was left running, and to clean up after a
failed case without touching anyone else's processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import psutil


def processes_of(workdir: Path) -> list[psutil.Process]:
    """Live (non-zombie) processes whose command line or working directory is inside `workdir`."""
    mark, found = str(Path(workdir).resolve()), []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
        info = proc.info
        if proc.pid == os.getpid() or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if mark in " ".join(info["cmdline"] or []) or (info["cwd"] or "").startswith(mark):
            found.append(proc)
    return found


def describe(procs: list[psutil.Process]) -> list[str]:
    """`pid: command line` of each process still there."""
    out = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(f"{proc.pid}: {' '.join(proc.cmdline())[:200]}")
    return out


def leftover_problems(workdir: Path) -> list[str]:
    """One problem line per process still running from `workdir`."""
    return [f"process {line} left running" for line in describe(processes_of(workdir))]


def stop_processes_of(workdir: Path) -> int:
    """Kill whatever still runs from `workdir` and wait for it; how many there were."""
    procs = processes_of(workdir)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=10)
    return len(procs)


def cleanup_case(workdir: Path) -> int:
    """Stop what a (failed) case left running from `workdir`, then remove it; how many were stopped."""
    stopped = stop_processes_of(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    return stopped
