"""A Cosmos DB account across the local region pair, as the DR profile recovers it on Azure
(components/cosmos_db.py): one account with its write region in the primary region and a read region in
the paired one; Cosmos DB replicates to the read region asynchronously, and a service-managed failover
moves the write region there when the primary region fails. Nothing is redeployed or restored.

    primary region   CosmosServer(primary/cosmos), the write region
    paired region    CosmosServer(secondary/cosmos), the read region: refuses client writes until the
                     failover; only the account's replication writes to it

Unlike the redeployed servers, the read region runs from the prelude on: it is the account's, which
Azure keeps in the paired region, as it keeps the lake's geo copy. Replication is the prelude's: it
copies the primary's documents in the order they were written, all but the newest few, the writes
the asynchronous replication had not carried when the region failed (the RPO the replay then makes
good from the watermark). The server stamps `_ts` when it applies a write, where Azure keeps the
write region's, so the baseline is recorded from the read region at the replicated point.

The account's region list (what ARM reports: failover priorities, write region, endpoint) is kept in
`cosmos-account.json` under the pair's workdir: the failover rewrites it, as Azure's control plane
changes the account. The document endpoint is each region's server, where Azure has one global
endpoint the SDK follows to the write region.

The servers hold their data in memory: a drill interrupted after the prelude cannot be resumed with
Cosmos DB (drctl resume says so), where Azurite and PostgreSQL come back from their data directories.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.atomic import write_atomic
from orchestrator.data.cosmos_ingest import CosmosSink, first, write_order
from orchestrator.data.errors import azure_errors
from orchestrator.model import PermanentError
from orchestrator.targets.local.servers.cosmos import CosmosServer

if TYPE_CHECKING:
    from orchestrator.stack import StackModel

COMPONENT_TYPE = "dataplatform:data:CosmosDb"
ACCOUNT_TYPE = "azure-native:cosmosdb:DatabaseAccount"
RECORD = "cosmos-account.json"
RESUME_REFUSED = ("the local Cosmos DB server keeps its documents in memory, so this drill's read region did not "
                  "survive the drctl that staged it: a drill with Cosmos DB is not resumed after its prelude; "
                  "run a new drill")


@dataclass(frozen=True)
class CosmosSpec:
    """What the local account is: the primary stack's account and regions, the stack's database and container."""

    account: str
    database: str
    container: str
    partition_key_path: str
    write_region: str  # the primary stack's region
    read_region: str  # the paired region, the drilled secondary's

    @property
    def where(self) -> str:
        return f"{self.database}/{self.container}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any] | None) -> CosmosSpec | None:
        return cls(**document) if document else None


def cosmos_spec(secondary: StackModel, primary: StackModel) -> CosmosSpec | None:
    """The account a drill of `secondary` fails over, or None where the stack has no Cosmos DB."""
    from orchestrator.targets.local.declared import declared_for

    if not secondary.config.enabled("cosmosDb"):
        return None
    settings = secondary.config.settings_of("cosmosDb")
    accounts = declared_for(primary.graph, COMPONENT_TYPE).of_type(ACCOUNT_TYPE)
    account = accounts[0].physical_name if accounts and accounts[0].physical_name else f"{primary.name}-cosmos"
    return CosmosSpec(account, settings.database, settings.container, settings.partition_key_path,
                      primary.config.region, secondary.config.region)


class LocalCosmosAccount:
    def __init__(self, workdir: Path, spec: CosmosSpec) -> None:
        self.workdir, self.spec = Path(workdir), spec
        self.primary = CosmosServer(self.workdir / "primary" / "cosmos", writable=True, region=spec.write_region)
        self.replica = CosmosServer(self.workdir / "secondary" / "cosmos", writable=False, region=spec.read_region)

    def servers(self) -> dict[str, CosmosServer]:
        return {"primary.cosmos": self.primary, "secondary.cosmos": self.replica}

    def start(self) -> None:
        with ThreadPoolExecutor(2) as pool:  # node takes a while to start: both at once
            list(pool.map(CosmosServer.start, (self.primary, self.replica)))

    def stop(self) -> None:
        self.primary.stop()
        self.replica.stop()

    # -- the data plane --------------------------------------------------------------------------
    def container(self, server: CosmosServer, *, as_replication: bool = False) -> Any:
        if not server.running:
            raise PermanentError(f"cosmos db: the {server.region} region's server is not running")
        with azure_errors(f"cosmos db: connect to {server.region}"):  # the client reads the account first
            client = server.client(as_replication=as_replication)
        return client.get_database_client(self.spec.database).get_container_client(self.spec.container)

    def sink(self, server: CosmosServer) -> CosmosSink:
        return CosmosSink(self.container(server), self.spec.partition_key_path)

    def create_resources(self) -> None:
        """The primary stack's database and container, in both regions (an account's databases and
        containers exist in each of its regions)."""
        from azure.cosmos import PartitionKey

        for server in (self.primary, self.replica):
            with azure_errors(f"cosmos db: create {self.spec.where}"):
                database = server.client(as_replication=True).create_database_if_not_exists(self.spec.database)
                database.create_container_if_not_exists(self.spec.container,
                                                        PartitionKey(path=self.spec.partition_key_path))

    def replicate(self, not_carried: int) -> dict[str, Any]:
        """Copy to the read region, in write order, the primary's documents it lacks, all but the
        newest `not_carried`: the writes the asynchronous replication had not carried yet."""
        source = self.container(self.primary)
        target = self.container(self.replica, as_replication=True)
        with azure_errors("cosmos db: replicate to the read region"):
            documents = sorted(source.query_items("SELECT * FROM c", enable_cross_partition_query=True),
                               key=write_order)
            held = {d["id"] for d in target.query_items("SELECT c.id FROM c", enable_cross_partition_query=True)}
            carried = documents[:max(0, len(documents) - not_carried)]
            for doc in carried:
                if doc["id"] not in held:
                    target.upsert_item({k: v for k, v in doc.items() if not k.startswith("_")})
        left = documents[len(carried):]
        return {"documents_written": len(documents), "replicated": len(carried), "not_replicated": len(left),
                "not_replicated_ids": [d["id"] for d in left][:5] + (["..."] if len(left) > 5 else [])}

    def facts(self, server: CosmosServer) -> dict[str, Any]:
        """The container's document count and newest `_ts`, as the data checks query them."""
        from smoke_tests.cosmos_db import CANARY_ID

        container = self.container(server)
        with azure_errors(f"cosmos db: read {self.spec.where}"):
            def value(select: str) -> Any:
                return first(list(container.query_items(
                    f"SELECT VALUE {select} FROM c WHERE c.id != @canary",
                    parameters=[{"name": "@canary", "value": CANARY_ID}], enable_cross_partition_query=True)))
            return {"count": value("COUNT(1)") or 0, "max_ts": value("MAX(c._ts)")}

    # -- the control plane: the account's regions -----------------------------------------------
    def priorities(self) -> dict[str, int]:
        try:
            return dict(json.loads((self.workdir / RECORD).read_text())["failover_priorities"])
        except FileNotFoundError:
            return {self.spec.write_region: 0, self.spec.read_region: 1}

    def write_region(self) -> str:
        return min(self.priorities().items(), key=lambda item: item[1])[0]

    def fail_over(self) -> dict[str, Any]:
        """Move the write region to the paired region: its server takes writes, the region list says so."""
        before = self.priorities()
        self.replica.make_writable()
        after = {self.spec.read_region: 0, **{r: p + 1 for r, p in sorted(before.items(), key=lambda i: i[1])
                                               if r != self.spec.read_region}}
        write_atomic(self.workdir / RECORD, json.dumps({"account": self.spec.account, "failover_priorities": after}))
        return {"priorities_before": before, "priorities_after": after}

    def server_of(self, region: str) -> CosmosServer:
        return self.replica if region == self.spec.read_region else self.primary

    def arm_view(self) -> dict[str, Any]:
        """The account as ARM's GET returns it, from the region list: what the checks' probe reads."""
        write = self.write_region()
        server = self.server_of(write)
        ordered = sorted(self.priorities().items(), key=lambda item: item[1])
        return {"id": self.account_id(), "name": self.spec.account, "type": "Microsoft.DocumentDB/databaseAccounts",
                "properties": {
                    "provisioningState": "Succeeded",
                    "documentEndpoint": server.endpoint if server.running else None,
                    "writeLocations": [{"locationName": write, "failoverPriority": 0}],
                    "readLocations": [{"locationName": r, "failoverPriority": p} for r, p in ordered],
                    "failoverPolicies": [{"locationName": r, "failoverPriority": p} for r, p in ordered],
                    "enableAutomaticFailover": True}}

    def account_id(self) -> str:
        return ("/subscriptions/local/resourceGroups/local-region-pair/providers/Microsoft.DocumentDB/"
                f"databaseAccounts/{self.spec.account}")
