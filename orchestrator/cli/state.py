"""The --state-url and --break-lease options of `drctl drill --local`, `failover`, `resume`, `fallback` and
`rehearse`."""

from __future__ import annotations

import click

state_url_option = click.option(
    "--state-url", metavar="URL", default=None,
    help="Mirror the run's journal and evidence to this blob container, so another machine can resume "
         "it: https://<account>.blob.core.windows.net/<container> (Entra sign-in) or "
         "http://127.0.0.1:<port>/<account>/<container> (Azurite; key in $DRCTL_STATE_ACCOUNT_KEY).")

_TAKE_OVER = "Take over a lease another run holds although it has not lapsed (you know its holder is dead): the "
_STACK_LEASE = "stack's (<workdir>/leases/<stack>.json, recorded in the run's lease.json)"

# For the verbs with --state-url: the run's lease in the container too.
break_lease_option = click.option(
    "--break-lease", is_flag=True,
    help=f"{_TAKE_OVER}{_STACK_LEASE} and, with --state-url, the run's in the container (recorded in the "
         "run's lease.json under state_lease).")

# For the verbs without it (fallback, rehearse): the stack's lease alone.
stack_break_lease_option = click.option("--break-lease", is_flag=True, help=f"{_TAKE_OVER}{_STACK_LEASE}.")
