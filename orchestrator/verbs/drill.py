"""`drctl drill --local` and `drctl resume`: a failover of the secondary stack's plan against the
local region pair, from dataset to handover report.

The plan is the one `drctl plan` prints for the stack (read from the Pulumi program's graph);
the engine is the one a real failover uses; only the target differs. The run itself (directory,
lease, journal, engine, report) is orchestrator/run/session.py's, as for every verb.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.data import faults
from orchestrator.data.faults import FaultSettings
from orchestrator.data.recovery_point import as_text, from_record
from orchestrator.engine.journal import Journal, JournalCorrupt
from orchestrator.engine.progress import progress_line
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.errors import BadInput
from orchestrator.plan.recovery import plan_from_json
from orchestrator.redact import REDACTOR
from orchestrator.run.lease import StackLease
from orchestrator.run.remote.store import RunStateStore
from orchestrator.run.rundir import RunDir
from orchestrator.run.session import RunSession
from orchestrator.stack import StackModel
from orchestrator.targets.local.cosmos import RESUME_REFUSED, CosmosSpec, cosmos_spec
from orchestrator.targets.local.declared import lake_account_name
from orchestrator.targets.local.kept import keep_secondary
from orchestrator.targets.local.prelude import DrillData, reset_local_data, run_prelude
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.runner import LocalTarget
from orchestrator.targets.local.servers.cosmos import MISSING as COSMOS_MISSING
from orchestrator.targets.local.servers.cosmos import package_dir as cosmos_package

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

KIND = "drill-local"
RUN_KEYS = ("run_id", "kind", "stack", "scale", "local_dir", "database", "primary_account", "secondary_account", "targets")


def _lake_account(graph: Graph) -> str:
    account = lake_account_name(graph)  # the lake's own, not another account the stack declares
    if account:
        return account
    raise BadInput(f"stack {graph.stack} has no lake (services.lake is off): nothing for the local drill to fail over")


def run_local_drill(
    stack: StackModel, primary: StackModel, workdir: Path, *, scale: int, workers: int, keep_data: bool = False,
    with_fallback: bool = False, parallel_run_s: float | None = None, require_approval: bool = False,
    on_start: Callable[[Path, dict[str, Any]], None] | None = None, inject_faults: FaultSettings | None = None,
    corrupt_latest_backup: str | None = None, state_url: str | None = None, lease: StackLease | None = None,
    keep_running: bool = False, recovery_point: datetime | None = None,
) -> dict[str, Any]:
    """A drill of `stack` (a secondary) whose region pair's primary is `primary` (its paired stack).
    `lease`: the stack's lease (orchestrator/run/lease.py), taken once the input is checked; the caller releases it.
    `recovery_point`: restore the newest backup generation at or before it (on the drill's data clock)."""
    # Before any run directory exists: a bad --state-url, key or container is one line, nothing made.
    state = RunStateStore.connect(state_url) if state_url else None
    config = stack.config
    if config.role != "secondary":
        raise BadInput(f"--stack: {stack.name} is a {config.role} stack; a drill fails over to a secondary stack")
    plan = stack.recovery_plan
    primary_graph = primary.graph  # captured, like the plan's, before the lease is taken or anything created
    session = RunSession.start(workdir, stack.name, "drill", lease=lease, state=state)
    run = {
        "run_id": session.run_dir.run_id,
        "kind": KIND,
        "stack": stack.name,
        "paired_stack": config.paired_stack,
        "scale": scale,
        "local_dir": str(Path(workdir).resolve() / "local" / session.run_dir.run_id),
        "keep_data": keep_data or keep_running,
        "keep_running": keep_running,
        "with_fallback": with_fallback,
        "require_approval": require_approval,
        "parallel_run_s": parallel_run_s,
        "workdir": str(Path(workdir).resolve()),
        "database": config.postgres.databases[0],
        "primary_account": _lake_account(primary_graph),
        "secondary_account": _lake_account(stack.graph),
        "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s},
    }
    cosmos = cosmos_spec(stack, primary)
    if cosmos is not None and cosmos_package() is None:
        progress_line(f"cosmos_db is declared only in this drill: {COSMOS_MISSING}")
    elif cosmos is not None:  # in run.json: the account the prelude stages and the failover moves
        run["cosmos"] = cosmos.to_json()
    if inject_faults is not None:  # in run.json, so `drctl resume` injects the same way
        run["faults"] = inject_faults.to_json()
    if corrupt_latest_backup:  # in run.json: a prelude staged again on resume damages the same way
        run["corrupt_latest_backup"] = corrupt_latest_backup
    if recovery_point is not None:  # in run.json: `drctl resume` restores to the same point
        run["recovery_point"] = as_text(recovery_point)
    if state is not None:  # in run.json, so a plain `drctl resume` keeps the container current
        run["state_url"] = state.location.url
    if on_start is not None:
        # Before run.json and before any emulator: `drctl rehearse` marks the run (and may add to it) here.
        on_start(session.run_dir.path, run)
    session.record(run, plan)
    with session:
        return _drive(session, stack, primary, workers, fresh=True)


def resume_run(stack: StackModel, run_dir: Path, *, workers: int, state: RunStateStore | None = None,
               lease: StackLease | None = None, primary: StackModel | None = None) -> dict[str, Any]:
    """Go on with a drill of `stack` (its run.json's). `primary`: its paired stack, for a run with
    --with-fallback; `state`: the run's container, which the caller closes."""
    run = RunDir(run_dir).read_run()
    if run["kind"] != KIND:
        raise BadInput(f"RUN: resuming a {run['kind']} run is not supported here (only {KIND})")
    if run.get("rehearsal"):
        # Its data is torn down when it ends (orchestrator/verbs/rehearse.py): resuming would start on nothing.
        raise BadInput(f"RUN: {run['rehearsal']} is a rehearsal; it is not resumed: run a new one (drctl cleanup "
                       "removes what an interrupted one left)")
    resumed = RunDir(Path(run_dir).resolve())
    _check_resumable(resumed, run)  # before anything is started or written
    if run.get("cosmos") and resumed.prelude_json.exists():
        _refuse_cosmos_resume(Path(run["local_dir"]))
    session = RunSession.resume(resumed, run, lease=lease, state=state)
    return _drive(session, stack, primary, workers, fresh=False)


def _check_resumable(run_dir: RunDir, run: dict[str, Any]) -> None:
    """BadInput naming what is wrong with a run directory that cannot be resumed as it is."""
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BadInput(f"RUN: {run_dir.run_json} lacks {', '.join(missing)}")
    try:
        plan = plan_from_json(run_dir.read_json(run_dir.plan_json))
    except ValueError as exc:
        raise BadInput(f"RUN: {run_dir.plan_json}: {exc}") from None
    try:
        state = Journal.open(run_dir).state
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
    if state.plan is not None:
        mine = {(s.id, tuple(s.depends_on), str(s.kind)) for s in plan.steps}
        theirs = {(s.get("id"), tuple(s.get("depends_on", ())), s.get("kind")) for s in state.plan.get("steps", [])}
        if mine != theirs:
            raise BadInput(f"RUN: {run_dir.journal} was written for another plan than {RunDir.PLAN}")


def _refuse_cosmos_resume(local_dir: Path) -> None:
    """A drill with Cosmos DB past its prelude is not resumed (targets/local/cosmos.py): the servers its
    drctl left running (pid, start time and command line all ours) are stopped, so none outlives it."""
    from orchestrator.rehearsal.teardown import stop_emulators

    stopped = stop_emulators(local_dir) if local_dir.is_dir() else []
    raise BadInput(f"RUN: {RESUME_REFUSED}" + (f"; the {len(stopped)} server(s) it left running were stopped"
                                               if stopped else "") + f"; its emulators' data is in {local_dir}")


def _drive(session: RunSession, stack: StackModel, primary: StackModel | None, workers: int,
           fresh: bool) -> dict[str, Any]:
    run_dir, run = session.run_dir, session.run
    plan = plan_from_json(run_dir.read_json(run_dir.plan_json))
    injector = faults.start(run_dir.path, run)  # None unless the run was started with --inject-faults
    data = DrillData(local_dir=Path(run["local_dir"]), database=run["database"], scale=int(run["scale"]))
    pair = LocalRegionPair(data.local_dir, run["primary_account"], run["secondary_account"],
                           cosmos=CosmosSpec.from_json(run.get("cosmos")))
    for key in pair.account_keys():
        REDACTOR.add_secret(key)
    point = from_record(run.get("recovery_point"))
    if point is not None:
        progress_line(f"recovery point {as_text(point)} (on the drill's data clock): the newest backup generation "
                      "whose data ends at or before it is restored, and replay brings the stores up to date from there")
    with _stopped_on_exit(pair):
        prelude = _stage_the_disaster(session, pair, data, fresh)
        journal = session.open_journal()
        try:
            target = LocalTarget(pair, data, run_dir.path, stack.profiles_by_key, plan, stack.graph,
                                 require_approval=bool(run.get("require_approval")), stack=stack,
                                 recovery_point=point)
            with faults.injecting(injector):  # the steps only: the prelude above staged the world fault-free
                result = session.run_engine(plan, target, journal, workers=workers)
        finally:
            journal.close()
            # counts into faults.json even when interrupted: a resumed run adds to them
            injected = faults.record(run_dir.path, injector) if injector is not None else None
        extra = {"backup": prelude.get("backup"), **({"faults": injected} if injected else {}),
                 **({"recovery_point": run["recovery_point"]} if run.get("recovery_point") else {})}
        summary = session.finish(plan, stack.profiles_by_key, result, disaster_at=prelude["disaster_at"], extra=extra)
        if run.get("with_fallback") and summary["outcome"] == "recovered":
            summary = _with_fallback(primary, run, pair, data, workers, summary)
        if run.get("keep_running") and _succeeded(summary):
            kept = keep_secondary(pair, run_dir.path, run, stack.config.region)
            progress_line(f"the secondary region is left running: pytest smoke_tests --outputs {kept['outputs']}; "
                          f"stop it with: drctl cleanup --local --workdir {run.get('workdir')}")
            summary = {**summary, "kept_running": kept}
    if _succeeded(summary) and not run.get("keep_data", False):
        # The emulators' data served its purpose: the run directory keeps the evidence. A run that
        # did not recover keeps it, for investigation and for `drctl resume`.
        shutil.rmtree(data.local_dir, ignore_errors=True)
    return summary


def _stage_the_disaster(session: RunSession, pair: LocalRegionPair, data: DrillData, fresh: bool) -> dict[str, Any]:
    """The world before the disaster (orchestrator/targets/local/prelude.py), staged once per run:
    a resumed run whose prelude finished restarts, on their data, the geo copy's store and the
    secondary servers the deploy steps had started; the deploy steps start the others."""
    run_dir = session.run_dir
    if run_dir.prelude_json.exists():
        started = pair.restart_secondary()
        waiting = [name for name in ("secondary.azurite", "secondary.postgres") if name not in started]
        progress_line(f"restarted on their data directories: {', '.join(started)}"
                      + (f"; not deployed yet, left to their deploy steps: {', '.join(waiting)}" if waiting else ""))
        prelude = run_dir.read_json(run_dir.prelude_json)
    else:
        if not fresh:
            progress_line("the run died before the disaster was staged: staging it again from nothing")
            reset_local_data(pair, data)
        prelude = run_prelude(pair, data, run_dir.path, progress_line,
                              corrupt_latest_backup=session.run.get("corrupt_latest_backup"))
    if session.state is not None:
        session.state.sync()  # the manifests and prelude.json: a resume elsewhere validates against them
    return prelude


def _with_fallback(primary: StackModel | None, run: dict[str, Any], pair: LocalRegionPair, data: DrillData,
                   workers: int, summary: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.verbs.fallback import DEFAULT_LOCAL_PARALLEL_RUN_S, run_local_fallback

    assert primary is not None, "a drill with --with-fallback is given its primary stack"
    window = run.get("parallel_run_s")
    fallback = run_local_fallback(
        primary, Path(run.get("workdir") or Path(run["local_dir"]).parents[1]), run, pair, data, workers=workers,
        parallel_run_s=DEFAULT_LOCAL_PARALLEL_RUN_S if window is None else float(window), say=progress_line)
    return {**summary, "fallback": fallback}


def _succeeded(summary: dict[str, Any]) -> bool:
    fallback = summary.get("fallback")
    return summary["outcome"] == "recovered" and (fallback is None or fallback["outcome"] == "recovered")


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
