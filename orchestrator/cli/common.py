"""What every drctl verb shares: the project folder, the common options, JSON out, a run's exit code.

Verb modules (orchestrator/cli_*.py) import this, never orchestrator.cli: `python -m orchestrator.cli`
would import that module a second time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestrator.redact import REDACTOR

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_WORKDIR = Path(".drill")

project_option = click.option(
    "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=PROJECT_DIR, show_default=False,
    help="Folder holding Pulumi.yaml and the stack files (default: this repository).")
json_option = click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
workers_option = click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
                              help="Steps run at once.")


def workdir_option(help: str):
    return click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_WORKDIR,
                        show_default=True, help=help)


def emit_json(document: dict) -> None:
    click.echo(REDACTOR.text(json.dumps(document, indent=2)))


def finish_run(summary: dict, as_json: bool) -> None:
    """Print a run's summary; exit 1 unless it (and its fallback, if any) recovered."""
    if as_json:
        emit_json(summary)
    else:
        from orchestrator.cli.render import print_summary

        print_summary(summary)
    if summary.get("outcome") != "recovered" or (summary.get("fallback") or {}).get("outcome", "recovered") != "recovered":
        sys.exit(1)
