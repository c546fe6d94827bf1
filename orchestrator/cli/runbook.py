"""`drctl runbook`: write the DR plan document of a stack (orchestrator/runbook/document.py builds it).

Registered in orchestrator/cli/main.py; the options every verb shares come from orchestrator/cli/common.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.atomic import write_atomic
from orchestrator.cli.common import project_option, workdir_option
from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR


@click.command()
@click.option("--stack", required=True, help="Stack name: the stack the runbook recovers into (e.g. secondary).")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="Markdown, or one self-contained HTML file.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the document to this file instead of stdout.")
@click.option("--contacts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The contacts file (default: dr/contacts.yaml in the project).")
@workdir_option("Where runs record their step durations: the estimates are `drctl plan`'s.")
@click.option("--history-from", type=click.Choice(["azure", "local", "none"]), default="azure", show_default=True,
              help="Whose history sets the estimates: failovers on Azure, local drills, or none (profiles only).")
@project_option
def runbook(stack: str, fmt: str, output: Path | None, contacts: Path | None, workdir: Path, history_from: str,
            project_dir: Path) -> None:
    """The DR plan document of STACK, generated from the plan `drctl failover` runs: process, contacts,
    architecture, dependencies, prerequisites, every step in run order, post requisites, sign-off."""
    from orchestrator.runbook.contacts import DEFAULT_CONTACTS, load_contacts
    from orchestrator.runbook.document import build_runbook
    from orchestrator.runbook.render import render
    from orchestrator.stack import check_stack, load_stack

    # Cheap checks first: bad input is reported before the program runs under the mock runtime.
    check_stack(project_dir, stack)
    path = contacts if contacts is not None else Path(project_dir) / DEFAULT_CONTACTS
    loaded = load_contacts(path, str(contacts) if contacts is not None else str(DEFAULT_CONTACTS))
    if output is not None and not output.resolve().parent.is_dir():
        raise BadInput(f"--output: no folder {output.parent} to write {output.name} into")
    book = build_runbook(load_stack(project_dir, stack), loaded, workdir=workdir, history_from=history_from)
    text = REDACTOR.text(render(book, fmt))
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text)  # a reader (or a CI job publishing the file) never sees half a runbook
    click.echo(f"runbook: {output} ({len(book.steps)} steps, {fmt})", err=True)



