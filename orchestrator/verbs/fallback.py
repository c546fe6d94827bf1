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

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.data.backup import replicate_lake
from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.data.replay import catch_up
from orchestrator.engine.progress import ProgressReporter, progress_line
from orchestrator.engine.retry import RetryPolicy
from orchestrator.errors import BadInput
from orchestrator.model import Plan, StepKind, StepRunner
from orchestrator.plan.fallback import build_fallback_plan
from orchestrator.plan.recovery import plan_to_json
from orchestrator.redact import REDACTOR
from orchestrator.report.run_summary import records_from_journal
from orchestrator.run.lease import StackLease
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.run.session import RunSession
from orchestrator.stack import StackModel
from orchestrator.targets.local.fallback import LocalFallbackTarget
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair

if TYPE_CHECKING:  # the Azure side is imported by an Azure fallback only, not by a local drill's
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.preconditions import Preconditions

KIND = "fallback-local"
KIND_AZURE = "fallback-azure"
SECONDARY_TIME_BATCHES = 3  # ingested while the secondary is live: what the primary must get back
DEFAULT_LOCAL_PARALLEL_RUN_S = 2.0  # locally the window is seconds; the stack config's minutes are Azure's


def fallback_plan(primary: StackModel, *, parallel_run_s: float | None = None) -> Plan:
    """The fallback plan of a primary stack, from its program's graph and its `fallback` config."""
    config = primary.config
    if config.role != "primary":
        raise BadInput(f"--stack: {primary.name} is a {config.role} stack; a fallback returns to a primary stack")
    window = config.fallback.parallel_run_minutes * 60 if parallel_run_s is None else parallel_run_s
    return build_fallback_plan(primary.name, list(primary.profiles), rto_target_s=config.recovery.rto_minutes * 60,
                               rpo_target_s=config.recovery.rpo_minutes * 60, parallel_run_s=window,
                               secondary_strategy=config.fallback.secondary_strategy)


def _settings(primary: StackModel) -> dict[str, Any]:
    fallback = primary.config.fallback
    return {"parallel_run_minutes": fallback.parallel_run_minutes, "secondary_strategy": fallback.secondary_strategy,
            "traffic_switch": fallback.traffic_switch}


def dry_run_document(primary: StackModel) -> dict[str, Any]:
    plan = fallback_plan(primary)
    return {"dry_run": True, "stack": primary.name, "plan": plan_to_json(plan), "fallback": _settings(primary)}


def run_azure_fallback(primary: StackModel, secondary: StackModel, *, workdir: Path, workers: int = 4,
                       preconditions: Preconditions | None = None,
                       steps_factory: Callable[..., StepRunner] | None = None, retry: RetryPolicy | None = None,
                       approval_poll_s: float = 10.0, lease: StackLease | None = None) -> dict[str, Any]:
    """The fallback plan on Azure, a run of its own on the primary stack (`secondary`: the stack it
    comes back from). Bad input first (one line, exit 2): the stack, then what `drctl failover`
    needs (the Pulumi CLI, credentials, a subscription). There is no `drctl resume` for it yet, so
    its gates wait in-process for their approval files (polled every `approval_poll_s`) instead of
    ending the run `waiting`."""
    from orchestrator.targets.azure.preconditions import Preconditions
    from orchestrator.targets.azure.preflight.run import subscription_id_for

    plan = fallback_plan(primary)
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    subscription = subscription_id_for(primary.project_dir, primary.name)
    started_at = utc_now()
    session = RunSession.start(workdir, primary.name, KIND_AZURE, lease=lease)
    run = {"run_id": session.run_dir.run_id, "kind": KIND_AZURE, "target": "azure", "stack": primary.name,
           "secondary_stack": secondary.name, "started_at": started_at, "disaster_at": started_at,
           "fallback": _settings(primary), "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s}}
    session.record(run, plan)
    azure = None
    if steps_factory is None:
        azure, steps = _azure_steps(primary, secondary, session.run_dir, command, subscription, approval_poll_s)
    else:
        steps = steps_factory(run_dir=session.run_dir.path, config=primary.config, secondary_config=secondary.config,
                              graph=primary.graph, command=command, subscription=subscription)
    journal = session.open_journal()
    try:
        result = session.run_engine(plan, steps, journal, workers=workers, retry=retry, on_event=ProgressReporter())
    finally:
        journal.close()
        if azure is not None:
            azure.close()
    return session.finish(plan, primary.profiles_by_key, result, disaster_at=started_at,
                          extra={"secondary_stack": secondary.name, "fallback": run["fallback"]})


def _azure_steps(primary: StackModel, secondary: StackModel, run_dir: RunDir, command: Path, subscription: str,
                 approval_poll_s: float) -> tuple[AzureSession, StepRunner]:
    """The Azure session the steps sign in with (closed when the run ends), and the steps."""
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.deploy.stack import PulumiStack
    from orchestrator.targets.azure.fallback.steps import AzureFallbackSteps
    from orchestrator.targets.azure.preflight.provider_auth import provider_environment

    azure = AzureSession.from_environment(subscription)
    env = provider_environment(os.environ)  # the provider reads ARM_*, as in failover
    steps = AzureFallbackSteps(azure, primary.config, secondary.config, primary.graph, run_dir.path,
                               stack=PulumiStack(primary.project_dir, primary.name, command=command, env_vars=env),
                               secondary_stack=PulumiStack(primary.project_dir, secondary.name, command=command,
                                                           env_vars=env),
                               approval_poll_s=approval_poll_s, say=progress_line)
    return azure, steps


def run_local_fallback(primary: StackModel, workdir: Path, failover_run: dict[str, Any], pair: LocalRegionPair,
                       data: DrillData, *, workers: int, parallel_run_s: float,
                       say: Callable[[str], None]) -> dict[str, Any]:
    """After a recovered local drill: the secondary's time, the primary's return, the fallback run."""
    plan = fallback_plan(primary, parallel_run_s=parallel_run_s)
    session = RunSession.start(workdir, primary.name, "fallback",
                               announce=lambda run_dir: say(f"fallback run: {run_dir}"))
    window = _secondary_time(pair, data, say)
    started_at = utc_now()
    strategy = primary.config.fallback.secondary_strategy
    run = {"run_id": session.run_dir.run_id, "kind": KIND, "stack": primary.name,
           "failover_run": failover_run["run_id"], "secondary_stack": failover_run["stack"], "started_at": started_at,
           "secondary_time_batches": list(window), "parallel_run_s": parallel_run_s,
           "secondary_strategy": strategy, "targets": {"rto_s": plan.rto_target_s, "rpo_s": plan.rpo_target_s}}
    session.record(run, plan)
    target = LocalFallbackTarget(pair, data, primary.profiles_by_key, secondary_window=window,
                                 parallel_run_s=parallel_run_s, strategy=strategy, say=say)
    journal = session.open_journal()
    try:
        result = session.run_engine(plan, target, journal, workers=workers, on_event=ProgressReporter())
    finally:
        journal.close()
    evidence = _secondary_time_evidence(plan, session.run_dir.path)
    summary = session.finish(plan, primary.profiles_by_key, result, disaster_at=started_at,
                             extra={"secondary_time": {"batches": list(window), "stores": evidence}},
                             appendix=_secondary_time_markdown(window, evidence))
    summary["secondary_time"] = {"batches": list(window), "stores": evidence}
    return summary


def _secondary_time(pair: LocalRegionPair, data: DrillData, say: Callable[[str], None]) -> tuple[int, int]:
    """The secondary serves (and is written to) for a while; then the primary region comes back,
    on the data it held at the disaster. The batches written meanwhile: what the fallback must bring."""
    source = data.source()
    first = (source.latest() or 0) + 1
    say(f"the secondary is live: ingesting {SECONDARY_TIME_BATCHES} batches into it")
    source.produce(SECONDARY_TIME_BATCHES)
    catch_up([LakeSink(pair.secondary_lake()), PostgresSink(pair.secondary_postgres.dsn(data.database))], source)
    last = source.latest()
    assert last is not None, "the source has batches: it just produced some"
    window = (first, last)

    say("the primary region is back: restarting its services on the data they held at the disaster")
    pair.restart_primary()
    for account in pair.primary_azurite.accounts:
        REDACTOR.add_secret(pair.primary_azurite.account_key(account))
    # Azure's job, not drctl's: geo-replication brings the secondary account's copy in the primary
    # region up to date once that region is back.
    replicate_lake(pair.secondary_lake(), pair.secondary_geo_copy_lake())
    return window


def _secondary_time_evidence(plan: Plan, run_dir: Path) -> dict[str, Any]:
    """Per store, what its validate step recorded about the secondary's records in the primary."""
    return {record.component: evidence["secondary_time"] for record in records_from_journal(plan, run_dir)
            if record.kind == StepKind.VALIDATE and record.state == "succeeded"
            and "secondary_time" in (evidence := record.evidence or {})}


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
