"""Whether a run whose journal has no end is still going, or was killed (SIGKILL, a reboot, a lost
machine) before it could write one.

Only the run's process writes the journal's end, so a killed run's journal stays open forever; its
stack lease tells the two apart (orchestrator/run/lease.py). The lease the run held is found through
its evidence `lease.json` (the lease file's path and the run's last acquisition: host, pid, process
start time), or, without one, as `<workdir>/leases/<stack>.json`. The run is abandoned when:

- the lease file still names the run, and its holder process is gone from this host, or it was
  written on another host and its expires_at has passed (the heartbeat stopped);
- the lease file no longer names the run (released, or taken over), and the run's last holder
  process is gone from this host.

It stays in progress while its holder runs, and also when this host cannot tell (a holder on another
machine whose lease file is not here): the answer then says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.run.lease import LEASES_DIR
from orchestrator.run.ownership import owner_alive, parse_time
from orchestrator.run.rundir import RunDir

IN_PROGRESS = "in progress"
ABANDONED = "abandoned"
RESUMABLE_KINDS = ("failover", "drill")  # what `drctl resume` continues (orchestrator/verbs/resume.py)


def liveness(run_dir: RunDir, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """For a run with no end in its journal: `state` (in progress or abandoned), `reason`, and
    `next`, the commands that continue or clean up after an abandoned run."""
    run = _read(run_dir.run_json) or {}
    evidence = _read(run_dir.lease_json) or {}
    acquisitions = [a for a in evidence.get("acquisitions") or [] if isinstance(a, dict)]
    holder = acquisitions[-1] if acquisitions else None
    lease_path = _lease_path(run_dir, run, evidence)
    lease = _read(lease_path) if lease_path else None

    if lease is not None and _names_run(lease, run_dir.run_id, holder):
        reason = _lapsed(lease, lease_path, clock())
        if reason is None:
            return _in_progress(f"holder pid {lease.get('pid')} on {lease.get('host')} holds the lease "
                                f"until {lease.get('expires_at')}")
        return _abandoned(reason, run_dir, run)
    if holder is None:
        return _in_progress("no lease recorded for this run: whether its process still runs cannot be told")
    where = f"lease {lease_path}" if lease_path else "no lease file"
    alive = owner_alive(holder)
    if alive is False:
        return _abandoned(f"holder pid {holder.get('pid')} not running on {holder.get('host')} "
                          f"(and the stack's lease no longer names the run: {where})", run_dir, run)
    if alive is None:
        return _in_progress(f"holder pid {holder.get('pid')} runs on {holder.get('host')}, not this host, "
                            f"and the stack's lease here does not name the run ({where}): it cannot be checked from here")
    return _in_progress(f"holder pid {holder.get('pid')} on {holder.get('host')} is running")


def _lapsed(lease: dict[str, Any], path: Path | None, now: float) -> str | None:
    """Why the lease naming the run no longer holds, or None while it does (FileLease.stale's rule)."""
    alive = owner_alive(lease)
    if alive is False:
        return f"holder pid {lease.get('pid')} not running on {lease.get('host')} (its lease {path} was never released)"
    expires = parse_time(lease.get("expires_at"))
    if alive is None and (expires is None or expires.timestamp() < now):
        return (f"lease expired at {lease.get('expires_at')} (holder pid {lease.get('pid')} on {lease.get('host')}, "
                f"not this host; lease {path})")
    return None


def _names_run(lease: dict[str, Any], run_id: str, holder: dict[str, Any] | None) -> bool:
    if lease.get("run_id") == run_id:
        return True
    # Killed between acquiring and binding the run id: the same holder token.
    return bool(holder and holder.get("token") and lease.get("token") == holder.get("token"))


def _lease_path(run_dir: RunDir, run: dict[str, Any], evidence: dict[str, Any]) -> Path | None:
    if isinstance(evidence.get("lease_file"), str):
        return Path(evidence["lease_file"])
    stack = run.get("stack") or run_dir.path.parent.name
    workdir = run_dir.workdir(str(stack))
    return workdir / LEASES_DIR / f"{stack}.json" if workdir else None


def _next_steps(run_dir: RunDir, run: dict[str, Any]) -> list[str]:
    workdir = run_dir.workdir(str(run.get("stack"))) or run.get("workdir")
    at = f" --workdir {workdir}" if workdir else ""
    if run.get("rehearsal"):  # a rehearsal is not resumed: its leftovers are removed
        if run.get("rehearsal_target") == "azure":  # its resource groups carry the rehearsal tag
            return [f"drctl cleanup --subscription {run.get('subscription') or '<subscription id>'}"]
        return [f"drctl cleanup --local{at}"]
    if run.get("kind") in RESUMABLE_KINDS:
        return [f"drctl resume {run_dir.run_id}{at}"]
    return []


def _in_progress(reason: str) -> dict[str, Any]:
    return {"state": IN_PROGRESS, "reason": reason, "next": []}


def _abandoned(reason: str, run_dir: RunDir, run: dict[str, Any]) -> dict[str, Any]:
    return {"state": ABANDONED, "reason": reason, "next": _next_steps(run_dir, run)}


def _read(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None
