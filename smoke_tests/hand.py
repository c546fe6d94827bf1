"""The checks run by hand (`pytest smoke_tests --outputs outputs.json`): which ones a stack's outputs
call for, and the probe each takes, built from those outputs and the environment's credentials.

It is an entry point like drctl's CLI (it sits above the checks): the Azure pieces drctl uses for
the same calls (its SDK error translation, the api-version of each resource type) are imported
when a probe is built, not at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from smoke_tests.check import Check, SameFact, Target

# Outputs keys (components/lake.py, components/postgres.py, stacks/outputs.py), repeated here so that
# reading them needs neither the program nor Pulumi.
BLOB_ENDPOINT = "lakeBlobEndpoint"
POSTGRES_FQDN = "postgresFqdn"
POSTGRES_DATABASES = "postgresDatabases"
RESOURCES = "resources"
LOCAL = "local"  # written by `drctl drill --local --keep-running`: where the emulators' credentials are

RUN_ONLY = {
    "data_explorer": "its checks judge the cluster against the recovered lake's files, which only drctl's "
                     "run gathers (drctl failover runs them)",
}


def deployed_components(outputs: Mapping[str, Any]) -> list[str]:
    found = list((outputs.get(RESOURCES) or {}).keys())
    for key, component in ((BLOB_ENDPOINT, "lake"), (POSTGRES_FQDN, "postgres")):
        if key in outputs and component not in found:
            found.append(component)
    return found


def hand_checks(outputs: Mapping[str, Any]) -> list[Check]:
    """Every implemented check of every deployed component that runs where the outputs point (a local
    drill's region: the local checks; a stack on Azure: the Azure ones)."""
    from components.registry import profile_by_key

    where = Target.LOCAL if LOCAL in outputs else Target.AZURE
    checks: list[Check] = []
    for component in deployed_components(outputs):
        try:
            profile = profile_by_key(component)
        except KeyError:
            continue
        checks += [check for check in profile.checks if check.implemented and check.runs_on_target(where)]
    return checks


def not_by_hand(check: Check) -> str | None:
    """Why a check is left to drctl's run, or None."""
    if isinstance(check.function, SameFact):
        return "it compares the store with its backup's manifest: drctl's validate step runs it"
    if check.fails_over:
        return "running it fails the service over: only drctl failover runs it"
    return RUN_ONLY.get(check.component)


class HandStack:
    """The probes of a deployed stack's checks, from its outputs and the environment's credentials."""

    def __init__(self, outputs: Mapping[str, Any]) -> None:
        self.outputs = outputs

    @cached_property
    def credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    @cached_property
    def local(self) -> dict[str, Any]:
        return dict(self.outputs.get(LOCAL) or {})

    def output(self, key: str) -> Any:
        if key not in self.outputs:
            import pytest

            pytest.skip(f"the stack exports no {key}: that service is not enabled in this stack")
        return self.outputs[key]

    def probe(self, component: str) -> Any:
        if component == "lake":
            return self.lake_probe()
        if component == "postgres":
            return self.postgres_probe()
        return self.service_probe(component)

    def lake_probe(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        from components.lake import ZONES
        from smoke_tests.lake import LakeProbe

        endpoint = self.output(BLOB_ENDPOINT)
        if self.local:
            keys = json.loads(Path(self.local["keysFile"]).read_text(encoding="utf-8"))
            account = self.local["account"]
            service = BlobServiceClient(endpoint, credential={"account_name": account, "account_key": keys[account]})
        elif os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
            service = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
        else:
            service = BlobServiceClient(endpoint, credential=self.credential)
        return LakeProbe(service, ZONES)

    def postgres_conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        host = self.output(POSTGRES_FQDN)
        database = self.output(POSTGRES_DATABASES)[0]
        if self.local:
            # the local server asks for its superuser's password, which is in the 0600 keys file (the
            # outputs name the file and the entry, never the password); it stays in this process
            keys = json.loads(Path(self.local["keysFile"]).read_text(encoding="utf-8"))
            return make_conninfo(host=host, port=self.local["postgresPort"], user=self.local["postgresUser"],
                                 dbname=database, password=keys[self.local["postgresPasswordKey"]])
        if os.environ.get("PGPASSWORD") or host in ("127.0.0.1", "localhost"):
            return make_conninfo(host=host, dbname=database)  # libpq reads PGUSER/PGPASSWORD/PGPORT itself
        # Entra authentication: the access token is the password; TLS is mandatory on Azure, and the
        # server's certificate is verified against Azure's roots before the token is sent.
        from orchestrator.targets.azure.tls import postgres_tls

        token = self.credential.get_token("https://ossrdbms-aad.database.windows.net/.default").token
        return make_conninfo(host=host, dbname=database, password=token, **postgres_tls())

    def postgres_probe(self) -> Any:
        import psycopg

        from smoke_tests.postgres import PostgresProbe

        conninfo = self.postgres_conninfo()
        return PostgresProbe(lambda: psycopg.connect(conninfo))

    def service_probe(self, component: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        from orchestrator.targets.azure.errors import call
        from orchestrator.targets.azure.stores.management import ApiVersions
        from orchestrator.targets.azure.stores.replay import run_pipeline
        from smoke_tests.probe import ServiceProbe

        resources = tuple((self.outputs.get(RESOURCES) or {}).get(component) or ())
        subscription = _subscription_of(resources)
        arm = ResourceManagementClient(self.credential, subscription)
        versions = ApiVersions(arm)
        return ServiceProbe(component, call, self.credential, arm, resources,
                            api_version=lambda r: versions.for_resource(str(r["id"]), r.get("type"))[0],
                            names={"subscription": subscription, "region": str(self.outputs.get("region", ""))},
                            connectors={"run_pipeline": run_pipeline})


def _subscription_of(resources: tuple[Mapping[str, Any], ...]) -> str:
    for resource in resources:
        parts = str(resource.get("id", "")).split("/")
        if len(parts) > 2 and parts[1].lower() == "subscriptions":
            return parts[2]
    raise ValueError("the outputs' resources carry no ARM id to take the subscription from")
