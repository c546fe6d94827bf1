"""The verbs that run or inspect a recovery: failover, drill, resume, approve, status.

Registered in orchestrator/cli/main.py; each parses its options, reads the stacks it needs once
(orchestrator/stack.py load_stack), takes the stack's lease where a run starts, and hands over to one
module (orchestrator/verbs/failover.py, drill.py, orchestrator/run/approvals.py, orchestrator/stack.py).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from orchestrator.cli.common import emit_json, finish_run, json_option, project_option, workdir_option, workers_option
from orchestrator.cli.faults import corrupt_backup_option, fault_options
from orchestrator.cli.recovery_point import recovery_point_option
from orchestrator.cli.state import break_lease_option, state_url_option
from orchestrator.engine.progress import progress_line
from orchestrator.errors import BadInput


@click.command()
@click.option("--stack", default="secondary", show_default=True, help="The stack failed over to.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the preflight checks; touch nothing.")
@recovery_point_option
@workers_option
@workdir_option("Where run directories go.")
@json_option
@state_url_option
@break_lease_option
@project_option
def failover(stack: str, dry_run: bool, recovery_point: datetime | None, workers: int, workdir: Path, as_json: bool,
             state_url: str | None, break_lease: bool, project_dir: Path) -> None:
    """Fail over to STACK on Azure: preflight, pulumi up, rehydrate, validate, smoke, hand over."""
    if dry_run and state_url is not None:
        raise BadInput("--state-url: a dry run starts no run, so it has no state to mirror (drop --state-url "
                       "or --dry-run)")
    from orchestrator.run.lease import StackLease
    from orchestrator.stack import load_stack
    from orchestrator.verbs.failover import failover_command

    model = load_stack(project_dir, stack)
    with StackLease(workdir, stack, "failover", break_lease=break_lease) as lease:  # a dry run never takes it
        document = failover_command(model, workdir=workdir, dry_run=dry_run, workers=workers,
                                    state_url=None if dry_run else state_url, lease=lease,
                                    recovery_point=recovery_point)
    if dry_run:
        if as_json:
            emit_json(document)
        else:
            from orchestrator.cli.render import print_dry_run

            print_dry_run(document)
        return
    if document.get("outcome") == "blocked":
        if as_json:
            emit_json(document)
        else:
            from orchestrator.cli.render import print_preflight

            print_preflight(document["preflight"])
        sys.exit(1)
    finish_run(document, as_json)


@click.command()
@click.option("--local", "local", is_flag=True, help="Run against the local region pair of emulators.")
@click.option("--scale", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Dataset size multiplier: events and devices times N. 1: 2,081 blobs, 24 MB, 63,000 rows, about "
                   "a minute on 2 cores; 2: 4,106 blobs, 49 MB, about 2 minutes; 5: 10,181 blobs, 123 MB, about 4 "
                   "minutes (docs/reference/cli.md, Dataset size).")
@workdir_option("Where run directories and emulator data go.")
@workers_option
@click.option("--stack", default="secondary", show_default=True, help="The stack failed over to.")
@click.option("--keep-data", is_flag=True, help="Keep the emulators' data after a recovered run (kept anyway otherwise).")
@click.option("--keep-running", is_flag=True,
              help="Leave the recovered region running and write its outputs.json, for `pytest smoke_tests "
                   "--outputs`; `drctl cleanup --local` stops it.")
@click.option("--require-approval", is_flag=True,
              help="Gates wait for `drctl approve` instead of being auto-approved (then `drctl resume`).")
@click.option("--with-fallback", is_flag=True, help="After the handover, fall back to the primary (the round trip).")
@click.option("--parallel-run-s", type=click.FloatRange(0, 3600), default=None,
              help="Length of the fallback's parallel run, in seconds (default 2 locally).")
@corrupt_backup_option
@recovery_point_option
@fault_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary on stdout.")
@state_url_option
@break_lease_option
@project_option
def drill(
    local: bool, scale: int, workdir: Path, workers: int, stack: str, keep_data: bool, keep_running: bool,
    require_approval: bool, with_fallback: bool, parallel_run_s: float | None, corrupt_latest_backup: str | None,
    recovery_point: datetime | None, fault_rate: str | None,
    fault_seed: int | None, fault_kinds: str | None, as_json: bool, state_url: str | None, break_lease: bool,
    project_dir: Path
) -> None:
    """Rehearse a failover end to end: dataset, backup, disaster, recovery, validation, report."""
    if not local:
        raise BadInput("drill needs --local: it runs against the local region pair (on Azure, `drctl failover` runs the same plan)")
    from orchestrator.data.faults import from_cli
    from orchestrator.verbs.drill import run_local_drill

    inject_faults = from_cli(fault_rate, fault_seed, fault_kinds)  # before anything starts: bad values exit 2
    if parallel_run_s is not None and not with_fallback:
        raise BadInput("--parallel-run-s: only with --with-fallback")
    from orchestrator.run.lease import StackLease
    from orchestrator.stack import load_stack

    model = load_stack(project_dir, stack)
    if model.config.role == "primary":  # a drill fails over to the primary's pair
        progress_line(f"stack {stack} is a primary: drilling its pair, {model.config.paired_stack}")
        model, stack = load_stack(project_dir, model.config.paired_stack), model.config.paired_stack
    primary = load_stack(project_dir, model.config.paired_stack)  # its region pair's other half
    with StackLease(workdir, stack, "drill", break_lease=break_lease) as lease:
        summary = run_local_drill(model, primary, workdir, scale=scale, workers=workers, keep_data=keep_data,
                                  keep_running=keep_running,
                                  with_fallback=with_fallback, parallel_run_s=parallel_run_s,
                                  require_approval=require_approval, corrupt_latest_backup=corrupt_latest_backup,
                                  recovery_point=recovery_point, state_url=state_url, inject_faults=inject_faults, lease=lease)
    finish_run(summary, as_json)


@click.command()
@click.argument("run")
@workers_option
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary on stdout.")
@workdir_option("Where run directories are looked up when RUN is a run id.")
@state_url_option
@break_lease_option
@project_option
def resume(run: str, workers: int, as_json: bool, workdir: Path, state_url: str | None, break_lease: bool,
           project_dir: Path) -> None:
    """Continue an interrupted run (RUN: its directory or run id); completed steps are not run again.
    With --state-url (or for a run started with it) from any machine: RUN is fetched from the container."""
    from orchestrator.verbs.resume import resume_run

    summary = resume_run(project_dir, run, workdir=workdir, workers=workers, state_url=state_url,
                         break_lease=break_lease)
    finish_run(summary, as_json)


@click.command()
@click.argument("run")
@click.argument("step")
@click.option("--by", "by", default=None,
              help="Who approves: a name (or e-mail) the contacts file lists for the gate's role. On Azure your "
                   "own Entra sign-in names you, and --by, if given, must be the same person.")
@click.option("--note", default=None, help="Why, or what was checked.")
@click.option("--contacts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The contacts file naming who may approve (default: dr/contacts.yaml in the project).")
@json_option
@workdir_option("Where run directories are looked up when RUN is a run id.")
@project_option
def approve(run: str, step: str, by: str | None, note: str | None, contacts: Path | None, as_json: bool,
            workdir: Path, project_dir: Path) -> None:
    """Approve the gate STEP that run RUN waits at; then `drctl resume RUN` goes on. Only someone the
    contacts file lists for the gate's role may: a technical approver for platform.gate, a business
    approver for platform.business-gate."""
    from orchestrator.run.approvers import read_contacts_file
    from orchestrator.run.rundir import RunDir
    from orchestrator.runbook.contacts import DEFAULT_CONTACTS
    from orchestrator.verbs.approve import approve as record_approval

    run_dir = RunDir.find(run, workdir).path
    path = contacts if contacts is not None else Path(project_dir) / DEFAULT_CONTACTS
    approvers = read_contacts_file(path, str(contacts) if contacts is not None else str(DEFAULT_CONTACTS))
    document = record_approval(run_dir, step, by=by, note=note, contacts=approvers)
    if as_json:
        emit_json(document)
    else:
        identity = document["identity"]
        how = identity["established_by"]
        if "entra" in identity:
            how += f": {identity['entra']['upn'] or identity['entra']['object_id']}"
        click.echo(f"{document['step']} approved by {document['approved_by']} ({document['role']} approver, {how}); "
                   f"continue with: {document['next']}")


@click.command()
@click.argument("run")
@json_option
@workdir_option("Where run directories are looked up when RUN is a run id.")
def status(run: str, as_json: bool, workdir: Path) -> None:
    """Where a run stands (RUN: its directory or run id), read from its journal."""
    from orchestrator.run.rundir import RunDir
    from orchestrator.verbs.status import status_command

    document = status_command(RunDir.find(run, workdir).path)
    if as_json:
        emit_json(document)
    else:
        from orchestrator.cli.render import print_status

        print_status(document)
