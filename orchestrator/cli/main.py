"""drctl: the command line. Each verb parses, validates and hands over to one module.

Exit codes: 0 done; 1 the run or check failed (its report says why); 2 bad input, with one
line on stderr naming what is wrong and nothing touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.common import emit_json, json_option, project_option, workdir_option
from orchestrator.cli.coverage import coverage
from orchestrator.cli.evidence import publish_evidence, verify_evidence
from orchestrator.cli.fallback import fallback
from orchestrator.cli.rehearse import cleanup, rehearse
from orchestrator.cli.runbook import runbook
from orchestrator.cli.runs import approve, drill, failover, resume, status
from orchestrator.errors import BadInput, one_line
from orchestrator.plan.history import REGRESSION_THRESHOLD
from orchestrator.redact import REDACTOR

stack_option = click.option("--stack", required=True, help="Stack name: primary or secondary.")


# The verbs that seal or extend a run's evidence, and so sign it (orchestrator/evidence/keys.py).
SIGNING_VERBS = frozenset({"failover", "drill", "resume", "fallback", "rehearse", "approve"})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="azure-dataplatform-dr", prog_name="drctl")
@click.option("--signing-key", metavar="FILE|KEY_URL", default=None,
              help="Sign the run's evidence with this Ed25519 PEM key file, or this Key Vault key "
                   "(https://<vault>.vault.azure.net/keys/<name>[/<version>]); also $DRCTL_SIGNING_KEY_FILE, "
                   "$DRCTL_SIGNING_KEY_URL, $DRCTL_SIGNING_KEY. Default: <workdir>/keys/, generated once.")
@click.pass_context
def cli(ctx: click.Context, signing_key: str | None) -> None:
    """Plan, rehearse and run the recovery of the data platform into another region."""
    if ctx.invoked_subcommand in SIGNING_VERBS:
        from orchestrator.evidence.keys import use_signing_key

        use_signing_key(signing_key)  # now: a bad key is refused before a run starts
    elif signing_key:
        raise BadInput(f"--signing-key: drctl {ctx.invoked_subcommand} signs nothing (the verbs that do: "
                       f"{', '.join(sorted(SIGNING_VERBS))})")


@cli.command()
@stack_option
@json_option
@project_option
def preview(stack: str, as_json: bool, project_dir: Path) -> None:
    """Run the Pulumi program offline (mock runtime) and print the stack's resource graph."""
    from orchestrator.verbs.preview import preview_command

    document = preview_command(project_dir, stack)
    if as_json:
        emit_json(document)
    else:
        from orchestrator.cli.render import print_preview

        print_preview(document)


@cli.command()
@stack_option
@json_option
@workdir_option("Where runs record their step durations (history/<stack>.jsonl).")
@click.option("--history-from", type=click.Choice(["azure", "local", "none"]), default="azure", show_default=True,
              help="Whose history sets the estimates: failovers on Azure, local drills, or none (profiles only).")
@click.option("--regression-threshold", type=click.FloatRange(min=1.0, min_open=True), default=REGRESSION_THRESHOLD,
              show_default=True, help="Flag a step whose latest run took over this times its earlier runs' median.")
@click.option("--fail-over-rto", is_flag=True,
              help="Exit 1 when the critical path's estimate is over the stack's RTO target (a CI gate).")
@project_option
def plan(stack: str, as_json: bool, workdir: Path, history_from: str, regression_threshold: float,
         fail_over_rto: bool, project_dir: Path) -> None:
    """The recovery plan for a stack: steps, dependencies, estimates (from history where there is
    some), critical path vs RTO, and the levers when it is over."""
    from orchestrator.verbs.plan import plan_command

    document = plan_command(project_dir, stack, workdir=workdir, history_from=history_from,
                            regression_threshold=regression_threshold)
    if as_json:
        emit_json(document)
    else:
        from orchestrator.cli.render import print_plan

        print_plan(document)
    if fail_over_rto and not document["within_target"]:
        click.echo(f"drctl: the plan's critical path ({document['critical_path_s']:.0f} s) is over the RTO target "
                   f"({document['rto_target_s']:.0f} s)", err=True)
        sys.exit(1)


@cli.command()
@stack_option
@json_option
@project_option
def preflight(stack: str, as_json: bool, project_dir: Path) -> None:
    """Check Azure before a failover: access, region, providers, SKUs, quota, primary DR readiness, state backend."""
    from orchestrator.stack import load_stack
    from orchestrator.targets.azure.deploy.stack import PulumiStack, find_pulumi
    from orchestrator.targets.azure.preflight.run import preflight_command

    model = load_stack(project_dir, stack)
    try:
        # The state-backend check reads the stack through the Pulumi CLI when there is one.
        state_readable = PulumiStack(project_dir, stack, command=find_pulumi()).state_readable
    except BadInput:
        state_readable = None
    document = preflight_command(project_dir, stack, state_readable=state_readable, model=model)
    if as_json:
        emit_json(document)
    else:
        from orchestrator.cli.render import print_preflight

        print_preflight(document)
    if document.get("blocked"):
        sys.exit(1)


@cli.command()
@click.option("--stack", default=None, help="Stack name; without it, the seed tables alone.")
@json_option
@project_option
def posture(stack: str | None, as_json: bool, project_dir: Path) -> None:
    """The seed tables as this stack has them: responsibilities, SKU, DR uplifts on or off, recovery action."""
    from orchestrator.verbs.posture import posture_command

    document = posture_command(project_dir, stack)
    if as_json:
        emit_json(document)
    else:
        from orchestrator.cli.render import print_posture

        print_posture(document)


for command in (failover, drill, resume, approve, status, coverage, fallback, verify_evidence, publish_evidence,
                rehearse, cleanup, runbook):
    cli.add_command(command)


def _config_error() -> type[Exception]:
    # Only an imported module can have raised its error; importing stacks.config (pydantic, the
    # schema) just to name it would cost every drctl call, a cached one too, a third of a second.
    module = sys.modules.get("stacks.config")
    return module.ConfigError if module is not None else BadInput


def main(argv: list[str] | None = None) -> None:
    from orchestrator.redact import install_log_redaction

    install_log_redaction()  # before anything can log: `log.exception` prints a traceback's values
    if argv is None:
        # A drctl process of its own: nothing in it can have patched a registry, so the offline
        # verbs' documents may come from the content-keyed cache (orchestrator/program/cache.py).
        from orchestrator.program.cache import enable_documents

        enable_documents()
    try:
        exit_code = cli.main(args=argv, prog_name="drctl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("drctl: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"drctl: {REDACTOR.text(one_line(exc.format_message()))}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"drctl: {REDACTOR.text(one_line(exc.format_message()))}", err=True)
        sys.exit(exc.exit_code)
    except (BadInput, _config_error()) as exc:
        click.echo(f"drctl: {REDACTOR.text(one_line(str(exc)))}", err=True)
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
