"""A run of a plan, from its directory's creation to its report: the sequence every verb that runs
one follows (drill, failover, fallback on Azure and locally, rehearse, resume), written once.

The order is the run's contract with the people and scripts watching it:

1. the stack's lease is taken before anything is created: another run on the stack is refused;
2. the run directory is created and announced: the first line on stderr is exactly `run: <dir>`;
3. the lease is bound to the run: a takeover is said after the `run:` line and kept in lease.json;
4. run.json and plan.json (a failover: preflight.json too) are written, then, with --state-url,
   the state container's copy of the run starts;
5. the journal is opened (redacted, mirrored to the container) and the engine runs the plan, with
   SIGTERM taken as Ctrl-C so a `kill` ends the run as cleanly as a keypress;
6. the report, the evidence and the seal are written from the journal.

A resumed run takes the lease for its existing directory, announces it and binds the lease (1-3),
then goes on from 5.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile
from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.progress import progress_for
from orchestrator.engine.scheduler import Engine
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.model import Plan, StepRunner
from orchestrator.plan.recovery import plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.report.run_summary import finish_run
from orchestrator.run.lease import StackLease
from orchestrator.run.rundir import RunDir

if TYPE_CHECKING:  # the state store imports the Azure SDK: only runs with --state-url load it
    from orchestrator.engine.results import RunResult
    from orchestrator.engine.retry import RetryPolicy
    from orchestrator.run.remote.store import RunStateStore

OnEvent = Callable[[dict[str, Any]], None]


def announce_run(run_dir: RunDir) -> None:
    """The first line on stderr is exactly `run: <run_dir>` (no timestamp), for scripts to read."""
    print(f"run: {run_dir}", file=sys.stderr, flush=True)


class RunSession:
    """One run's directory, lease and state container, and the steps every run takes with them.
    `with session:` ends the state container's copy it started (the last files sent, its lease
    released: any machine may resume the run then)."""

    def __init__(self, run_dir: RunDir, *, lease: StackLease | None = None,
                 state: RunStateStore | None = None, run: dict[str, Any] | None = None) -> None:
        self.run_dir, self.lease, self.state = run_dir, lease, state
        self.run: dict[str, Any] = run or {}
        self._mirroring = False  # the state container's copy this session started, and must end

    @classmethod
    def start(cls, workdir: Path, stack: str, kind: str, *, lease: StackLease | None = None,
              state: RunStateStore | None = None,
              announce: Callable[[RunDir], None] = announce_run) -> RunSession:
        """A new run of `stack`: its id `<kind>-<time>-<random>`. The lease is taken here unless the
        verb took it earlier (a failover refuses before its preflight)."""
        if lease is not None and not lease.held:
            lease.acquire()  # another run on the stack is refused here, before anything is created
        run_dir = RunDir.create(workdir, stack, kind)
        announce(run_dir)
        if lease is not None:
            lease.bind(run_dir.run_id, run_dir.path)  # after the `run:` line, which stays the first on stderr
        return cls(run_dir, lease=lease, state=state)

    @classmethod
    def resume(cls, run_dir: RunDir, run: dict[str, Any], *, lease: StackLease | None = None,
               state: RunStateStore | None = None) -> RunSession:
        """An existing run, found resumable. `state`: its container, already taken by the caller,
        which also ends it."""
        if lease is not None:
            lease.acquire(run["run_id"])  # refused while another process runs the stack (or this run)
        announce_run(run_dir)
        if lease is not None:
            lease.bind(run["run_id"], run_dir.path)
        return cls(run_dir, lease=lease, state=state, run=run)

    def record(self, run: dict[str, Any], plan: Plan, *, preflight: dict[str, Any] | None = None) -> None:
        """What the run is and what it runs, before its first step; then the container's copy."""
        self.run = run
        write_json_atomic(self.run_dir.run_json, run)
        write_json_atomic(self.run_dir.plan_json, plan_to_json(plan))
        if preflight is not None:
            write_json_atomic(self.run_dir.preflight_json, preflight)
        if self.state is not None:
            self.state.start_run(self.run_dir.path, run)
            self._mirroring = True

    def open_journal(self) -> Journal:
        """The run's journal, secrets redacted, each line mirrored to the state container if any."""
        return Journal.open(self.run_dir, redact=REDACTOR, mirror=self.state.journal_mirror if self.state else None)

    def run_engine(self, plan: Plan, target: StepRunner, journal: Journal, *, workers: int,
                   retry: RetryPolicy | None = None, on_event: OnEvent | None = None,
                   settle: Callable[[], None] | None = None,
                   on_sigterm: Callable[[], None] | None = None) -> RunResult:
        """Run the plan's steps on `target`. `settle` runs once the engine stops, still with SIGTERM
        as Ctrl-C (a failover waits there for a `pulumi up` that is still ending); `on_sigterm`
        runs when SIGTERM comes (a failover cancels its `pulumi up` there)."""
        engine = Engine(plan, target, journal, max_workers=workers, retry=retry,
                        on_event=on_event or progress_for(plan, journal))
        with sigterm_as_interrupt(on_sigterm):
            try:
                return engine.run()
            finally:
                if settle is not None:
                    settle()

    def finish(self, plan: Plan, profiles: dict[str, DRProfile], result: RunResult, *, disaster_at: str,
               extra: dict[str, Any] | None = None, appendix: str | None = None) -> dict[str, Any]:
        """The report, evidence, history line and seal, from the journal; the run's JSON summary."""
        return finish_run(run_dir=self.run_dir.path, run=self.run, kind=self.run["kind"], plan=plan,
                          profiles=profiles, outcome=str(result.outcome), disaster_at=disaster_at, extra=extra,
                          appendix=appendix)

    def close(self) -> None:
        if self._mirroring and self.state is not None:
            self._mirroring = False
            self.state.close()

    def __enter__(self) -> RunSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
