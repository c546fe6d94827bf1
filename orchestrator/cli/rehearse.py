"""`drctl rehearse` and `drctl cleanup`: the commands, and their output for people.

Registered in orchestrator/cli/main.py with `cli.add_command(...)`; the work is in
orchestrator/verbs/rehearse.py (local), orchestrator/verbs/rehearse_stack.py (Azure) and orchestrator/verbs/cleanup.py.
Exit codes as everywhere: 0 done, 1 the run or a removal failed (or the teardown is incomplete),
2 bad input with one line and nothing touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from orchestrator.cli.common import emit_json, json_option, project_option, workdir_option, workers_option
from orchestrator.cli.faults import corrupt_backup_option
from orchestrator.cli.state import stack_break_lease_option
from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR


def _console() -> Console:
    # As orchestrator/cli/render.py: piped output has no terminal width, so allow a wide page.
    return Console(no_color="NO_COLOR" in os.environ, highlight=False, soft_wrap=True,
                   width=None if sys.stdout.isatty() else 200)


@click.command()
@click.option("--local", "local", is_flag=True, help="Rehearse on the local region pair of emulators.")
@click.option("--stack", default=None, help="Rehearse on Azure in an ephemeral copy of this (secondary) stack.")
@click.option("--scale", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Dataset size multiplier (--local), as for drill: 1 is 2,081 blobs, 24 MB, 63,000 rows, about "
                   "a minute on 2 cores (docs/reference/cli.md, Dataset size).")
@workdir_option("Where run directories (and local emulator data) go.")
@workers_option
@click.option("--ttl-hours", type=click.FloatRange(min=0, min_open=True, max=24 * 30), default=4.0,
              show_default=True, help="After this, `drctl cleanup` may remove what the rehearsal left.")
@corrupt_backup_option
@json_option
@stack_break_lease_option
@project_option
def rehearse(local: bool, stack: str | None, scale: int, workdir: Path, workers: int, ttl_hours: float,
             corrupt_latest_backup: str | None, as_json: bool, break_lease: bool, project_dir: Path) -> None:
    """Rehearse the failover: a marked, expiring run whose steps are timed against the plan, torn down
    whatever happens (success, failure, Ctrl-C)."""
    if local == (stack is not None):
        raise BadInput("rehearse needs exactly one of --local (the local region pair) or --stack NAME "
                       "(an ephemeral copy of NAME on Azure)")
    if break_lease and not local:
        raise BadInput("--break-lease: only with --local (an Azure rehearsal runs in a stack of its own)")
    if corrupt_latest_backup and not local:
        raise BadInput("--corrupt-latest-backup: only with --local (it damages the local backup store)")
    if local:
        from orchestrator.run.lease import StackLease
        from orchestrator.stack import load_stack
        from orchestrator.verbs.rehearse import rehearse_local

        model = load_stack(project_dir, "secondary")
        primary = load_stack(project_dir, model.config.paired_stack)
        # The local region pair in WORKDIR is the drill's too: one run on it at a time.
        with StackLease(workdir, "secondary", "rehearse", break_lease=break_lease) as lease:
            document = rehearse_local(model, primary, workdir, scale=scale, workers=workers,
                                      ttl_hours=ttl_hours, corrupt_latest_backup=corrupt_latest_backup, lease=lease)
    else:
        from orchestrator.verbs.rehearse_stack import rehearse_stack

        assert stack is not None  # exactly one of --local and --stack, checked above

        document = rehearse_stack(project_dir, stack, workdir=workdir, ttl_hours=ttl_hours, workers=workers)
    if as_json:
        emit_json(document)
    elif document.get("outcome") == "blocked":
        from orchestrator.cli.render import print_preflight

        print_preflight(document["preflight"])
        print_rehearsal(document["rehearsal"])
    else:
        from orchestrator.cli.render import print_summary

        print_summary(document)
        print_rehearsal(document["rehearsal"])
    if document.get("outcome") != "recovered" or not document["rehearsal"]["teardown"]["complete"]:
        sys.exit(1)


def print_rehearsal(record: dict) -> None:
    from orchestrator.rehearsal.record import fmt_ratio, fmt_seconds, rto_line

    console = _console()
    console.print(f"rehearsal {record['name']}: created {record['created_at']}, expires {record['expires_at']}")
    timings = record.get("timings") or {}
    if timings.get("steps"):
        table = Table(title="step timings against the plan")
        for column in ("step", "estimate", "measured", "ratio"):
            table.add_column(column, justify="left" if column == "step" else "right")
        for row in timings["steps"]:
            measured = fmt_seconds(row["measured_s"]) + ("" if row["exercised"] is not False else " (not exercised)")
            table.add_row(row["step"], fmt_seconds(row["estimate_s"]), measured, fmt_ratio(row["ratio"]))
        console.print(table)
    rto = timings.get("rto")
    if rto:
        console.print(rto_line(rto))
    teardown = record["teardown"]
    if "local_dir" in teardown:
        state = "removed" if teardown["data_removed"] else f"NOT removed: {teardown['error']}"
        console.print(f"teardown: emulator data {state}; {len(teardown['processes_stopped'])} leftover "
                      "process(es) stopped; the run directory keeps the evidence")
    else:
        done = [step for step in ("destroyed", "stack_removed", "stack_file_removed") if teardown.get(step)]
        console.print(f"teardown of stack {teardown['stack']}: {', '.join(done) or 'nothing done'}"
                      + ("" if teardown["complete"] else f"; INCOMPLETE: {teardown['error']}; next: {teardown['next']}"))


@click.command()
@click.option("--local", "local", is_flag=True, help="Local leftovers: marked emulator data under WORKDIR/local/.")
@workdir_option("Where local rehearsals ran.")
@click.option("--subscription", default=None, help="Azure: the subscription whose tagged resource groups are checked.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--undo-host-changes", is_flag=True,
              help="With --local: undo what drills run as root changed on the host (the PostgreSQL system user, "
                   "o+x on the folders above its data), where nothing still needs it.")
@json_option
def cleanup(local: bool, workdir: Path, subscription: str | None, dry_run: bool, undo_host_changes: bool,
            as_json: bool) -> None:
    """Remove what rehearsals left behind: expired (or orphaned) local emulator data, expired tagged
    resource groups on Azure; and stop a drill's region left running by --keep-running. Lists what local
    drills changed on the host, and undoes it with --undo-host-changes."""
    from orchestrator.verbs.cleanup import cleanup_azure, cleanup_local

    if not local and subscription is None:
        raise BadInput("cleanup needs --local (leftovers under --workdir) and/or --subscription ID (Azure)")
    if undo_host_changes and not local:
        raise BadInput("--undo-host-changes: only with --local (the changes local drills made)")
    document: dict = {}
    if subscription is not None:  # checked first: a bad id or missing login is bad input, nothing removed
        document["azure"] = cleanup_azure(subscription, dry_run=dry_run)
    if local:
        document["local"] = cleanup_local(workdir, dry_run=dry_run, undo_host_changes=undo_host_changes)
    if as_json:
        emit_json(document)
    else:
        print_cleanup(document)
    if _failed(document):
        sys.exit(1)


def _failed(document: dict) -> bool:
    azure = document.get("azure") or {}
    local = document.get("local") or {}
    host = local.get("host_changes") or {}
    return bool(azure.get("error") or any(g.get("error") for g in azure.get("resource_groups", []))
                or any(not e.get("teardown", {"data_removed": True})["data_removed"] for e in local.get("leftovers", []))
                or (host.get("undo") and not local.get("dry_run")
                    and any(not c.get("undone") and c.get("reason") and not c["reason"].startswith("gone")
                            for c in host.get("changes", []))))


def print_cleanup(document: dict) -> None:
    echo = lambda text: click.echo(REDACTOR.text(text))  # noqa: E731
    if "azure" in document:
        azure = document["azure"]
        verb = "would delete" if azure["dry_run"] else "deleted"
        if azure["error"]:
            echo(f"azure: {azure['error']}")
        for group in azure["resource_groups"]:
            if group.get("error"):
                state = f"NOT deleted: {group['error']}"
            else:
                state = (verb if group.get("deleted") or azure["dry_run"] else "kept") if group["remove"] else "kept"
            echo(f"azure: resource group {group['name']} (rehearsal {group['rehearsal']}): {state}; {group['reason']}")
        if not azure["resource_groups"] and not azure["error"]:
            echo(f"azure: no resource group tagged drctl-rehearsal in subscription {azure['subscription']}")
    if "local" in document:
        local = document["local"]
        verb = "would remove" if local["dry_run"] else "removed"
        for entry in local["leftovers"]:
            teardown = entry.get("teardown")
            if teardown is not None and not teardown["data_removed"]:
                state = f"NOT removed: {teardown['error']}"
            elif entry["remove"]:
                stopped = len(teardown["processes_stopped"]) if teardown else 0
                state = verb + (f" (stopped {stopped} process(es))" if stopped else "")
            else:
                state = "kept"
            echo(f"local: {entry['local_dir']} ({entry.get('name') or 'unnamed'}): {state}; {entry['reason']}")
        if not local["leftovers"]:
            echo(f"local: no rehearsal leftovers under {local['workdir']}/local")
        print_host_changes(local.get("host_changes") or {}, local["dry_run"], echo)


def print_host_changes(host: dict, dry_run: bool, echo) -> None:
    from orchestrator.targets.local.host_changes import describe

    for change in host.get("changes", []):
        if not host.get("undo"):
            state = "made by a drill run as root; undo with --undo-host-changes"
        elif change.get("undone") or (dry_run and change.get("reason") is None):
            state = "would undo" if dry_run else "undone"
        else:
            state = change.get("reason") or "left"
        echo(f"host: {describe(change)}: {state}")
