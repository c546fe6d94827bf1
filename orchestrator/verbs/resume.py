"""`drctl resume RUN`: continue an interrupted run where it stopped, whatever its kind (a failover,
a drill), here or, with its state off the machine (`--state-url`), from another one. Completed steps
are not run again; the stack's lease is taken as for a new run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.run.lease import StackLease, lease_workdir
from orchestrator.run.remote.resume import open_for_resume
from orchestrator.run.rundir import RunDir
from orchestrator.stack import load_stack


def resume_run(project_dir: Path, run: str, *, workdir: Path, workers: int, state_url: str | None,
               break_lease: bool) -> dict[str, Any]:
    """The resumed run's summary; RUN is a run directory or run id (or, with state, one in the container)."""
    run_dir, state = open_for_resume(run, workdir, state_url, break_lease=break_lease)
    lease = None
    try:
        document = RunDir(run_dir).read_run()
        model = load_stack(project_dir, document["stack"])
        # The stack's lease, as for a new run: refused while another run (or this one) is running it.
        lease = StackLease(lease_workdir(run_dir, document, workdir), document["stack"], "resume",
                           break_lease=break_lease)
        if document["kind"] == "failover":
            from orchestrator.verbs.failover import resume_failover

            summary = resume_failover(model, run_dir, workers=workers, state=state, lease=lease)
        else:
            from orchestrator.verbs.drill import resume_run as resume_drill

            # A drill with --with-fallback falls back to its primary once recovered.
            primary = load_stack(project_dir, model.config.paired_stack) if document.get("with_fallback") else None
            summary = resume_drill(model, run_dir, workers=workers, state=state, lease=lease, primary=primary)
    finally:
        if lease is not None:
            lease.release()
        if state is not None:
            state.close()
    return summary
