"""drctl: the command line. Each verb parses, validates and hands over to one module.

Exit codes: 0 done; 1 the run or check failed (its report says why); 2 bad input, with one
line on stderr naming what is wrong and nothing touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestrator.cli_coverage import coverage
from orchestrator.cli_evidence import verify_evidence
from orchestrator.cli_fallback import fallback
from orchestrator.cli_faults import fault_options
from orchestrator.cli_rehearse import cleanup, corrupt_backup_option, rehearse
from orchestrator.cli_runbook import runbook
from orchestrator.cli_state import break_lease_option, state_url_option
from orchestrator.errors import BadInput
from orchestrator.history import REGRESSION_THRESHOLD
from orchestrator.redact import REDACTOR

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _emit_json(document: dict) -> None:
    click.echo(REDACTOR.text(json.dumps(document, indent=2, sort_keys=False)))


def _project_option(fn):
    return click.option(
        "--project-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=PROJECT_DIR,
        show_default=False,
        help="Folder holding Pulumi.yaml and the stack files (default: this repository).",
    )(fn)


def _stack_option(fn):
    return click.option("--stack", required=True, help="Stack name: primary or secondary.")(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="azure-dataplatform-dr", prog_name="drctl")
def cli() -> None:
    """Plan, rehearse and run the recovery of the data platform into another region."""


@cli.command()
@_stack_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_project_option
def preview(stack: str, as_json: bool, project_dir: Path) -> None:
    """Run the Pulumi program offline (mock runtime) and print the stack's resource graph."""
    from orchestrator.commands import preview_command

    document = preview_command(project_dir, stack)
    if as_json:
        _emit_json(document)
    else:
        from orchestrator.render import print_preview

        print_preview(document)


@cli.command()
@_stack_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".drill"), show_default=True,
              help="Where runs record their step durations (history/<stack>.jsonl).")
@click.option("--history-from", type=click.Choice(["azure", "local", "none"]), default="azure", show_default=True,
              help="Whose history sets the estimates: failovers on Azure, local drills, or none (profiles only).")
@click.option("--regression-threshold", type=click.FloatRange(min=1.0, min_open=True), default=REGRESSION_THRESHOLD,
              show_default=True, help="Flag a step whose latest run took over this times its earlier runs' median.")
@_project_option
def plan(stack: str, as_json: bool, workdir: Path, history_from: str, regression_threshold: float,
         project_dir: Path) -> None:
    """The recovery plan for a stack: steps, dependencies, estimates (from history where there is
    some), critical path vs RTO, and the levers when it is over."""
    from orchestrator.commands import plan_command

    document = plan_command(project_dir, stack, workdir=workdir, history_from=history_from,
                            regression_threshold=regression_threshold)
    if as_json:
        _emit_json(document)
    else:
        from orchestrator.render import print_plan

        print_plan(document)


@cli.command()
@click.option("--stack", default="secondary", show_default=True, help="The stack failed over to.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the preflight checks; touch nothing.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="Steps run at once.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".drill"),
    show_default=True,
    help="Where run directories go.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@state_url_option
@break_lease_option
@_project_option
def failover(stack: str, dry_run: bool, workers: int, workdir: Path, as_json: bool, state_url: str | None,
             break_lease: bool, project_dir: Path) -> None:
    """Fail over to STACK on Azure: preflight, pulumi up, rehydrate, validate, smoke, hand over."""
    from orchestrator.failover import failover_command
    from orchestrator.lease import StackLease

    with StackLease(workdir, stack, "failover", break_lease=break_lease) as lease:  # a dry run never takes it
        document = failover_command(project_dir, stack, workdir=workdir, dry_run=dry_run, workers=workers,
                                    state_url=None if dry_run else state_url, lease=lease)
    if dry_run:
        if as_json:
            _emit_json(document)
        else:
            from orchestrator.render import print_dry_run

            print_dry_run(document)
        return
    if document.get("outcome") == "blocked":
        if as_json:
            _emit_json(document)
        else:
            from orchestrator.render import print_preflight

            print_preflight(document["preflight"])
        sys.exit(1)
    _finish_run(document, as_json)


@cli.command()
@_stack_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_project_option
def preflight(stack: str, as_json: bool, project_dir: Path) -> None:
    """Check Azure before a failover: access, region, providers, SKUs, quota, primary DR readiness, state backend."""
    from orchestrator.commands import check_stack
    from orchestrator.targets.azure.deploy import PulumiStack, find_pulumi
    from orchestrator.targets.azure.preflight import preflight_command

    check_stack(project_dir, stack)
    try:
        # The state-backend check reads the stack through the Pulumi CLI when there is one.
        state_readable = PulumiStack(project_dir, stack, command=find_pulumi()).state_readable
    except BadInput:
        state_readable = None
    document = preflight_command(project_dir, stack, state_readable=state_readable)
    if as_json:
        _emit_json(document)
    else:
        from orchestrator.render import print_preflight

        print_preflight(document)
    if document.get("blocked"):
        sys.exit(1)


@cli.command()
@click.option("--stack", default=None, help="Stack name; without it, the seed tables alone.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_project_option
def posture(stack: str | None, as_json: bool, project_dir: Path) -> None:
    """The seed tables as this stack has them: responsibilities, SKU, DR uplifts on or off, recovery action."""
    from orchestrator.commands import posture_command

    document = posture_command(project_dir, stack)
    if as_json:
        _emit_json(document)
    else:
        from orchestrator.render import print_posture

        print_posture(document)


@cli.command()
@click.option("--local", "local", is_flag=True, help="Run against the local region pair of emulators.")
@click.option("--scale", type=click.IntRange(1, 1000), default=1, show_default=True, help="Dataset size multiplier.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".drill"),
    show_default=True,
    help="Where run directories and emulator data go.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="Steps run at once.")
@click.option("--stack", default="secondary", show_default=True, help="The stack failed over to.")
@click.option("--keep-data", is_flag=True, help="Keep the emulators' data after a recovered run (kept anyway otherwise).")
@click.option("--require-approval", is_flag=True,
              help="Gates wait for `drctl approve` instead of being auto-approved (then `drctl resume`).")
@click.option("--with-fallback", is_flag=True, help="After the handover, fall back to the primary (the round trip).")
@click.option("--parallel-run-s", type=click.FloatRange(0, 3600), default=None,
              help="Length of the fallback's parallel run, in seconds (default 2 locally).")
@corrupt_backup_option
@fault_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary on stdout.")
@state_url_option
@break_lease_option
@_project_option
def drill(
    local: bool, scale: int, workdir: Path, workers: int, stack: str, keep_data: bool, require_approval: bool,
    with_fallback: bool, parallel_run_s: float | None, corrupt_latest_backup: str | None, fault_rate: str | None,
    fault_seed: int | None, fault_kinds: str | None, as_json: bool, state_url: str | None, break_lease: bool,
    project_dir: Path
) -> None:
    """Rehearse a failover end to end: dataset, backup, disaster, recovery, validation, report."""
    if not local:
        raise BadInput("drill needs --local: it runs against the local region pair (on Azure, `drctl failover` runs the same plan)")
    from orchestrator.drill import run_local_drill
    from orchestrator.faults import from_cli

    inject_faults = from_cli(fault_rate, fault_seed, fault_kinds)  # before anything starts: bad values exit 2
    if parallel_run_s is not None and not with_fallback:
        raise BadInput("--parallel-run-s: only with --with-fallback")
    from orchestrator.lease import StackLease

    with StackLease(workdir, stack, "drill", break_lease=break_lease) as lease:
        summary = run_local_drill(project_dir, stack, workdir, scale=scale, workers=workers, keep_data=keep_data,
                                  with_fallback=with_fallback, parallel_run_s=parallel_run_s,
                                  require_approval=require_approval, corrupt_latest_backup=corrupt_latest_backup,
                                  state_url=state_url, inject_faults=inject_faults, lease=lease)
    _finish_run(summary, as_json)


_workdir_option = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".drill"),
    show_default=True,
    help="Where run directories are looked up when RUN is a run id.",
)


@cli.command()
@click.argument("run")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary on stdout.")
@_workdir_option
@state_url_option
@break_lease_option
@_project_option
def resume(run: str, workers: int, as_json: bool, workdir: Path, state_url: str | None, break_lease: bool,
           project_dir: Path) -> None:
    """Continue an interrupted run (RUN: its directory or run id); completed steps are not run again.
    With --state-url (or for a run started with it) from any machine: RUN is fetched from the container."""
    from orchestrator.lease import StackLease, lease_workdir
    from orchestrator.rundir import read_run
    from orchestrator.state_resume import open_for_resume

    run_dir, state = open_for_resume(run, workdir, state_url, break_lease=break_lease)
    lease = None
    try:
        document = read_run(run_dir)
        # The stack's lease, as for a new run: refused while another run (or this one) is running it.
        lease = StackLease(lease_workdir(run_dir, document, workdir), document["stack"], "resume",
                           break_lease=break_lease)
        if document["kind"] == "failover":
            from orchestrator.failover import resume_failover

            summary = resume_failover(project_dir, run_dir, workers=workers, state=state, lease=lease)
        else:
            from orchestrator.drill import resume_run

            summary = resume_run(project_dir, run_dir, workers=workers, state=state, lease=lease)
    finally:
        if lease is not None:
            lease.release()
        if state is not None:
            state.close()
    _finish_run(summary, as_json)


@cli.command()
@click.argument("run")
@click.argument("step")
@click.option("--by", "by", required=True, help="Who approves (recorded in the evidence).")
@click.option("--note", default=None, help="Why, or what was checked.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_workdir_option
def approve(run: str, step: str, by: str, note: str | None, as_json: bool, workdir: Path) -> None:
    """Approve the gate STEP that run RUN waits at; then `drctl resume RUN` goes on."""
    from orchestrator.approve import approve as record_approval
    from orchestrator.rundir import resolve_run

    document = record_approval(resolve_run(run, workdir), step, by=by, note=note)
    if as_json:
        _emit_json(document)
    else:
        click.echo(f"{document['step']} approved by {document['approved_by']}; continue with: {document['next']}")


@cli.command()
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_workdir_option
def status(run: str, as_json: bool, workdir: Path) -> None:
    """Where a run stands (RUN: its directory or run id), read from its journal."""
    from orchestrator.commands import status_command
    from orchestrator.rundir import resolve_run

    document = status_command(resolve_run(run, workdir))
    if as_json:
        _emit_json(document)
    else:
        from orchestrator.render import print_status

        print_status(document)


def _finish_run(summary: dict, as_json: bool) -> None:
    if as_json:
        _emit_json(summary)
    else:
        from orchestrator.render import print_summary

        print_summary(summary)
    if summary.get("outcome") != "recovered" or (summary.get("fallback") or {}).get("outcome", "recovered") != "recovered":
        sys.exit(1)


cli.add_command(coverage)
cli.add_command(fallback)
cli.add_command(verify_evidence)
cli.add_command(rehearse)
cli.add_command(cleanup)
cli.add_command(runbook)


def _config_error() -> type[Exception]:
    # Only an imported module can have raised its error; importing stacks.config (pydantic, the
    # schema) just to name it would cost every drctl call, a cached one too, a third of a second.
    module = sys.modules.get("stacks.config")
    return module.ConfigError if module is not None else BadInput


def main(argv: list[str] | None = None) -> None:
    if argv is None:
        # A drctl process of its own: nothing in it can have patched a registry, so the offline
        # verbs' documents may come from the content-keyed cache (orchestrator/graph_cache.py).
        from orchestrator.graph_cache import enable_documents

        enable_documents()
    try:
        exit_code = cli.main(args=argv, prog_name="drctl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("drctl: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"drctl: {REDACTOR.text(exc.format_message())}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"drctl: {REDACTOR.text(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except (BadInput, _config_error()) as exc:
        click.echo(f"drctl: {REDACTOR.text(str(exc))}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("drctl: interrupted", err=True)
        sys.exit(130)
    except Exception:
        # A bug: its traceback is what to report, but through the redactor, since the exception's
        # message may quote a connection string or a key. Exit 1, as Python's own handler would.
        import traceback

        click.echo(REDACTOR.text(traceback.format_exc()), err=True, nl=False)
        sys.exit(1)
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)


if __name__ == "__main__":
    main()
