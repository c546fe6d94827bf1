"""Fallback: back to the primary region once it is healthy again (seed 003, "Fallback").

`drctl drill --local --with-fallback` runs the round trip: after the failover's handover the
secondary is live and keeps ingesting; then the primary region comes back with the data it held
at the disaster, and the fallback plan (orchestrator/plan/fallback.py) brings it up to date from
the secondary, proves it holds every record written during the secondary's time (count and
checksum), runs both in parallel, switches traffic and strips back or decommissions the secondary.
The fallback is a run of its own, on the primary stack, with its journal, evidence and report.

`drctl fallback --stack primary --dry-run` prints the plan a fallback would run; without
`--dry-run` it runs it on Azure (run_azure_fallback; the steps are
orchestrator/targets/azure/fallback/steps.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from orchestrator.atomic import write_json_atomic
from orchestrator.data.backup import replicate_lake
from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.data.replay import catch_up
from orchestrator.engine.journal import Journal
from orchestrator.engine.progress import ProgressReporter, progress_line
from orchestrator.engine.scheduler import Engine
from orchestrator.errors import BadInput
from orchestrator.model import Plan, StepKind
from orchestrator.plan.fallback import build_fallback_plan
from orchestrator.plan.recovery import plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.report.run_summary import finish_run, records_from_journal
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.stack import capture, check_stack, stack_profiles
from orchestrator.targets.local.fallback import LocalFallbackTarget
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair

KIND = "fallback-local"
KIND_AZURE = "fallback-azure"
SECONDARY_TIME_BATCHES = 3  # ingested while the secondary is live: what the primary must get back
DEFAULT_LOCAL_PARALLEL_RUN_S = 2.0  # locally the window is seconds; the stack config's minutes are Azure's


def fallback_plan_for(project_dir: Path, stack: str, *, parallel_run_s: float | None = None) -> tuple[Plan, Any, Any]:
    """The fallback plan of a primary stack, from its program's graph and its `fallback` config."""
    from stacks.config import load_stack_config

    check_stack(project_dir, stack)
    config = load_stack_config(Path(project_dir), stack)
    if config.role != "primary":
        raise BadInput(f"--stack: {stack} is a {config.role} stack; a fallback returns to a primary stack")
    graph = capture(project_dir, stack)
    window = config.fallback.parallel_run_minutes * 60 if parallel_run_s is None else parallel_run_s
    plan = build_fallback_plan(stack, stack_profiles(graph, config), rto_target_s=config.recovery.rto_minutes * 60,
                               rpo_target_s=config.recovery.rpo_minutes * 60, parallel_run_s=window,
                               secondary_strategy=config.fallback.secondary_strategy)
    return plan, graph, config


def dry_run_document(project_dir: Path, stack: str) -> dict[str, Any]:
    plan, _, config = fallback_plan_for(project_dir, stack)
    return {"dry_run": True, "stack": stack, "plan": plan_to_json(plan),
            "fallback": {"parallel_run_minutes": config.fallback.parallel_run_minutes,
                         "secondary_strategy": config.fallback.secondary_strategy,
                         "traffic_switch": config.fallback.traffic_switch}}


def fallback_command(project_dir: Path, stack: str, *, dry_run: bool, workdir: Path = Path(".drill"),
                     workers: int = 4, **azure: Any) -> dict[str, Any]:
    if dry_run:
        return dry_run_document(project_dir, stack)
    return run_azure_fallback(project_dir, stack, workdir=workdir, workers=workers, **azure)


def run_azure_fallback(project_dir: Path, stack: str, *, workdir: Path, workers: int = 4,
                       preconditions: Any = None, steps_factory: Callable[..., Any] | None = None,
                       retry: Any = None, approval_poll_s: float = 10.0, lease: Any = None) -> dict[str, Any]:
    """The fallback plan on Azure, a run of its own on the primary stack. Bad input first (one
    line, exit 2): the stack, then what `drctl failover` needs (the Pulumi CLI, credentials, a
    subscription). There is no `drctl resume` for it yet, so its gates wait in-process for their
    approval files (polled every `approval_poll_s`) instead of ending the run `waiting`."""
    from orchestrator.targets.azure.deploy.stack import PulumiStack
    from orchestrator.targets.azure.preconditions import Preconditions
    from orchestrator.targets.azure.preflight.run import subscription_id_for
    from orchestrator.verbs.failover import _announce, _sigterm_as_interrupt
    from stacks.config import load_stack_config

    plan, graph, config = fallback_plan_for(project_dir, stack)
    secondary = config.paired_stack
    check_stack(project_dir, secondary)
    secondary_config = load_stack_config(Path(project_dir), secondary)
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    subscription = subscription_id_for(Path(project_dir), stack)
    if lease is not None:  # the stack's StackLease (orchestrator/run/lease.py): refused here while another run holds it
        lease.acquire()
    profiles = {p.key: p for p in stack_profiles(graph, config)}
    started_at = utc_now()
    created = RunDir.create(workdir, stack, KIND_AZURE)
    run_id, run_dir = created.run_id, created.path
    _announce(run_dir)
    if lease is not None:
        lease.bind(run_id, run_dir)
    run = {"run_id": run_id, "kind": KIND_AZURE, "target": "azure", "stack": stack, "secondary_stack": secondary,
           "started_at": started_at, "disaster_at": started_at,
           "fallback": {"parallel_run_minutes": config.fallback.parallel_run_minutes,
                        "secondary_strategy": config.fallback.secondary_strategy,
                        "traffic_switch": config.fallback.traffic_switch},
           "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s}}
    write_json_atomic(created.run_json, run)
    write_json_atomic(created.plan_json, plan_to_json(plan))
    session = None
    if steps_factory is None:
        from orchestrator.targets.azure.clients import AzureSession
        from orchestrator.targets.azure.fallback.steps import AzureFallbackSteps

        session = AzureSession.from_environment(subscription)
        steps = AzureFallbackSteps(session, config, secondary_config, graph, run_dir,
                                   stack=PulumiStack(project_dir, stack, command=command),
                                   secondary_stack=PulumiStack(project_dir, secondary, command=command),
                                   approval_poll_s=approval_poll_s, say=progress_line)
    else:
        steps = steps_factory(run_dir=run_dir, config=config, secondary_config=secondary_config, graph=graph,
                              command=command, subscription=subscription)
    journal = Journal.open(run_dir, redact=REDACTOR)
    try:
        with _sigterm_as_interrupt():
            result = Engine(plan, steps, journal, max_workers=workers, retry=retry, on_event=ProgressReporter()).run()
    finally:
        journal.close()
        if session is not None:
            session.close()
    return finish_run(run_dir=run_dir, run=run, kind=KIND_AZURE, plan=plan, profiles=profiles,
                      outcome=str(result.outcome), disaster_at=started_at,
                      extra={"secondary_stack": secondary, "fallback": run["fallback"]})


def run_local_fallback(project_dir: Path, workdir: Path, failover_run: dict[str, Any], pair: LocalRegionPair,
                       data: DrillData, *, workers: int, parallel_run_s: float,
                       say: Callable[[str], None]) -> dict[str, Any]:
    """After a recovered local drill: the secondary's time, the primary's return, the fallback run."""
    stack = failover_run["paired_stack"]
    plan, graph, config = fallback_plan_for(project_dir, stack, parallel_run_s=parallel_run_s)
    profiles = {p.key: p for p in stack_profiles(graph, config)}
    created = RunDir.create(workdir, stack, "fallback")
    run_id, run_dir = created.run_id, created.path
    say(f"fallback run: {run_dir}")

    source = data.source()
    first = (source.latest() or 0) + 1
    say(f"the secondary is live: ingesting {SECONDARY_TIME_BATCHES} batches into it")
    source.produce(SECONDARY_TIME_BATCHES)
    catch_up([LakeSink(pair.secondary_lake()), PostgresSink(pair.secondary_postgres.dsn(data.database))], source)
    window = (first, source.latest())

    say("the primary region is back: restarting its services on the data they held at the disaster")
    pair.restart_primary()
    for account in pair.primary_azurite.accounts:
        REDACTOR.add_secret(pair.primary_azurite.account_key(account))
    # Azure's job, not drctl's: geo-replication brings the secondary account's copy in the primary
    # region up to date once that region is back.
    replicate_lake(pair.secondary_lake(), pair.secondary_geo_copy_lake())

    started_at = utc_now()
    run = {"run_id": run_id, "kind": KIND, "stack": stack, "failover_run": failover_run["run_id"],
           "secondary_stack": failover_run["stack"], "started_at": started_at,
           "secondary_time_batches": list(window), "parallel_run_s": parallel_run_s,
           "secondary_strategy": config.fallback.secondary_strategy,
           "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s}}
    write_json_atomic(created.run_json, run)
    write_json_atomic(created.plan_json, plan_to_json(plan))
    target = LocalFallbackTarget(pair, data, profiles, secondary_window=window, parallel_run_s=parallel_run_s,
                                 strategy=config.fallback.secondary_strategy, say=say)
    journal = Journal.open(run_dir, redact=REDACTOR)
    try:
        result = Engine(plan, target, journal, max_workers=workers, on_event=ProgressReporter()).run()
    finally:
        journal.close()
    evidence = _secondary_time_evidence(plan, run_dir)
    summary = finish_run(run_dir=run_dir, run=run, kind=KIND, plan=plan, profiles=profiles,
                         outcome=str(result.outcome), disaster_at=started_at,
                         extra={"secondary_time": {"batches": list(window), "stores": evidence}},
                         appendix=_secondary_time_markdown(window, evidence))
    summary["secondary_time"] = {"batches": list(window), "stores": evidence}
    return summary


def _secondary_time_evidence(plan: Plan, run_dir: Path) -> dict[str, Any]:
    """Per store, what its validate step recorded about the secondary's records in the primary."""
    return {record.component: record.evidence["secondary_time"] for record in records_from_journal(plan, run_dir)
            if record.kind == StepKind.VALIDATE and record.state == "succeeded"
            and "secondary_time" in (record.evidence or {})}


def _secondary_time_markdown(window: tuple[int, int], stores: dict[str, Any]) -> str:
    lines = ["", "## Records written during the secondary's time", "",
             f"Batches {window[0]}..{window[1]} were ingested while the secondary served. In the primary afterwards:", ""]
    pg = stores.get("postgres")
    if pg:
        inside = pg.get("in_primary", {})
        lines.append(f"- PostgreSQL events {pg['from']} .. {pg['to']}: {pg['events']} in the secondary, "
                     f"{inside.get('events')} in the primary; checksum {pg['checksum']} "
                     + ("matches" if inside == {k: pg[k] for k in ("from", "to", "events", "checksum")} else "DIFFERS"))
    lake = stores.get("lake")
    if lake:
        blobs = lake.get("blobs", [])
        present = sum(1 for b in blobs if b["in_primary"])
        lines.append(f"- Lake raw batches: {present} of {len(blobs)} blobs in the primary with the secondary's "
                     "size and Content-MD5")
    if not pg and not lake:
        lines.append("- no store was validated (see the steps above)")
    return "\n".join(lines) + "\n"
