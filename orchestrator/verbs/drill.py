"""`drctl drill --local` and `drctl resume`: a failover of the secondary stack's plan against the
local region pair, from dataset to handover report.

The plan is the one `drctl plan` prints for the stack (read from the Pulumi program's graph);
the engine is the one a real failover uses; only the target differs.
"""

from __future__ import annotations

import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from components.profile import DRProfile
from orchestrator.atomic import write_json_atomic
from orchestrator.data import faults
from orchestrator.data.faults import FaultSettings
from orchestrator.engine.journal import Journal, JournalCorrupt
from orchestrator.engine.progress import progress_for, progress_line
from orchestrator.engine.scheduler import Engine
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.errors import BadInput
from orchestrator.plan.recovery import plan_from_json, plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.report.run_summary import finish_run
from orchestrator.run.lease import StackLease
from orchestrator.run.remote.store import RunStateStore
from orchestrator.run.rundir import RunDir
from orchestrator.stack import build_stack_plan, check_stack, stack_profiles
from orchestrator.targets.local.prelude import DrillData, reset_local_data, run_prelude
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.runner import LocalTarget

KIND = "drill-local"
STORAGE_TYPE = "azure-native:storage:StorageAccount"
RUN_KEYS = ("run_id", "kind", "stack", "scale", "local_dir", "database", "primary_account", "secondary_account", "targets")



def _lake_account(graph: Any) -> str:
    for resource in graph.resources:
        if resource["type"] == STORAGE_TYPE and resource["physical_name"]:
            return resource["physical_name"]
    raise BadInput(f"stack {graph.stack} has no lake (services.lake is off): nothing for the local drill to fail over")


def run_local_drill(
    project_dir: Path, stack: str, workdir: Path, *, scale: int, workers: int, keep_data: bool = False,
    with_fallback: bool = False, parallel_run_s: float | None = None, require_approval: bool = False,
    on_start: Callable[[Path, dict[str, Any]], None] | None = None, inject_faults: FaultSettings | None = None,
    corrupt_latest_backup: str | None = None, state_url: str | None = None, lease: StackLease | None = None,
) -> dict[str, Any]:
    """`lease`: the stack's lease (orchestrator/run/lease.py), taken once the input is checked; the caller releases it."""
    check_stack(project_dir, stack)
    # Before any run directory exists: a bad --state-url, key or container is one line, nothing made.
    state = RunStateStore.connect(state_url) if state_url else None
    plan, graph, config = build_stack_plan(project_dir, stack)
    if config.role != "secondary":
        raise BadInput(f"--stack: {stack} is a {config.role} stack; a drill fails over to a secondary stack")
    from orchestrator.stack import capture

    primary_graph = capture(project_dir, config.paired_stack)
    if lease is not None:
        lease.acquire()  # another run on the stack is refused here, before anything is created
    created = RunDir.create(workdir, stack, "drill")
    run_id, run_dir = created.run_id, created.path
    local_dir = Path(workdir).resolve() / "local" / run_id
    _announce(run_dir)
    if lease is not None:
        lease.bind(run_id, run_dir)  # after the `run:` line, which stays the first on stderr
    run = {
        "run_id": run_id,
        "kind": KIND,
        "stack": stack,
        "paired_stack": config.paired_stack,
        "scale": scale,
        "local_dir": str(local_dir),
        "keep_data": keep_data,
        "with_fallback": with_fallback,
        "require_approval": require_approval,
        "parallel_run_s": parallel_run_s,
        "workdir": str(Path(workdir).resolve()),
        "database": config.postgres.databases[0],
        "primary_account": _lake_account(primary_graph),
        "secondary_account": _lake_account(graph),
        "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s},
    }
    if inject_faults is not None:  # in run.json, so `drctl resume` injects the same way
        run["faults"] = inject_faults.to_json()
    if corrupt_latest_backup:  # in run.json: a prelude staged again on resume damages the same way
        run["corrupt_latest_backup"] = corrupt_latest_backup
    if state is not None:  # in run.json, so a plain `drctl resume` keeps the container current
        run["state_url"] = state.location.url
    if on_start is not None:
        # Before run.json and before any emulator: `drctl rehearse` marks the run (and may add to it) here.
        on_start(run_dir, run)
    write_json_atomic(created.run_json, run)
    write_json_atomic(created.plan_json, plan_to_json(plan))
    profiles = {profile.key: profile for profile in stack_profiles(graph, config)}
    if state is None:
        return _drive(project_dir, run_dir, run, workers, fresh=True, profiles=profiles)
    state.start_run(run_dir, run)
    try:
        return _drive(project_dir, run_dir, run, workers, fresh=True, profiles=profiles, state=state)
    finally:
        state.close()  # the last files sent, the lease released: any machine may resume it now


def resume_run(project_dir: Path, run_dir: Path, *, workers: int, state: RunStateStore | None = None,
               lease: StackLease | None = None) -> dict[str, Any]:
    run = RunDir(run_dir).read_run()
    if run["kind"] != KIND:
        raise BadInput(f"RUN: resuming a {run['kind']} run is not supported here (only {KIND})")
    if run.get("rehearsal"):
        # Its data is torn down when it ends (orchestrator/verbs/rehearse.py): resuming would start on nothing.
        raise BadInput(f"RUN: {run['rehearsal']} is a rehearsal; it is not resumed: run a new one (drctl cleanup "
                       "removes what an interrupted one left)")
    run_dir = Path(run_dir).resolve()
    _check_resumable(run_dir, run)  # before anything is started or written
    if lease is not None:
        lease.acquire(run["run_id"])  # refused while another process runs the stack (or this run)
    _announce(run_dir)
    if lease is not None:
        lease.bind(run["run_id"], run_dir)
    return _drive(project_dir, run_dir, run, workers, fresh=False, state=state)


def _announce(run_dir: Path) -> None:
    """The first line on stderr is exactly `run: <run_dir>` (no timestamp), for scripts to read."""
    print(f"run: {run_dir}", file=sys.stderr, flush=True)


def _check_resumable(run_dir: Path, run: dict[str, Any]) -> None:
    """BadInput naming what is wrong with a run directory that cannot be resumed as it is."""
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BadInput(f"RUN: {RunDir(run_dir).run_json} lacks {', '.join(missing)}")
    try:
        plan = plan_from_json(RunDir(run_dir).read_json(RunDir(run_dir).plan_json))
    except ValueError as exc:
        raise BadInput(f"RUN: {RunDir(run_dir).plan_json}: {exc}") from None
    try:
        state = Journal.open(run_dir).state
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
    if state.plan is not None:
        mine = {(s.id, tuple(s.depends_on), str(s.kind)) for s in plan.steps}
        theirs = {(s.get("id"), tuple(s.get("depends_on", ())), s.get("kind")) for s in state.plan.get("steps", [])}
        if mine != theirs:
            raise BadInput(f"RUN: {RunDir(run_dir).journal} was written for another plan than {RunDir.PLAN}")


def _drive(
    project_dir: Path,
    run_dir: Path,
    run: dict[str, Any],
    workers: int,
    fresh: bool,
    profiles: dict[str, DRProfile] | None = None,
    state: RunStateStore | None = None,
) -> dict[str, Any]:
    """`state`: the run's state container (--state-url), which the caller closes."""
    plan = plan_from_json(RunDir(run_dir).read_json(RunDir(run_dir).plan_json))
    if profiles is None:
        profiles = _profiles_by_key(project_dir, run["stack"])
    injector = faults.start(run_dir, run)  # None unless the run was started with --inject-faults
    data = DrillData(local_dir=Path(run["local_dir"]), database=run["database"], scale=int(run["scale"]))
    pair = LocalRegionPair(data.local_dir, run["primary_account"], run["secondary_account"])
    for server in (pair.primary_azurite, pair.secondary_azurite):
        for account in server.accounts:
            REDACTOR.add_secret(server.account_key(account))
    with _stopped_on_exit(pair):
        prelude_path = RunDir(run_dir).prelude_json
        if not prelude_path.exists():
            if not fresh:
                progress_line("the run died before the disaster was staged: staging it again from nothing")
                reset_local_data(pair, data)
            prelude = run_prelude(pair, data, run_dir, progress_line,
                                  corrupt_latest_backup=run.get("corrupt_latest_backup"))
        else:
            progress_line("restarting the secondary region's services from their data directories")
            pair.restart_secondary()
            prelude = RunDir(run_dir).read_json(prelude_path)
        if state is not None:
            state.sync()  # the manifests and prelude.json: a resume elsewhere validates against them
        journal = Journal.open(run_dir, redact=REDACTOR, mirror=state.journal_mirror if state else None)
        try:
            target = LocalTarget(pair, data, run_dir, profiles, plan, require_approval=bool(run.get("require_approval")))
            engine = Engine(plan, target, journal, max_workers=workers, on_event=progress_for(plan, journal))
            with faults.injecting(injector):  # the steps only: the prelude above staged the world fault-free
                result = engine.run()
        finally:
            journal.close()
            # counts into faults.json even when interrupted: a resumed run adds to them
            injected = faults.record(run_dir, injector) if injector is not None else None
        extra = {"backup": prelude.get("backup"), **({"faults": injected} if injected else {})}
        summary = finish_run(
            run_dir=run_dir, run=run, kind=KIND, plan=plan, profiles=profiles, outcome=str(result.outcome),
            disaster_at=prelude["disaster_at"], extra=extra,
        )
        if run.get("with_fallback") and summary["outcome"] == "recovered":
            summary = _with_fallback(project_dir, run, pair, data, workers, summary)
    if _succeeded(summary) and not run.get("keep_data", False):
        # The emulators' data served its purpose: the run directory keeps the evidence. A run that
        # did not recover keeps it, for investigation and for `drctl resume`.
        shutil.rmtree(data.local_dir, ignore_errors=True)
    return summary


def _with_fallback(project_dir: Path, run: dict[str, Any], pair: LocalRegionPair, data: DrillData, workers: int,
                   summary: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.verbs.fallback import DEFAULT_LOCAL_PARALLEL_RUN_S, run_local_fallback

    window = run.get("parallel_run_s")
    fallback = run_local_fallback(
        project_dir, Path(run.get("workdir") or Path(run["local_dir"]).parents[1]), run, pair, data, workers=workers,
        parallel_run_s=DEFAULT_LOCAL_PARALLEL_RUN_S if window is None else float(window), say=progress_line)
    return {**summary, "fallback": fallback}


def _succeeded(summary: dict[str, Any]) -> bool:
    fallback = summary.get("fallback")
    return summary["outcome"] == "recovered" and (fallback is None or fallback["outcome"] == "recovered")


def _profiles_by_key(project_dir: Path, stack: str) -> dict[str, DRProfile]:
    from orchestrator.stack import capture
    from stacks.config import load_stack_config

    config = load_stack_config(Path(project_dir), stack)
    return {profile.key: profile for profile in stack_profiles(capture(project_dir, stack), config)}


@contextmanager
def _stopped_on_exit(pair: LocalRegionPair) -> Iterator[None]:
    """Every process the drill started is stopped when it ends: success, failure, Ctrl-C or SIGTERM."""
    with sigterm_as_interrupt():
        try:
            yield
        finally:
            try:
                pair.stop()
            finally:
                sys.stderr.flush()
