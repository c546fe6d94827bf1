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

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import JournalState
from orchestrator.engine.progress import progress_for
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.errors import BadInput
from orchestrator.model import Plan, StepKind, StepRunner, StepState
from orchestrator.plan.recovery import plan_from_json, plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.report.run_summary import finish_run
from orchestrator.run.lease import StackLease
from orchestrator.run.remote.store import RunStateStore
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.stack import build_stack_plan, capture, check_stack, stack_profiles
from orchestrator.targets.azure.deploy.session import ComponentIndex, DeploymentSession
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.preconditions import PRECONDITIONS, Preconditions
from orchestrator.targets.azure.target import AzureTarget

KIND = "failover"
PREFLIGHT_MODULE = "orchestrator.targets.azure.preflight.run"
DATA_STEPS_MODULE = "orchestrator.targets.azure.data_steps"
RUN_KEYS = ("run_id", "kind", "stack", "declared_at", "disaster_at", "targets")

# (run_dir, config, graph) -> the runner of every step that is not a deploy, or None.
DataStepsFactory = Callable[[Path, Any, Any], StepRunner | None]


# -- the optional parts other modules provide -----------------------------------------------------------


def _optional_module(name: str) -> Any | None:
    # find_spec, not `except ImportError`: a module that exists but fails to import must fail loudly.
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def planned_preflight(config: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The preflight checks a real run makes for `config`, and a note when they cannot be listed."""
    module = _optional_module(PREFLIGHT_MODULE)
    if module is None or not hasattr(module, "planned_checks"):
        return [], f"{PREFLIGHT_MODULE}.planned_checks is not available in this drctl: no preflight checks listed"
    return list(module.planned_checks(config)), None


def azure_data_steps(project_dir: Path, stack: str) -> DataStepsFactory | None:
    """The Azure data and smoke steps (runner_data.AzureDataSteps), or None when this drctl has
    none. The subscription they work in is resolved here, before anything runs: a missing one is
    bad input (preflight.subscription_id_for names where to set it)."""
    module = _optional_module(DATA_STEPS_MODULE)
    if module is None or not hasattr(module, "AzureDataSteps"):
        return None
    subscription = importlib.import_module(PREFLIGHT_MODULE).subscription_id_for(Path(project_dir), stack)

    def factory(run_dir: Path, config: Any, graph: Any) -> StepRunner:
        from orchestrator.targets.azure.clients import AzureSession

        azure = AzureSession.from_environment(subscription)
        return _ClosingRunner(module.AzureDataSteps(azure, config, graph, run_dir).run, azure.close)

    return factory


class _ClosingRunner:
    """A step runner with resources to release when the run ends (the Azure clients)."""

    def __init__(self, run: StepRunner, close: Callable[[], None]) -> None:
        self._run, self.close = run, close

    def __call__(self, step: Any, context: Any) -> Any:
        return self._run(step, context)


# -- the command ----------------------------------------------------------------------------------------


def failover_command(project_dir: Path, stack: str, *, workdir: Path, dry_run: bool = False, workers: int = 4,
                     preconditions: Preconditions | None = None, data_steps: DataStepsFactory | None = None,
                     retry: RetryPolicy | None = None,
                     preflight: Callable[[], dict[str, Any]] | None = None,
                     state_url: str | None = None, lease: StackLease | None = None) -> dict[str, Any]:
    """Fail over to `stack`: the run's JSON summary, or with dry_run the plan and checks it would run.
    `state_url`: the container the run's state is mirrored to (orchestrator/run/remote/store.py).

    Preflight comes first: a blocked preflight ends the command (outcome "blocked", its report
    attached) before anything is deployed or a run directory exists."""
    check_stack(project_dir, stack)
    if dry_run:
        return dry_run_document(project_dir, stack, workdir=workdir)
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    state = RunStateStore.connect(state_url) if state_url else None  # bad input before anything exists
    factory = data_steps if data_steps is not None else azure_data_steps(project_dir, stack)
    if lease is not None:
        lease.acquire()  # after bad input, before preflight: another run on the stack is refused here
    report = (preflight or _real_preflight(project_dir, stack, command))()
    if report.get("blocked"):
        return {"outcome": "blocked", "stack": stack, "preflight": report}
    plan, graph, config = build_stack_plan(project_dir, stack)
    _check_role(stack, config)
    declared_at = utc_now()  # the failover is declared now: the RTO clock starts here
    created = RunDir.create(workdir, stack, "failover")
    run_id, run_dir = created.run_id, created.path
    _announce(run_dir)
    if lease is not None:
        lease.bind(run_id, run_dir)
    run = {
        "run_id": run_id, "kind": KIND, "stack": stack, "paired_stack": config.paired_stack, "region": config.region,
        "declared_at": declared_at, "disaster_at": declared_at,
        "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s},
    }
    if state is not None:  # in run.json, so a plain `drctl resume` keeps the container current
        run["state_url"] = state.location.url
    write_json_atomic(created.run_json, run)
    write_json_atomic(created.plan_json, plan_to_json(plan))
    write_json_atomic(created.preflight_json, report)
    if state is not None:
        state.start_run(run_dir, run)
    try:
        return _drive(project_dir, run_dir, run, workers=workers, command=command, graph=graph, config=config,
                      data_steps=factory, retry=retry, state=state)
    finally:
        if state is not None:
            state.close()  # the last files sent, the lease released: any machine may resume it now


def resume_failover(project_dir: Path, run_dir: Path, *, workers: int = 4, preconditions: Preconditions | None = None,
                    data_steps: DataStepsFactory | None = None, retry: RetryPolicy | None = None,
                    state: RunStateStore | None = None, lease: StackLease | None = None) -> dict[str, Any]:
    """Continue a failover run; an update that was running when drctl stopped is refreshed first.
    `state`: the run's state container when it has one (the caller closes it)."""
    run = RunDir(run_dir).read_run()
    if run["kind"] != KIND:
        raise BadInput(f"RUN: {run_dir} is a {run['kind']} run, not a {KIND} run")
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BadInput(f"RUN: {RunDir(run_dir).run_json} lacks {', '.join(missing)}")
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    factory = data_steps if data_steps is not None else azure_data_steps(project_dir, run["stack"])
    run_dir = Path(run_dir).resolve()
    if lease is not None:
        lease.acquire(run["run_id"])
    _announce(run_dir)
    if lease is not None:
        lease.bind(run["run_id"], run_dir)
    return _drive(project_dir, run_dir, run, workers=workers, command=command, data_steps=factory, retry=retry,
                  state=state)


def _real_preflight(project_dir: Path, stack: str, command: Path) -> Callable[[], dict[str, Any]]:
    from orchestrator.targets.azure.deploy.stack import PulumiStack
    from orchestrator.targets.azure.preflight.run import preflight_command

    state = PulumiStack(project_dir, stack, command=command)
    return lambda: preflight_command(project_dir, stack, state_readable=state.state_readable)


def dry_run_document(project_dir: Path, stack: str, workdir: Path | None = None) -> dict[str, Any]:
    """What a failover would run: the plan as `drctl plan` shows it (estimates from the Azure runs'
    history in `workdir` where there is some) and the checks."""
    from orchestrator.stack import check_stack, plan_command
    from stacks.config import load_stack_config

    check_stack(project_dir, stack)
    config = load_stack_config(Path(project_dir), stack)
    _check_role(stack, config)
    document = plan_command(project_dir, stack, workdir=workdir)
    checks, note = planned_preflight(config)
    return {
        "stack": stack,
        "region": config.region,
        "dry_run": True,
        "note": "dry run: nothing was deployed or read from Azure; the Pulumi CLI and Azure credentials were "
                "neither needed nor used",
        "preconditions": [dict(check) for check in PRECONDITIONS],
        "preflight_checks": checks,
        "preflight_note": note,
        "plan": document,
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


def _drive(project_dir: Path, run_dir: Path, run: dict[str, Any], *, workers: int, command: Path,
           graph: Any = None, config: Any = None, data_steps: DataStepsFactory | None,
           retry: RetryPolicy | None, state: RunStateStore | None = None) -> dict[str, Any]:
    from stacks.config import load_stack_config

    plan = plan_from_json(RunDir(run_dir).read_json(RunDir(run_dir).plan_json))
    graph = graph if graph is not None else capture(project_dir, run["stack"])
    config = config if config is not None else load_stack_config(Path(project_dir), run["stack"])
    profiles = {profile.key: profile for profile in stack_profiles(graph, config)}
    journal = Journal.open(run_dir, redact=REDACTOR, mirror=state.journal_mirror if state else None)
    other = data_steps(run_dir, config, graph) if data_steps is not None else None
    try:
        session = DeploymentSession(PulumiStack(project_dir, run["stack"], command=command),
                                    ComponentIndex.from_graph(graph), interrupted=update_interrupted(journal.state, plan))
        engine = Engine(plan, AzureTarget(session, other), journal, max_workers=workers, retry=retry,
                        on_event=progress_for(plan, journal))
        with _sigterm_as_interrupt():
            try:
                result = engine.run()
            finally:
                _let_the_update_end(session)
    finally:
        journal.close()
        close = getattr(other, "close", None)
        if callable(close):
            close()
    return finish_run(
        run_dir=run_dir, run=run, kind=KIND, plan=plan, profiles=profiles, outcome=str(result.outcome),
        disaster_at=run["disaster_at"], extra={"declared_at": run["declared_at"], "deployment": session.summary()},
    )


def _let_the_update_end(session: DeploymentSession) -> None:
    """Wait for a `pulumi up` still running; after Ctrl-C the CLI got the signal too and is
    cancelling, and a second Ctrl-C stops waiting (resume refreshes what it left pending)."""
    try:
        session.wait_idle()
    except KeyboardInterrupt:
        pass


def _check_role(stack: str, config: Any) -> None:
    if config.role != "secondary":
        raise BadInput(f"--stack: {stack} is a {config.role} stack; a failover goes to a secondary stack")


def _announce(run_dir: Path) -> None:
    """The first line on stderr is exactly `run: <run_dir>`, as for a drill, for scripts to read."""
    print(f"run: {run_dir}", file=sys.stderr, flush=True)


_sigterm_as_interrupt = sigterm_as_interrupt  # orchestrator/verbs/fallback.py imports it from here
