"""`drctl coverage`: the command, and its output for people (the --json form is the contract).

Registered in orchestrator/cli/main.py with `cli.add_command(coverage)`; kept in its own module so the
CLI module stays one screen per verb.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.common import emit_json, json_option, project_option
from orchestrator.redact import REDACTOR


@click.command()
@click.option("--stack", required=True, help="Stack name: primary or secondary (its paired stack is read too).")
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results as JUnit XML to this file (one testcase per check per component).",
)
@json_option
@project_option
def coverage(stack: str, junit: Path | None, as_json: bool, project_dir: Path) -> None:
    """Offline DR coverage gate: profiles, smoke and data checks, backup sources, replay paths, the
    secondary's counterparts, the security baseline and every data-plane call's route and role.
    Exit 1 lists each gap."""
    from orchestrator.report.junit import write_coverage_junit
    from orchestrator.verbs.coverage import coverage_command

    document = coverage_command(project_dir, stack)
    if junit is not None:
        write_coverage_junit(document, junit)
    if as_json:
        emit_json(document)
    else:
        print_coverage(document)
    if not document["passed"]:
        sys.exit(1)


def print_coverage(document: dict) -> None:
    """A line per check with its counts, then one line per gap (component, check, what is missing)."""
    echo = lambda text: click.echo(REDACTOR.text(text))  # noqa: E731
    components = len({c["component"] for c in document["checks"]})
    echo(
        f"DR coverage of stack {document['stack']} ({document['role']}, paired with {document['paired_stack']}): "
        f"{len(document['checks'])} results over {components} components"
    )
    for check, counts in document["summary"].items():
        verdict = "ok" if not counts["failed"] else f"{counts['failed']} with gaps"
        echo(f"  {check:<18} {counts['passed'] + counts['failed']:>3} checked, {verdict}")
    declared = document.get("declared_checks") or []
    implemented = sum(1 for check in declared if check["implemented"])
    echo(f"  declared smoke and data checks: {len(declared)}, implemented {implemented}, "
         f"declared only {len(declared) - implemented} (--json: declared_checks)")
    if document.get("excepted"):  # covered by a listed exception: said, never silently passed
        echo("justified exceptions (orchestrator/program/baseline.py EXCEPTIONS), not gaps:")
        for line in document["excepted"]:
            echo(f"  {line}")
    if document.get("prerequisites"):  # what the paths rest on that people made: named, not passed silently
        echo("access made by hand, declared in dataplatform:runner.grantedOutOfBand, not gaps:")
        for line in document["prerequisites"]:
            echo(f"  {line}")
    if document["passed"]:
        echo("no gaps")
        return
    for gap in document["gaps"]:
        echo(f"gap: {gap}")
    count = len(document["gaps"])
    echo(f"{count} gap{'s' if count != 1 else ''}: the coverage gate fails")
