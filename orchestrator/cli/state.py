"""The --state-url and --break-lease options of `drctl drill --local`, `failover`, `fallback` and `resume`."""

from __future__ import annotations

import click

state_url_option = click.option(
    "--state-url", metavar="URL", default=None,
    help="Mirror the run's journal and evidence to this blob container, so another machine can resume "
         "it: https://<account>.blob.core.windows.net/<container> (Entra sign-in) or "
         "http://127.0.0.1:<port>/<account>/<container> (Azurite; key in $DRCTL_STATE_ACCOUNT_KEY).")

break_lease_option = click.option(
    "--break-lease", is_flag=True,
    help="Take over a lease another run holds although it has not lapsed (you know its holder is dead): the "
         "stack's (<workdir>/leases/<stack>.json, recorded in the run's lease.json) and, with --state-url, the "
         "run's in the container (recorded in executors.json).")
