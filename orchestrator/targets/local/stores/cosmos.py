"""Cosmos DB on the local region pair's account (orchestrator/targets/local/cosmos.py): its steps as the
DR profile recovers it, a service-managed failover, then validate, replay and smoke.

- deploy: the failover. The write region moves to the paired region's read region, which held the
  account's data all along; nothing is created. A write is refused there before (a read region) and
  accepted after; the graph's database and container are found there with the declared partition key.
- validate: the component's data checks (smoke_tests/cosmos_db.py: document-count, max-ts-watermark),
  the same functions the Azure target runs, against the baseline recorded at the replicated point.
- replay: re-sends from the read region's own watermark the writes the replication had not carried.
- smoke: account-read and canary-upsert-read, again the same functions.

The checks get a ServiceProbe whose Resource Manager is the local account's region list (`LocalArm`)
and whose CosmosClient goes to the write region's server over verified TLS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from orchestrator.data.cosmos_ingest import set_path
from orchestrator.data.errors import azure_errors
from orchestrator.data.manifest import validated
from orchestrator.data.replay import replay
from orchestrator.model import PermanentError, StepOutcome
from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.cosmos import ACCOUNT_TYPE, COMPONENT_TYPE, LocalCosmosAccount
from orchestrator.targets.local.cosmos_prelude import MANIFEST
from orchestrator.targets.local.declared import ComponentDeclarations, declared_for
from orchestrator.targets.local.servers.cosmos import LoopbackCredential
from orchestrator.targets.local.stores.run import LocalRun
from smoke_tests.check import Check
from smoke_tests.cosmos_db import CANARY_ID
from smoke_tests.probe import ServiceProbe

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

T = TypeVar("T")
DATABASE_TYPE = "azure-native:cosmosdb:SqlResourceSqlDatabase"
CONTAINER_TYPE = "azure-native:cosmosdb:SqlResourceSqlContainer"
ON_AZURE = ("Cosmos DB's service-managed failover (enableAutomaticFailover) moves the write region to the "
            "paired region by itself when the primary region fails, and the account keeps its name; drctl then "
            "checks that the recovery region has failover priority 0 and otherwise changes the priorities itself "
            "(database_accounts.begin_failover_priority_change, orchestrator/targets/azure/stores/databases.py)")
NOT_MODELLED = {
    "endpoint": "each region is a server of its own on 127.0.0.1, so the account's documentEndpoint moves to the "
                "read region's address; on Azure one global endpoint stays and the SDK follows the write region",
    "_ts": "the local server stamps _ts when it applies a replicated write; Azure keeps the write region's",
    "sign-in": "the local server checks no token: the checks sign in with an Entra-shaped token it ignores",
}


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with azure_errors(what):
        return fn(*args, **kwargs)


def errors(what: str) -> AbstractContextManager[None]:
    return azure_errors(f"cosmos_db {what}")


class LocalArm:
    """Resource Manager's `resources.get_by_id` for the probe, answered from the local account's region list."""

    def __init__(self, account: LocalCosmosAccount) -> None:
        self.account, self.resources = account, self

    def get_by_id(self, resource_id: str, api_version: str | None = None) -> dict[str, Any]:
        if resource_id.lower() != self.account.account_id().lower():
            raise ResourceNotFoundError(f"no resource {resource_id} on the local region pair")
        return self.account.arm_view()


class CosmosStore:
    def __init__(self, run: LocalRun, account: LocalCosmosAccount, graph: Graph) -> None:
        self.run, self.account = run, account
        self.declared: ComponentDeclarations = declared_for(graph, COMPONENT_TYPE)

    errors = staticmethod(errors)

    def probe(self, baseline: dict[str, Any] | None = None) -> ServiceProbe:
        from components.cosmos_db import CosmosDbSettings

        spec, account = self.account.spec, self.account
        settings = CosmosDbSettings.model_validate({"database": spec.database, "container": spec.container,
                                                    "partitionKeyPath": spec.partition_key_path})
        server = account.server_of(account.write_region())
        return ServiceProbe("cosmos_db", call, LoopbackCredential(), LocalArm(account),
                            ({"type": ACCOUNT_TYPE, "id": account.account_id(), "api_version": "local"},),
                            settings=settings, names={"region": account.write_region()},
                            client_kwargs=server.client_kwargs(), baseline=baseline or {})

    def sink(self) -> Any:
        return self.account.sink(self.account.replica)

    # -- deploy: the failover -------------------------------------------------------------------
    def deploy(self) -> StepOutcome:
        account, spec = self.account, self.account.spec
        started = time.monotonic()
        evidence: dict[str, Any] = {"account": spec.account, "primary_region_answering": account.primary.running,
                                    "write_before_failover": self._write_canary()}
        moved = account.fail_over()
        evidence.update({
            "action": f"service-managed failover: the write region of account {spec.account} moved from "
                      f"{spec.write_region} to {spec.read_region}, whose replica held the data; nothing created",
            "on_azure": ON_AZURE, **moved, "endpoint": account.replica.endpoint,
            "write_after_failover": self._write_canary(),
        })
        if evidence["write_after_failover"] != "accepted":
            raise PermanentError(f"cosmos_db: {spec.read_region} refuses writes after the failover", evidence)
        evidence["graph"] = self._found_declared()
        evidence["not_modelled"] = NOT_MODELLED
        evidence["failover_s"] = round(time.monotonic() - started, 3)
        return StepOutcome(outputs=self.run.recovered_to(self.sink().watermark()), evidence=evidence)

    def rehydrate(self) -> StepOutcome:
        """Never a step of Cosmos DB's plan (its failover recovers the data); here for the runner's dispatch."""
        raise PermanentError("cosmos_db has no rehydrate step: its deploy step's failover recovers the data")

    def _write_canary(self) -> str:
        """Whether the read region takes a client's write: the canary upserted and removed."""
        spec = self.account.spec
        container = self.account.container(self.account.replica)
        item: dict[str, Any] = {"id": CANARY_ID, "written_by": "drctl failover check"}
        set_path(item, spec.partition_key_path, CANARY_ID)
        with errors(f"write to {spec.read_region}"):
            try:
                container.upsert_item(item)
            except HttpResponseError as err:
                if err.status_code == 403:
                    return "refused: HTTP 403, a read region"
                raise
            container.delete_item(CANARY_ID, partition_key=CANARY_ID)
        return "accepted"

    def _found_declared(self) -> list[dict[str, Any]]:
        """What the graph declares for Cosmos DB, and what stands for each in the failed-over account."""
        spec = self.account.spec
        with errors("read the account's databases"):
            client = self.account.replica.client()
            databases = {d["id"] for d in client.list_databases()}
        found: list[dict[str, Any]] = []
        for resource in self.declared.resources:
            item: dict[str, Any] = {"graph": resource.ref(), "created": False}
            if resource.type == ACCOUNT_TYPE:
                item["stands_for"] = (f"account {spec.account}, whose read region {spec.read_region} is now its write "
                                      "region: a service-managed failover keeps the primary's account")
            elif resource.type == DATABASE_TYPE:
                item["found"] = (resource.physical_name or resource.name) in databases
            elif resource.type == CONTAINER_TYPE:
                item.update(self._container(client, resource.inputs))
            else:
                item["stands_for"] = "nothing locally: no emulator holds it"
            if item.get("found") is False:
                raise PermanentError(f"cosmos_db: the failed-over account lacks {resource.type.rsplit(':', 1)[-1]} "
                                     f"{resource.physical_name}", {"graph": [*found, item]})
            found.append(item)
        return found

    def _container(self, client: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        database, name = inputs.get("databaseName"), inputs.get("containerName")
        declared = ((inputs.get("resource") or {}).get("partitionKey") or {}).get("paths") or []
        with errors(f"read container {database}/{name}"):
            try:
                properties = client.get_database_client(database).get_container_client(name).read()
            except ResourceNotFoundError:  # azure-cosmos's CosmosResourceNotFoundError is one
                return {"found": False}
        paths = (properties.get("partitionKey") or {}).get("paths") or []
        if declared and paths != declared:
            raise PermanentError(f"cosmos_db: container {database}/{name} is partitioned by {paths}, "
                                 f"the graph declares {declared}")
        return {"found": True, "partition_key_paths": paths}

    # -- validate, replay -----------------------------------------------------------------------
    def validate(self, checks: Sequence[Check]) -> StepOutcome:
        manifest = self._baseline()
        probe = self.probe(manifest.get("checks") or {})
        facts: dict[str, Any] = {}
        mismatches: list[str] = []
        with errors("validation"):
            for check in checks:
                assert check.function is not None  # runs_on LOCAL implies a function (Check.__post_init__)
                found, facts[check.name] = check.function(probe)
                mismatches += [f"{check.name}: {m}" for m in found]
        return validated({"store": "cosmos_db", "exact": not mismatches, "mismatches": mismatches, "checks": facts,
                          "baseline": {"manifest": MANIFEST, "recorded": manifest.get("recorded"),
                                       "recorded_at": manifest.get("recorded_at")}})

    def _baseline(self) -> dict[str, Any]:
        path = RunDir(self.run.run_dir).manifest(MANIFEST)
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError) as exc:
            raise PermanentError(f"cosmos_db: no baseline to validate against ({path}: {type(exc).__name__})") from None

    def replay(self, recovered: int | None) -> StepOutcome:
        """From the watermark the failover recovered to: the batch the replication carried only part of
        is re-sent whole, the documents it had upserted again unchanged."""
        return self.run.replayed(replay(self.sink(), self.run.source), recovered)
