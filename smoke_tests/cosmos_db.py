"""Azure Cosmos DB's checks, with azure-cosmos's CosmosClient at the account's `documentEndpoint` (from
its ARM GET) signed in with drctl's credential (the account has local auth off). They run on Azure, and
on a local drill's region pair (orchestrator/targets/local/stores/cosmos.py), whose probe answers the
ARM GET from the local account's region list and points the client at its write region's server:

- smoke `account-read`: ARM says the account Succeeded, the data plane answers its account read (its
  writable and readable regions) and lists the databases, the stack's database among them;
- smoke `canary-upsert-read`: an item with id `drctl-canary` (its partition key the same value) is
  upserted into the stack's container (settings `database`/`container`) with a fresh token, read back
  by id and partition key, its token compared, then deleted;
- data `document-count`: `SELECT VALUE COUNT(1)` per container, the canary left out;
- data `max-ts-watermark`: `SELECT VALUE MAX(c._ts)` per container, the canary left out: the newest
  write the account holds, from which the replay re-sends (the profile's data_recovery).

Both data checks count the containers the baseline recorded (`containers: {"db/container": n}`),
else the stack's own container. A baseline is the state at the replay watermark: every document it
counted must be there and its newest `_ts` reached; more, or newer, is writes made since. Without a
baseline the container must exist and its facts are reported.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from smoke_tests.check import LOCAL_AND_AZURE, LOCAL_SERVER, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "cosmos_db"
ACCOUNT_TYPE = "azure-native:cosmosdb:DatabaseAccount"
CANARY_ID = "drctl-canary"
DEFAULTS = ("platform", "events", "/id")  # CosmosDbSettings' defaults: database, container, partition key path
# The data plane has no example payloads: the tests run each check against a Cosmos DB SQL API server on
# loopback where it is installed, and always against a thin double of the REST API at the transport.
DATA_PLANE = (LOCAL_SERVER + " (@vercel/cosmosdb-server on loopback, when installed) and " + TRANSPORT_DOUBLE
              + "the Cosmos REST API (tests/smoke_tests/cosmos_double.py): the specs have no data-plane payloads")
ARM_AND_DATA_PLANE = "spec examples (CosmosDBDatabaseAccountGet) for ARM; " + DATA_PLANE


def _settings(probe: ServiceProbe) -> tuple[str, str, str]:
    settings = probe.settings
    if settings is None:
        return DEFAULTS
    return settings.database, settings.container, settings.partition_key_path


def account(probe: ServiceProbe) -> tuple[str, dict[str, Any]]:
    """(documentEndpoint, the ARM facts worth reporting)."""
    resource = probe.resource(ACCOUNT_TYPE)
    properties = probe.get(resource).get("properties") or {}
    endpoint = properties.get("documentEndpoint")
    facts = {"id": resource["id"], "provisioningState": properties.get("provisioningState"),
             "write_locations": [loc.get("locationName") for loc in properties.get("writeLocations") or []]}
    if not endpoint:
        raise PermanentError(f"cosmos db: account {resource['id']} reports no documentEndpoint", facts)
    return str(endpoint), facts


def cosmos(probe: ServiceProbe, endpoint: str) -> Any:
    from azure.cosmos import CosmosClient

    return probe.client(CosmosClient, endpoint)


def account_read(probe: ServiceProbe) -> dict:
    endpoint, arm = account(probe)
    if arm["provisioningState"] != "Succeeded":
        raise PermanentError(f"cosmos db: account provisioningState {arm['provisioningState']}, not Succeeded", arm)
    client = cosmos(probe, endpoint)
    read = probe.call(f"read the Cosmos DB account at {endpoint}", client.get_database_account)
    databases = probe.call(f"list the databases of {endpoint}", lambda: sorted(d["id"] for d in client.list_databases()))
    evidence = {**arm, "endpoint": endpoint, "databases": databases,
                "writable_regions": [loc.get("name") for loc in read.WritableLocations],
                "readable_regions": [loc.get("name") for loc in read.ReadableLocations]}
    database = _settings(probe)[0]
    if database not in databases:
        raise PermanentError(f"cosmos db: database {database} missing from the account", evidence)
    if not evidence["writable_regions"]:
        raise PermanentError("cosmos db: the account has no writable region", evidence)
    return evidence


def canary_upsert_read(probe: ServiceProbe) -> dict:
    database, container_name, key_path = _settings(probe)
    client = cosmos(probe, account(probe)[0])
    container = client.get_database_client(database).get_container_client(container_name)
    token = str(uuid.uuid4())
    item = {"id": CANARY_ID, "token": token, "written_by": "drctl smoke check"}
    _set_path(item, key_path, CANARY_ID)
    where = f"{database}/{container_name}"
    probe.call(f"upsert the canary into {where}", container.upsert_item, item)
    read = probe.call(f"read the canary from {where}", container.read_item, CANARY_ID, partition_key=CANARY_ID)
    evidence = {"container": where, "item": CANARY_ID, "partition_key_path": key_path}
    if read.get("token") != token:
        raise PermanentError(f"cosmos db: the canary read back from {where} is not the one written", evidence)
    probe.call(f"delete the canary from {where}", container.delete_item, CANARY_ID, partition_key=CANARY_ID)
    return {**evidence, "read_back": True, "deleted": True}


def _set_path(item: dict[str, Any], path: str, value: str) -> None:
    """item at `path` ("/deviceId", "/a/b") = value."""
    *parents, leaf = path.strip("/").split("/")
    for name in parents:
        item = item.setdefault(name, {})
    item[leaf] = value


def _containers(probe: ServiceProbe, check: str) -> tuple[dict[str, Any], bool]:
    """(the containers to judge, by "db/container", with their recorded fact or None; baseline or not)."""
    recorded = (probe.baseline.get(check) or {}).get("containers")
    if recorded:
        return {str(k): v for k, v in recorded.items()}, True
    database, container, _ = _settings(probe)
    return {f"{database}/{container}": None}, False


def _query_each(probe: ServiceProbe, check: str, select: str) -> tuple[dict[str, Any], dict[str, Any], list[str], bool]:
    """(recorded, found, missing containers, judged against a baseline) for `SELECT VALUE <select>`."""
    wanted, baseline = _containers(probe, check)
    client = cosmos(probe, account(probe)[0])
    found: dict[str, Any] = {}
    missing = []
    for where in sorted(wanted):
        database, _, name = where.partition("/")
        container = client.get_database_client(database).get_container_client(name)
        rows = probe.call(f"query {where}", _values, container, f"SELECT VALUE {select} FROM c WHERE c.id != @canary")
        if rows is None:
            missing.append(f"container {where} missing from the account")
            continue
        found[where] = rows[0] if rows else None
    return wanted, found, missing, baseline


def _values(container: Any, query: str) -> list[Any] | None:
    """The query's values, or None where the container (or its database) does not exist."""
    from azure.cosmos.exceptions import CosmosResourceNotFoundError

    try:
        return list(container.query_items(query, parameters=[{"name": "@canary", "value": CANARY_ID}],
                                          enable_cross_partition_query=True))
    except CosmosResourceNotFoundError:
        return None


def document_count(probe: ServiceProbe) -> tuple[list[str], dict]:
    wanted, found, mismatches, baseline = _query_each(probe, "document-count", "COUNT(1)")
    for where, count in found.items():
        want = wanted[where]
        if want is not None and (count or 0) < int(want):
            mismatches.append(f"{where} holds {count} document(s), {want} were recorded ({int(want) - (count or 0)} missing)")
    return mismatches, {"counts": found, "judged_against": "baseline" if baseline else
                        "no baseline recorded: the stack's container must exist"}


def max_ts_watermark(probe: ServiceProbe) -> tuple[list[str], dict]:
    wanted, found, mismatches, baseline = _query_each(probe, "max-ts-watermark", "MAX(c._ts)")
    for where, newest in found.items():
        want = wanted[where]
        if want is not None and (newest is None or int(newest) < int(want)):
            mismatches.append(f"{where}: newest document written {_iso(newest)}, older than the {_iso(want)} "
                              "recorded: writes after it were lost (the replay re-sends from the watermark)")
    return mismatches, {"max_ts": found, "max_ts_utc": {k: _iso(v) for k, v in found.items()},
                        "judged_against": "baseline" if baseline else "no baseline recorded: for the report"}


def _iso(ts: Any) -> str | None:
    return None if ts is None else datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CHECKS = (
    smoke(COMPONENT, "account-read", account_read, LOCAL_AND_AZURE, tested_against=ARM_AND_DATA_PLANE),
    smoke(COMPONENT, "canary-upsert-read", canary_upsert_read, LOCAL_AND_AZURE, tested_against=DATA_PLANE),
    data(COMPONENT, "document-count", document_count, LOCAL_AND_AZURE, tested_against=DATA_PLANE),
    data(COMPONENT, "max-ts-watermark", max_ts_watermark, LOCAL_AND_AZURE, tested_against=DATA_PLANE),
)
