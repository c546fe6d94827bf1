"""Cosmos DB's checks. The account's ARM GET replays the specs' CosmosDBDatabaseAccountGet example
through the real ARM client; the data plane is azure-cosmos's CosmosClient, each test run twice: against
a Cosmos DB SQL API server on loopback (cosmos_server.py: drctl's own launcher of @vercel/cosmosdb-server,
skipped where it is not installed), and against a thin double of the Cosmos REST API at the transport (cosmos_double.py),
since the specs have no data-plane payloads."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from components.cosmos_db import CosmosDbSettings
from smoke_tests.check import PermanentError
from smoke_tests.cosmos_db import (
    ACCOUNT_TYPE,
    CANARY_ID,
    CHECKS,
    account_read,
    canary_upsert_read,
    document_count,
    max_ts_watermark,
)
from tests.azure_fixtures import FakeCredential, Route, example_body
from tests.smoke_tests.cosmos_double import CosmosDouble
from tests.smoke_tests.cosmos_server import CosmosServer, serve
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

ACCOUNT_GET = "cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/stable/2026-07-15/examples/CosmosDBDatabaseAccountGet.json"
ACCOUNT_ID = arm_id("Microsoft.DocumentDB/databaseAccounts", "dp-cosmos-sec")


@pytest.fixture(scope="module")
def local_server(tmp_path_factory) -> Iterator[CosmosServer]:
    yield from serve(tmp_path_factory.mktemp("cosmos"))


@pytest.fixture(scope="module", params=["local-server", "rest-double"])
def server(request) -> CosmosServer | CosmosDouble:
    return CosmosDouble() if request.param == "rest-double" else request.getfixturevalue("local_server")


def _account(endpoint: str | None, state: str = "Succeeded") -> dict:
    body = copy.deepcopy(example_body(ACCOUNT_GET))
    body["properties"]["provisioningState"] = state
    if endpoint is None:
        del body["properties"]["documentEndpoint"]
    else:
        body["properties"]["documentEndpoint"] = endpoint
    return body


def _probe(server: CosmosServer | CosmosDouble | None, settings: CosmosDbSettings, baseline=None, *, state: str = "Succeeded"):
    endpoint = server.endpoint if server else "https://ddb1.documents.azure.com:443/"
    probe, transport = service_probe("cosmos_db", [Route("GET", f"(?i){ACCOUNT_ID}", body=_account(endpoint, state))],
                                     [deployed(ACCOUNT_TYPE, ACCOUNT_ID, "2026-07-15")], settings=settings,
                                     baseline=baseline)
    if server is not None:  # ARM stays on the example transport; the data plane goes to the server
        probe = dataclasses.replace(probe, client_kwargs=server.client_kwargs())
    return probe, transport


def _settings(partition_key: str = "/deviceId") -> CosmosDbSettings:
    # A database of its own per test: the server is shared by the module.
    return CosmosDbSettings.model_validate({"database": f"db{uuid.uuid4().hex[:10]}", "container": "events",
                                           "partitionKeyPath": partition_key})


def _seed(server: CosmosServer | CosmosDouble, settings: CosmosDbSettings, count: int, *, canary: bool = False) -> list[dict]:
    from azure.cosmos import CosmosClient, PartitionKey

    client = CosmosClient(server.endpoint, credential=FakeCredential(), **server.client_kwargs())
    database = client.create_database_if_not_exists(settings.database)
    container = database.create_container_if_not_exists(settings.container, PartitionKey(path=settings.partition_key_path))
    items = [container.upsert_item({"id": f"e{i}", "deviceId": f"d{i % 2}", "v": i}) for i in range(count)]
    if canary:
        container.upsert_item({"id": CANARY_ID, "deviceId": CANARY_ID})
    return items


# -- account-read ----------------------------------------------------------------------------------------
def test_the_account_answers_and_lists_the_stacks_database(server):
    settings = _settings()
    _seed(server, settings, 0)
    probe, transport = _probe(server, settings)
    evidence = account_read(probe)
    assert settings.database in evidence["databases"] and evidence["writable_regions"]
    assert evidence["endpoint"] == server.endpoint and evidence["write_locations"] == ["East US"]
    assert "api-version=2026-07-15" in transport.requests[0].url


def test_an_account_without_the_stacks_database_fails(server):
    settings = _settings()
    with pytest.raises(PermanentError, match=f"database {settings.database} missing"):
        account_read(_probe(server, settings)[0])


def test_an_account_not_succeeded_fails_before_the_data_plane_is_called():
    with pytest.raises(PermanentError, match="provisioningState Updating, not Succeeded"):
        account_read(_probe(None, _settings(), state="Updating")[0])


def test_an_account_without_a_document_endpoint_fails_naming_it():
    probe, _ = service_probe("cosmos_db", [Route("GET", f"(?i){ACCOUNT_ID}", body=_account(None))],
                             [deployed(ACCOUNT_TYPE, ACCOUNT_ID)])
    with pytest.raises(PermanentError, match="reports no documentEndpoint"):
        account_read(probe)


# -- canary-upsert-read ----------------------------------------------------------------------------------
# A nested path (/device/site) is left out: the local server finds no item by a nested partition key
# on a point read, which Cosmos DB does.
@pytest.mark.parametrize("partition_key", ["/deviceId", "/id"])
def test_the_canary_is_written_read_back_and_removed(server, partition_key):
    settings = _settings(partition_key)
    _seed(server, settings, 0)
    evidence = canary_upsert_read(_probe(server, settings)[0])
    assert evidence == {"container": f"{settings.database}/events", "item": CANARY_ID,
                        "partition_key_path": partition_key, "read_back": True, "deleted": True}
    assert document_count(_probe(server, settings, {"document-count": {"containers": {
        f"{settings.database}/events": 0}}})[0])[1]["counts"] == {f"{settings.database}/events": 0}


def test_a_container_that_is_not_there_fails_the_canary(server):
    settings = _settings()
    with pytest.raises(PermanentError, match=f"upsert the canary into {settings.database}/events"):
        canary_upsert_read(_probe(server, settings)[0])


# -- document-count and max-ts-watermark ----------------------------------------------------------------
def test_every_recorded_document_is_counted_and_the_canary_is_not(server):
    settings = _settings()
    _seed(server, settings, 3, canary=True)
    where = f"{settings.database}/events"
    mismatches, facts = document_count(_probe(server, settings, {"document-count": {"containers": {where: 3}}})[0])
    assert mismatches == [] and facts == {"counts": {where: 3}, "judged_against": "baseline"}


def test_fewer_documents_than_recorded_is_a_mismatch(server):
    settings = _settings()
    _seed(server, settings, 3)
    where = f"{settings.database}/events"
    mismatches, _ = document_count(_probe(server, settings, {"document-count": {"containers": {where: 5}}})[0])
    assert mismatches == [f"{where} holds 3 document(s), 5 were recorded (2 missing)"]


def test_a_recorded_container_the_account_lacks_is_a_mismatch(server):
    settings = _settings()
    _seed(server, settings, 1)
    gone = f"{settings.database}/orders"
    mismatches, _ = document_count(_probe(server, settings, {"document-count": {"containers": {gone: 1}}})[0])
    assert mismatches == [f"container {gone} missing from the account"]


def test_without_a_baseline_the_stacks_container_must_exist(server):
    settings = _settings()
    mismatches, facts = document_count(_probe(server, settings)[0])
    assert mismatches == [f"container {settings.database}/events missing from the account"]
    assert facts["judged_against"].startswith("no baseline")


def test_the_newest_write_reaches_the_recorded_watermark(server):
    settings = _settings()
    items = _seed(server, settings, 2, canary=True)
    where, newest = f"{settings.database}/events", max(item["_ts"] for item in items)
    mismatches, facts = max_ts_watermark(_probe(server, settings, {"max-ts-watermark": {"containers": {where: newest}}})[0])
    assert mismatches == [] and facts["max_ts"] == {where: newest} and facts["max_ts_utc"][where].endswith("Z")


def test_a_newest_write_older_than_recorded_is_a_mismatch(server):
    settings = _settings()
    items = _seed(server, settings, 2)
    where, newest = f"{settings.database}/events", max(item["_ts"] for item in items)
    mismatches, _ = max_ts_watermark(_probe(server, settings, {"max-ts-watermark": {"containers": {where: newest + 60}}})[0])
    assert len(mismatches) == 1 and mismatches[0].startswith(f"{where}: newest document written ")
    assert "writes after it were lost" in mismatches[0]


def test_an_empty_container_has_no_watermark_to_reach(server):
    settings = _settings()
    _seed(server, settings, 0, canary=True)
    where = f"{settings.database}/events"
    mismatches, facts = max_ts_watermark(_probe(server, settings, {"max-ts-watermark": {"containers": {where: 1}}})[0])
    assert facts["max_ts"] == {where: None} and mismatches[0].startswith(f"{where}: newest document written None")


def test_every_check_is_implemented_and_says_what_it_was_tested_against():
    assert all(check.implemented and "local server" in check.tested_against for check in CHECKS)


def test_the_local_server_is_reached_over_verified_tls(local_server, tmp_path):
    from azure.core.exceptions import ServiceRequestError
    from azure.cosmos import CosmosClient

    from orchestrator.targets.local.servers.cosmos import write_certificate

    other_ca = write_certificate(tmp_path)[1]
    kwargs = {**local_server.client_kwargs(), "connection_verify": str(other_ca)}
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        CosmosClient(local_server.endpoint, credential=FakeCredential(), **kwargs)
