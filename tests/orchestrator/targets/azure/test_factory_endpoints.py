"""The factory's managed private endpoints to the lake: approved by drctl when Pending, checked Approved
before a replay runs.

Real management clients (Data Factory, Storage) through AzureSession; the socket answers with the
REST specs' ManagedPrivateEndpoints_Get (connectionState Pending) and
StorageAccountListPrivateEndpointConnections / StorageAccountGetPrivateEndpointConnection examples.
Changed here, and said where: the factory's view once approved (status Approved), and one listed
connection made the Pending one from the factory's endpoint (its name and endpoint id), since the
examples' connections are all Approved and named by a placeholder.
"""

from __future__ import annotations

import copy
import json

import pytest

from components.data_factory_network import MANAGED_VNET
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.stores.factory_endpoints import declared_endpoints, lake_endpoints_approved
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

ENDPOINT_GET = "datafactory/resource-manager/Microsoft.DataFactory/stable/2018-06-01/examples/ManagedPrivateEndpoints_Get.json"
STORAGE = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/"
GROUP, FACTORY, ACCOUNT = "rg-contoso-data-ase", "contoso-adf-ase", "contosolakease"
FACTORY_PATH = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.DataFactory/factories/{FACTORY}"
ACCOUNT_PATH = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
CONNECTION = "contoso-adf-ase.lake-dfs-6f1c"


def endpoint_state(status: str) -> dict:
    body = copy.deepcopy(example_body(ENDPOINT_GET))
    body["properties"]["connectionState"]["status"] = status
    return body


def endpoint_route(name: str, *statuses: str) -> Route:
    """The factory's view of endpoint `name`, one status per GET, the last from then on."""
    answers = [endpoint_state(s) for s in statuses]

    def respond(_request):
        return 200, answers.pop(0) if len(answers) > 1 else answers[0], {}

    return Route("GET", f"{FACTORY_PATH}/managedVirtualNetworks/{MANAGED_VNET}/managedPrivateEndpoints/{name}",
                 respond=respond)


def connections_route(pending_from: str = f"{FACTORY}.lake-dfs", status: str = "Pending") -> Route:
    body = copy.deepcopy(example_body(STORAGE + "StorageAccountListPrivateEndpointConnections.json"))
    pending = body["value"][1]
    pending["name"] = CONNECTION
    pending["properties"]["privateEndpoint"]["id"] = (
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/vnet-managed/providers/"
        f"Microsoft.Network/privateEndpoints/{pending_from}")
    pending["properties"]["privateLinkServiceConnectionState"]["status"] = status
    return Route("GET", f"{ACCOUNT_PATH}/privateEndpointConnections", body=body)


def approve_route() -> Route:
    body = copy.deepcopy(example_body(STORAGE + "StorageAccountGetPrivateEndpointConnection.json"))
    body["name"] = CONNECTION
    return Route("PUT", f"{ACCOUNT_PATH}/privateEndpointConnections/{CONNECTION}", body=body)


class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def approve(*routes: Route, endpoints=("lake-dfs",), fake: FakeTime | None = None,
            transport: ExampleTransport | None = None) -> tuple[dict, ExampleTransport]:
    transport = transport or ExampleTransport(list(routes))
    s = AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0)
    fake = fake or FakeTime()
    evidence = lake_endpoints_approved(s.datafactory(), s.storage(), resource_group=GROUP, factory=FACTORY,
                                       account=ACCOUNT, account_group=GROUP, endpoints=endpoints, timeout_s=60,
                                       poll_interval_s=10, sleep=fake.sleep, clock=fake.clock)
    return evidence, transport


def test_an_approved_endpoint_is_left_alone():
    evidence, transport = approve(endpoint_route("lake-dfs", "Approved"))
    assert evidence == {"lake-dfs": {"status": "Approved", "approved_by_drctl": False}}
    assert [r.method for r in transport.requests] == ["GET"]


def test_a_pending_endpoint_is_approved_on_the_lake_then_seen_approved_by_the_factory():
    fake = FakeTime()
    evidence, transport = approve(endpoint_route("lake-dfs", "Pending", "Pending", "Approved"), connections_route(),
                                  approve_route(), fake=fake)
    assert evidence == {"lake-dfs": {"status": "Approved", "approved_by_drctl": True, "connection": CONNECTION}}
    put = next(r for r in transport.requests if r.method == "PUT")
    assert put.url.split("?")[0].endswith(f"/storageAccounts/{ACCOUNT}/privateEndpointConnections/{CONNECTION}")
    assert json.loads(put.body) == {"properties": {"privateLinkServiceConnectionState": {
        "status": "Approved", "description": f"Approved by drctl for data factory {FACTORY}"}}}
    assert fake.sleeps == [10]  # the factory saw it on the second look


def test_the_other_pending_connections_of_the_account_are_not_touched():
    with pytest.raises(PermanentError) as caught:
        approve(endpoint_route("lake-dfs", "Pending"), connections_route(pending_from="someone-elses-endpoint"),
                approve_route())
    assert "no connection from a private endpoint named contoso-adf-ase.lake-dfs" in str(caught.value)
    assert caught.value.evidence["pending_connections"] == [CONNECTION]


def test_a_connection_already_approved_on_the_account_is_waited_for_not_approved_again():
    transport = ExampleTransport([endpoint_route("lake-dfs", "Pending", "Approved"),
                                  connections_route(status="Approved"), approve_route()])
    evidence, _ = approve(transport=transport)
    assert evidence["lake-dfs"] == {"status": "Approved", "approved_by_drctl": False, "connection": CONNECTION}
    assert "PUT" not in [r.method for r in transport.requests]


def test_a_connection_rejected_on_the_account_is_not_overridden():
    transport = ExampleTransport([endpoint_route("lake-dfs", "Pending"), connections_route(status="Rejected"),
                                  approve_route()])
    with pytest.raises(PermanentError, match=f"its connection {CONNECTION} on the account is Rejected"):
        approve(transport=transport)
    assert "PUT" not in [r.method for r in transport.requests]


@pytest.mark.parametrize("status", ["Rejected", "Disconnected"])
def test_a_rejected_endpoint_is_never_approved_over_and_is_named(status):
    transport = ExampleTransport([endpoint_route("lake-blob", status), connections_route(), approve_route()])
    with pytest.raises(PermanentError) as caught:
        approve(endpoints=("lake-blob",), transport=transport)
    message = str(caught.value)
    assert message.startswith(f"managed private endpoint lake-blob of data factory {FACTORY} (to storage account "
                              f"{ACCOUNT}) is {status}, not Approved")
    assert [r.method for r in transport.requests] == ["GET"]  # the account is not even listed


def test_approved_on_the_account_but_not_yet_in_the_factory_is_transient():
    fake = FakeTime()
    with pytest.raises(TransientError, match="approved on the account, still Pending in the factory after 60s"):
        approve(endpoint_route("lake-dfs", "Pending"), connections_route(), approve_route(), fake=fake)
    assert sum(fake.sleeps) == 60


def test_the_endpoints_checked_are_the_ones_the_program_declares(repo_graphs):
    assert declared_endpoints(repo_graphs.get("secondary").resources) == ["lake-blob", "lake-dfs"]


def test_an_account_that_refuses_the_listing_is_a_classified_error():
    refused = Route("GET", f"{ACCOUNT_PATH}/privateEndpointConnections", status=403, body={"error": {
        "code": "AuthorizationFailed", "message": "The client does not have authorization to perform action."}})
    with pytest.raises(PermanentError) as caught:
        approve(endpoint_route("lake-dfs", "Pending"), refused)
    assert caught.value.evidence["error_code"] == "AuthorizationFailed"
    assert "storage account contosolakease: private endpoint connections" in str(caught.value)
