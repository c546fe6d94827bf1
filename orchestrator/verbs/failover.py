"""`drctl failover --stack secondary`: the recovery of a stack into its region, on Azure.

The plan is the one `drctl plan` prints; the engine, journal and report are the drill's. Deploy
steps run through the Pulumi Automation API (one `pulumi up` shared by the components' steps,
orchestrator/targets/azure/deploy/session.py); the data and smoke steps are delegated to the
Azure data steps (orchestrator/targets/azure/data_steps.py) when this drctl has them.

Before anything is created or deployed, the preconditions are checked and a missing one is bad
input (exit 2, one line): the Pulumi CLI (on PATH or at DRCTL_PULUMI_COMMAND) and Azure
credentials (DefaultAzureCredential must get an ARM token). `--dry-run` needs neither: it prints
the plan and the preflight checks a real run would make, touching nothing, so the plan can be
reviewed before the day on any machine (a laptop without a login, a CI job without secrets).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.data.recovery_point import as_text
from orchestrator.engine.journal_state import JournalState
from orchestrator.engine.progress import progress_line
from orchestrator.engine.retry import RetryPolicy
from orchestrator.errors import BadInput
from orchestrator.model import Plan, StepKind, StepState
from orchestrator.paths.assess import stack_paths
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.lease import StackLease
from orchestrator.run.remote.store import RunStateStore
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.run.session import RunSession
from orchestrator.stack import StackModel
from orchestrator.targets.azure.deploy.resume import azure_pending_creates
from orchestrator.targets.azure.deploy.session import ComponentIndex, DeploymentSession
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.optional import DataStepsFactory, azure_data_steps, planned_preflight
from orchestrator.targets.azure.preconditions import PRECONDITIONS, Preconditions
from orchestrator.targets.azure.preflight.provider_auth import provider_environment
from orchestrator.targets.azure.target import AzureTarget
from orchestrator.verbs.plan import stack_plan_document

KIND = "failover"
RUN_KEYS = ("run_id", "kind", "stack", "declared_at", "disaster_at", "targets")

# -- the command ----------------------------------------------------------------------------------------


def failover_command(stack: StackModel, *, workdir: Path, dry_run: bool = False, workers: int = 4,
                     preconditions: Preconditions | None = None, data_steps: DataStepsFactory | None = None,
                     retry: RetryPolicy | None = None,
                     preflight: Callable[[], dict[str, Any]] | None = None,
                     state_url: str | None = None, lease: StackLease | None = None,
                     rehearsal: Mapping[str, str] | None = None,
                     recovery_point: datetime | None = None) -> dict[str, Any]:
    """Fail over to `stack`: the run's JSON summary, or with dry_run the plan and checks it would run.
    `recovery_point` (wall-clock UTC): the lake is restored from its blob snapshots at or before it
    (orchestrator/targets/azure/stores/lake_point.py); kept in run.json for `drctl resume`.
    `state_url`: the container the run's state is mirrored to (orchestrator/run/remote/store.py).
    `rehearsal`: {"name", "subscription"} of the Azure rehearsal this failover is, kept in run.json so
    that a killed one is pointed at `drctl cleanup`, never at `drctl resume`.

    Preflight comes first: a blocked preflight ends the command (outcome "blocked", its report
    attached) before anything is deployed or a run directory exists."""
    if dry_run:
        document = dry_run_document(stack, workdir=workdir)
        return {**document, "recovery_point": as_text(recovery_point)} if recovery_point else document
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    state = RunStateStore.connect(state_url) if state_url else None  # bad input before anything exists
    factory = data_steps if data_steps is not None else azure_data_steps(stack.project_dir, stack.name)
    if lease is not None:
        lease.acquire()  # after bad input, before preflight: another run on the stack is refused here
    report = (preflight or _real_preflight(stack, command))()
    if report.get("blocked"):
        return {"outcome": "blocked", "stack": stack.name, "preflight": report}
    _check_role(stack)
    plan = stack.recovery_plan
    declared_at = utc_now()  # the failover is declared now: the RTO clock starts here
    session = RunSession.start(workdir, stack.name, "failover", lease=lease, state=state)
    run = {
        "run_id": session.run_dir.run_id, "kind": KIND, "stack": stack.name, "paired_stack": stack.config.paired_stack,
        "region": stack.config.region, "declared_at": declared_at, "disaster_at": declared_at,
        "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s},
    }
    if state is not None:  # in run.json, so a plain `drctl resume` keeps the container current
        run["state_url"] = state.location.url
    if rehearsal:
        run.update(rehearsal=rehearsal["name"], rehearsal_target="azure", subscription=rehearsal["subscription"])
    if recovery_point is not None:  # in run.json: the lake steps read it there, and a resume restores the same
        run["recovery_point"] = as_text(recovery_point)
        progress_line(f"recovery point {run['recovery_point']} (UTC): the lake is restored from its blob snapshots "
                      "at or before it")
    session.record(run, plan, preflight=report)
    with session:
        return _drive(session, stack, workers=workers, command=command, data_steps=factory, retry=retry)


def resume_failover(stack: StackModel, run_dir: Path, *, workers: int = 4, preconditions: Preconditions | None = None,
                    data_steps: DataStepsFactory | None = None, retry: RetryPolicy | None = None,
                    state: RunStateStore | None = None, lease: StackLease | None = None) -> dict[str, Any]:
    """Continue a failover run of `stack` (its run.json's); an update that was running when drctl
    stopped is refreshed first, importing the creates it left pending that Azure finished
    (deploy/resume.py). `state`: the run's state container when it has one (the caller closes it)."""
    run = RunDir(run_dir).read_run()
    if run["kind"] != KIND:
        raise BadInput(f"RUN: {run_dir} is a {run['kind']} run, not a {KIND} run")
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BadInput(f"RUN: {RunDir(run_dir).run_json} lacks {', '.join(missing)}")
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    factory = data_steps if data_steps is not None else azure_data_steps(stack.project_dir, run["stack"])
    session = RunSession.resume(RunDir(Path(run_dir).resolve()), run, lease=lease, state=state)
    return _drive(session, stack, workers=workers, command=command, data_steps=factory, retry=retry)


def _real_preflight(stack: StackModel, command: Path) -> Callable[[], dict[str, Any]]:
    from orchestrator.targets.azure.preflight.run import preflight_command

    state = PulumiStack(stack.project_dir, stack.name, command=command, env_vars=provider_environment(os.environ))
    # The preflight judges the environment the deploy's Pulumi CLI will get, ARM_* included.
    return lambda: preflight_command(stack.project_dir, stack.name, state_readable=state.state_readable,
                                     model=stack, env={**os.environ, **provider_environment(os.environ)})


def dry_run_document(stack: StackModel, workdir: Path | None = None) -> dict[str, Any]:
    """What a failover would run: the plan as `drctl plan` shows it (estimates from the Azure runs'
    history in `workdir` where there is some) and the checks."""
    _check_role(stack)
    checks, note = planned_preflight(stack.config)
    return {
        "stack": stack.name,
        "region": stack.config.region,
        "dry_run": True,
        "note": "dry run: nothing was deployed or read from Azure; the Pulumi CLI and Azure credentials were "
                "neither needed nor used",
        "preconditions": [dict(check) for check in PRECONDITIONS],
        "preflight_checks": checks,
        "preflight_note": note,
        "plan": stack_plan_document(stack, workdir=workdir),
        # The network route and role of every data-plane call, as `drctl coverage` checks them.
        "paths": [path.to_json() for path in stack_paths(stack)],
    }


def update_interrupted(state: JournalState, plan: Plan) -> bool:
    """True when a deploy step had started and not ended when the last drctl process stopped
    (still `running`, or put back to pending by an interrupt): `pulumi up` may have died mid-way."""
    for step in plan.steps:
        record = state.steps.get(step.id)
        if step.kind == StepKind.DEPLOY and record is not None and record.attempts > 0 \
                and record.state in (StepState.RUNNING, StepState.PENDING):
            return True
    return False


def _drive(session: RunSession, stack: StackModel, *, workers: int, command: Path,
           data_steps: DataStepsFactory | None, retry: RetryPolicy | None) -> dict[str, Any]:
    run_dir, run = session.run_dir, session.run
    plan = plan_from_json(run_dir.read_json(run_dir.plan_json))
    graph = stack.graph  # captured (if it was not yet) before the journal opens
    journal = session.open_journal()
    other = data_steps(run_dir.path, stack.config, graph) if data_steps is not None else None
    try:
        # The azure-native provider reads ARM_*; a runner signed in with AZURE_* only gets them mapped.
        provider_env = provider_environment(os.environ)
        deployment = DeploymentSession(PulumiStack(stack.project_dir, stack.name, command=command,
                                                   env_vars=provider_env),
                                       ComponentIndex.from_graph(graph),
                                       interrupted=update_interrupted(journal.state, plan),
                                       pending_creates=azure_pending_creates(stack.project_dir, stack.name, graph))
        result = session.run_engine(plan, AzureTarget(deployment, other), journal, workers=workers, retry=retry,
                                    settle=lambda: _let_the_update_end(deployment),
                                    on_sigterm=deployment.cancel_update)
    finally:
        journal.close()
        close = getattr(other, "close", None)
        if callable(close):
            close()
    extra = {"declared_at": run["declared_at"], "deployment": deployment.summary(),
             **({"recovery_point": run["recovery_point"]} if run.get("recovery_point") else {})}
    return session.finish(plan, stack.profiles_by_key, result, disaster_at=run["disaster_at"], extra=extra)


def _let_the_update_end(session: DeploymentSession) -> None:
    """Wait for a `pulumi up` still running; after Ctrl-C the CLI got the signal too and is
    cancelling, after SIGTERM drctl cancelled it (`pulumi cancel`), and a second one stops waiting
    (resume imports or clears what it left pending)."""
    with contextlib.suppress(KeyboardInterrupt):
        session.wait_idle()


def _check_role(stack: StackModel) -> None:
    if stack.config.role != "secondary":
        raise BadInput(f"--stack: {stack.name} is a {stack.config.role} stack; a failover goes to a secondary stack")
