"""`drctl verify-evidence`: is a run directory still what the run sealed and signed? And `drctl
publish-evidence`: a copy of it in a WORM blob container (orchestrator/evidence/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.common import emit_json, json_option, workdir_option

public_key_option = click.option(
    "--public-key", "public_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
    help="A PEM public key the signatures must be by (repeat for several). Without it, each signature is "
         "checked against the key it names: that proves the files unchanged since, not who signed.")


@click.command("verify-evidence")
@click.argument("run")
@public_key_option
@workdir_option("Where run directories are, when RUN is a run id.")
@json_option
def verify_evidence(run: str, public_keys: tuple[Path, ...], workdir: Path, as_json: bool) -> None:
    """Check RUN's signed seal and files: exit 0 intact, 1 naming each bad signature and each altered,
    missing, added or symlinked file."""
    from orchestrator.evidence.keys import load_public_keys
    from orchestrator.evidence.verify import verify
    from orchestrator.run.rundir import RunDir

    trusted = load_public_keys(public_keys) if public_keys else None
    run_dir = RunDir.find(run, workdir).path
    result = verify(run_dir, trusted)
    document = {"run_dir": str(run_dir), "intact": not result["problems"], **result}
    if as_json:
        emit_json(document)
    elif result["problems"]:
        _print_problems(result["problems"])
        click.echo(f"evidence NOT intact: {len(result['problems'])} problem(s) in {run_dir}")
    else:
        addenda = result.get("addenda_after_seal")
        signed_after = f" and {addenda} {'addendum' if addenda == 1 else 'addenda'} signed after it" if addenda else ""
        click.echo(f"evidence intact: {result['files']} files match SHA256SUMS{signed_after} in {run_dir}")
        click.echo(_signers(result))
    if result["problems"]:
        sys.exit(1)


@click.command("publish-evidence")
@click.argument("run")
@click.option("--container", "container_url", required=True, metavar="URL",
              help="A blob container with version-level immutability: https://<account>.blob.core.windows.net/"
                   "<container> (Entra sign-in), or http://127.0.0.1:<port>/<account>/<container> (Azurite; key "
                   "in $DRCTL_STATE_ACCOUNT_KEY).")
@click.option("--retain-days", type=click.IntRange(1, 146000), required=True,
              help="How long each blob version stays immutable.")
@click.option("--unlocked", is_flag=True,
              help="An Unlocked policy (it can be shortened or removed), to try the setup; default Locked.")
@public_key_option
@workdir_option("Where run directories are, when RUN is a run id.")
@json_option
def publish_evidence(run: str, container_url: str, retain_days: int, unlocked: bool, public_keys: tuple[Path, ...],
                     workdir: Path, as_json: bool) -> None:
    """Copy RUN's sealed directory to an immutable (version-level WORM) blob container, after verifying it:
    exit 0 published, 1 when the evidence does not verify or a blob could not be written."""
    from orchestrator.evidence.keys import load_public_keys
    from orchestrator.evidence.publish import publish
    from orchestrator.run.rundir import RunDir

    trusted = load_public_keys(public_keys) if public_keys else None
    run_dir = RunDir.find(run, workdir).path
    document = publish(run_dir, container_url, retain_days=retain_days, locked=not unlocked, public_keys=trusted)
    if as_json:
        emit_json(document)
    elif document["published"]:
        click.echo(f"published {len(document['blobs'])} files of {run_dir.name} to {container_url}/{document['prefix']}/,"
                   f" each version immutable ({document['policy_mode']}) until {document['retain_until']}")
    else:
        _print_problems(document["problems"])
        click.echo(f"evidence NOT published: {len(document['problems'])} problem(s)")
    if not document["published"]:
        sys.exit(1)


def _print_problems(problems: list[dict[str, str]]) -> None:
    for problem in problems:
        click.echo(f"{problem['problem']}: {problem['file']}")


def _signers(result: dict[str, Any]) -> str:
    keys = sorted({signature["key_id"] for signature in result["signatures"]})
    links = len(result["signatures"])
    if result["trusted_keys"] is None:
        return (f"{links} signature(s) valid, by {', '.join(keys)}: not checked against a key you trust "
                "(pass --public-key to check who signed)")
    return f"{links} signature(s) valid, by the --public-key given ({', '.join(keys)})"
