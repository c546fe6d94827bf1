"""`drctl verify-evidence`: is a run directory still what the run sealed (orchestrator/report/bundle.py)?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.common import emit_json, json_option, workdir_option


@click.command("verify-evidence")
@click.argument("run")
@workdir_option("Where run directories are, when RUN is a run id.")
@json_option
def verify_evidence(run: str, workdir: Path, as_json: bool) -> None:
    """Check RUN's files against its SHA256SUMS: exit 0 intact, 1 naming each altered, missing or added file."""
    from orchestrator.report.bundle import verify
    from orchestrator.run.rundir import RunDir

    run_dir = RunDir.find(run, workdir).path
    result = verify(run_dir)
    document = {"run_dir": str(run_dir), "intact": not result["problems"], **result}
    if as_json:
        emit_json(document)
    elif result["problems"]:
        for problem in result["problems"]:
            click.echo(f"{problem['problem']}: {problem['file']}")
        click.echo(f"evidence NOT intact: {len(result['problems'])} problem(s) in {run_dir}")
    else:
        click.echo(f"evidence intact: {result['files']} files match SHA256SUMS in {run_dir}")
    if result["problems"]:
        sys.exit(1)
