"""A local drill's recovered region, left running (`drctl drill --local --keep-running`) so that a
person can run the checks by hand against it, as after a hand `pulumi up`:

    pytest smoke_tests --outputs <run dir>/outputs.json

The secondary's servers are detached from this process (they outlive it), the primary and the geo
copy's store are stopped as usual, and the data directory is marked like a rehearsal's, so that
`drctl cleanup --local` stops the servers and removes the data: nothing is left behind unmarked.
The outputs file holds what the stack's outputs would (endpoints, database names) and, under
`local`, where the emulators' credentials are: the 0600 keys file and the name of PostgreSQL's
password in it, never a key or the password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.atomic import write_json_atomic
from orchestrator.rehearsal.marks import MARKER, marker_document
from orchestrator.run.ownership import owner_fields
from orchestrator.targets.local.keys import POSTGRES_PASSWORD
from orchestrator.targets.local.region import KEYS_FILE, LocalRegionPair
from orchestrator.targets.local.servers.postgres import SUPERUSER

KIND = "kept"
OUTPUTS = "outputs.json"
# How long cleanup leaves a kept region alone while its drctl is still running; once that drctl
# has exited (the normal case), cleanup removes it at once.
TTL_HOURS = 24.0


def keep_secondary(pair: LocalRegionPair, run_dir: Path, run: dict[str, Any], region: str) -> dict[str, Any]:
    """Detach the secondary's servers, write the outputs file and the marker. Returns what to say."""
    servers = {"secondary.azurite": pair.secondary_azurite.pid, "secondary.postgres": pair.secondary_postgres.pid}
    outputs = {
        "region": region,
        "lakeBlobEndpoint": pair.secondary_azurite.blob_endpoint(pair.secondary_account),
        "postgresFqdn": "127.0.0.1",
        "postgresDatabases": [run["database"]],
        "local": {"keysFile": str(pair.workdir / KEYS_FILE), "account": pair.secondary_account,
                  "postgresPort": pair.secondary_postgres.port, "postgresUser": SUPERUSER,
                  "postgresPasswordKey": POSTGRES_PASSWORD},
    }
    path = Path(run_dir) / OUTPUTS
    write_json_atomic(path, outputs)
    marker = marker_document(f"kept-{run['run_id']}", TTL_HOURS, kind=KIND, stack=run["stack"],
                             run_dir=str(run_dir), **owner_fields())
    write_json_atomic(pair.workdir / MARKER, marker)
    for server in (pair.secondary_azurite, pair.secondary_postgres):
        server.detach()  # last: anything failing above leaves them to be stopped with the rest
    return {"outputs": str(path), "local_dir": str(pair.workdir), "servers": servers}
