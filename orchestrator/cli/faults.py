"""The options of `drctl drill --local` that inject faults into the run's steps (orchestrator/data/faults.py)."""

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
