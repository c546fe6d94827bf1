"""`drctl fallback`: the way back to the primary region (orchestrator/fallback.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestrator.cli_state import break_lease_option
from orchestrator.redact import REDACTOR

PROJECT_DIR = Path(__file__).resolve().parents[1]


@click.command()
@click.option("--stack", default="primary", show_default=True, help="The primary stack to return to.")
@click.option("--dry-run", is_flag=True, help="Print the fallback plan and its settings; touch nothing.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="Steps run at once.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".drill"), show_default=True,
              help="Where run directories go.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=PROJECT_DIR,
              help="Folder holding Pulumi.yaml and the stack files (default: this repository).")
@break_lease_option
def fallback(stack: str, dry_run: bool, workers: int, workdir: Path, as_json: bool, project_dir: Path,
             break_lease: bool) -> None:
    """Fall back to the primary STACK once its region is healthy: smoke, drift, sync, parallel run, switch."""
    from orchestrator.fallback import fallback_command
    from orchestrator.lease import StackLease

    if dry_run:
        document = fallback_command(project_dir, stack, dry_run=True)
    else:
        with StackLease(workdir, stack, "fallback", break_lease=break_lease) as lease:
            document = fallback_command(project_dir, stack, dry_run=False, workdir=workdir, workers=workers,
                                        lease=lease)
    if not dry_run:
        from orchestrator.cli import _finish_run  # the run's summary and exit code, as for a failover

        _finish_run(document, as_json)
        return
    if as_json:
        click.echo(REDACTOR.text(json.dumps(document, indent=2)))
        return
    from orchestrator.render import print_plan

    settings = document["fallback"]
    click.echo(f"fallback to {stack}: parallel run {settings['parallel_run_minutes']} min, secondary "
               f"{settings['secondary_strategy']}, traffic switch {settings['traffic_switch']}")
    print_plan(document["plan"])
