"""`drctl fallback`: the way back to the primary region (orchestrator/verbs/fallback.py)."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import emit_json, finish_run, json_option, project_option, workdir_option, workers_option
from orchestrator.cli.state import stack_break_lease_option


@click.command()
@click.option("--stack", default="primary", show_default=True, help="The primary stack to return to.")
@click.option("--dry-run", is_flag=True, help="Print the fallback plan and its settings; touch nothing.")
@workers_option
@workdir_option("Where run directories go.")
@json_option
@project_option
@stack_break_lease_option
def fallback(stack: str, dry_run: bool, workers: int, workdir: Path, as_json: bool, project_dir: Path,
             break_lease: bool) -> None:
    """Fall back to the primary STACK once its region is healthy: smoke, drift, sync, parallel run, switch."""
    from orchestrator.run.lease import StackLease
    from orchestrator.stack import load_stack
    from orchestrator.verbs.fallback import dry_run_document, run_azure_fallback

    model = load_stack(project_dir, stack)
    if dry_run:
        document = dry_run_document(model)
    else:
        secondary = load_stack(project_dir, model.config.paired_stack)  # the stack it comes back from
        with StackLease(workdir, stack, "fallback", break_lease=break_lease) as lease:
            document = run_azure_fallback(model, secondary, workdir=workdir, workers=workers, lease=lease)
    if not dry_run:
        finish_run(document, as_json)
        return
    if as_json:
        emit_json(document)
        return
    from orchestrator.cli.render import print_plan

    settings = document["fallback"]
    click.echo(f"fallback to {stack}: parallel run {settings['parallel_run_minutes']} min, secondary "
               f"{settings['secondary_strategy']}, traffic switch {settings['traffic_switch']}")
    print_plan(document["plan"])
