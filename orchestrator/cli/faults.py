"""The options that practise failures: faults injected into a drill's steps (orchestrator/data/faults.py)
and, for a drill or a local rehearsal, a damaged backup (orchestrator/data/backup_catalog.py)."""

from __future__ import annotations

import click


def fault_options(fn):
    """--inject-faults RATE [--fault-seed N] [--fault-kinds K,...]: validated by faults.from_cli (exit 2)."""
    fn = click.option("--fault-kinds", metavar="KINDS", default=None,
                      help="Comma-separated, of throttle,unavailable,timeout,reset (default: all four).")(fn)
    fn = click.option("--fault-seed", type=int, default=None,
                      help="Seed of the injected faults (default 0): the same seed, the same faults.")(fn)
    return click.option("--inject-faults", "fault_rate", metavar="RATE", default=None,
                        help="Fail this share (0..1) of the steps' blob requests and database connections "
                             "with throttling, 503s, timeouts and resets.")(fn)


def _check_damage(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # parsed lazily: the backup modules (Azure SDK, psycopg) are not loaded for every command line
    from orchestrator.data.backup_catalog import parse_damage

    try:
        parse_damage(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value or None


corrupt_backup_option = click.option(
    "--corrupt-latest-backup", metavar="STORE[:HOW]", default=None, callback=_check_damage,
    help="Practise a damaged backup: once the backups are taken, damage the newest generation of STORE "
         "(postgres, lake or all). HOW: corrupt (default; bytes flipped in the base backup, a blob snapshot "
         "deleted per lake zone), missing (the base backup or every snapshot deleted) or every-generation "
         "(every generation corrupted: nothing good to restore).")
