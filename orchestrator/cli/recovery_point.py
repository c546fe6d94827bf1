"""`--recovery-point TIME` for `drctl drill --local` and `drctl failover` (orchestrator/data/recovery_point.py)."""

from __future__ import annotations

from datetime import datetime

import click


def _check_point(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from orchestrator.data.recovery_point import parse_recovery_point

    if value is None:
        return None
    try:
        return parse_recovery_point(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


recovery_point_option = click.option(
    "--recovery-point", metavar="TIME", default=None, callback=_check_point,
    help="Restore the newest backup generation (or blob snapshot) at or before TIME, not the newest of all: "
         "\"before the anomaly\". ISO 8601 with a timezone, e.g. 2026-01-01T01:15:00Z. A local drill reads "
         "TIME on its simulated data clock (batch k covers T0 + k*15min, T0 = 2026-01-01T00:00Z): a "
         "generation's point is the end of the data it holds, which the drill prints as it takes each one. "
         "On Azure TIME is wall-clock UTC, compared with the lake's blob snapshot times. Replay then brings "
         "the stores up to date from there.")
