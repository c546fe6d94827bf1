"""Data Factory's managed private endpoints to the lake: Approved before a pipeline runs through them.

A managed private endpoint (components/data_factory_network.py) starts with its connection Pending
on the target account (the REST spec's ManagedPrivateEndpoints_Get example shows it so), and every
Copy through it fails until the account approves it. The program cannot approve it (the
connection's name on the account is the service's choice, known once the endpoint exists), so drctl
does, here: factory and lake are in the same subscription and drctl deployed both. Approving takes
Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action on the account, which
Contributor carries.
https://learn.microsoft.com/azure/data-factory/managed-virtual-network-private-endpoint
https://learn.microsoft.com/rest/api/storagerp/private-endpoint-connections/put

Only a Pending connection is approved. Rejected or Disconnected is someone's decision (or an
endpoint gone): drctl fails naming the endpoint rather than override it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from components.data_factory_network import MANAGED_VNET
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.errors import call

APPROVED, PENDING = "Approved", "Pending"
ENDPOINT_TYPE = "azure-native:datafactory:ManagedPrivateEndpoint"


def declared_endpoints(resources: Iterable[Mapping[str, object]]) -> list[str]:
    """The managed private endpoint names of a captured graph's resources (the program's)."""
    return sorted({str(r["physical_name"]) for r in resources
                   if r.get("type") == ENDPOINT_TYPE and r.get("physical_name")})


def lake_endpoints_approved(adf: Any, storage: Any, *, resource_group: str, factory: str, account: str,
                            account_group: str, endpoints: Iterable[str], timeout_s: float = 300.0,
                            poll_interval_s: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                            clock: Callable[[], float] = time.monotonic) -> dict[str, dict]:
    """Each endpoint's connection, approved on `account` by drctl when it was Pending; evidence by name.

    Raises PermanentError naming the endpoint when it cannot be made Approved, TransientError when
    approved on the account but not yet Approved in the factory after `timeout_s`."""
    evidence = {}
    for endpoint in endpoints:
        where = f"managed private endpoint {endpoint} of data factory {factory} (to storage account {account})"
        status = endpoint_status(adf, resource_group, factory, endpoint)
        if status == APPROVED:
            evidence[endpoint] = {"status": APPROVED, "approved_by_drctl": False}
            continue
        if status != PENDING:
            raise PermanentError(f"{where} is {status or 'without a connection state'}, not Approved: the pipeline "
                                 "cannot reach the lake through it, and drctl approves only a Pending connection; "
                                 "recreate the endpoint (pulumi up) or approve it on the account's Networking page",
                                 {"endpoint": endpoint, "status": status})
        connection, on_account = connection_from(storage, account_group, account, factory, endpoint, where)
        if on_account == PENDING:
            call(f"{where}: approve connection {connection}", storage.private_endpoint_connections.put,
                 account_group, account, connection, _approval(f"Approved by drctl for data factory {factory}"))
        elif on_account != APPROVED:  # approved on the account already: the factory has yet to see it
            raise PermanentError(f"{where} is Pending, and its connection {connection} on the account is "
                                 f"{on_account}: drctl does not override that; approve it on the account's "
                                 "Networking page if it should be, then run the step again",
                                 {"endpoint": endpoint, "connection": connection, "status_on_account": on_account})
        status = _wait_approved(adf, resource_group, factory, endpoint, where, timeout_s=timeout_s,
                                poll_interval_s=poll_interval_s, sleep=sleep, clock=clock)
        evidence[endpoint] = {"status": status, "approved_by_drctl": on_account == PENDING, "connection": connection}
    return evidence


def endpoint_status(adf: Any, resource_group: str, factory: str, endpoint: str) -> str | None:
    found = call(f"data factory {factory}: managed private endpoint {endpoint}", adf.managed_private_endpoints.get,
                 resource_group, factory, MANAGED_VNET, endpoint)
    state = getattr(getattr(found, "properties", None), "connection_state", None)
    return _text(getattr(state, "status", None))


def connection_from(storage: Any, account_group: str, account: str, factory: str, endpoint: str,
                    where: str) -> tuple[str, str | None]:
    """The account's connection that comes from `endpoint`: its name and its status on the account.

    The service names the private endpoint behind a managed one `<factory>.<managed endpoint>` in
    its own subscription, so the connection is recognised by the last segment of its endpoint's id."""
    # The pager calls the service as it is iterated: inside `call`, so its errors are classified.
    connections = call(f"storage account {account}: private endpoint connections",
                       lambda: list(storage.private_endpoint_connections.list(account_group, account)))
    expected = f"{factory}.{endpoint}".lower()
    for connection in connections:
        endpoint_id = getattr(getattr(connection, "private_endpoint", None), "id", None) or ""
        if endpoint_id.rstrip("/").rsplit("/", 1)[-1].lower() == expected:
            return str(connection.name), _state(connection)
    pending = sorted(str(c.name) for c in connections if _state(c) == PENDING)
    raise PermanentError(f"{where} is Pending, and storage account {account} has no connection from a private "
                         f"endpoint named {factory}.{endpoint}: approve the factory's connection on the account's "
                         "Networking page, then run the step again",
                         {"endpoint": endpoint, "pending_connections": pending})


def _approval(description: str) -> Any:
    from azure.mgmt.storage import models

    state = models.PrivateLinkServiceConnectionState(status=APPROVED, description=description)
    return models.PrivateEndpointConnection(
        properties=models.PrivateEndpointConnectionProperties(private_link_service_connection_state=state))


def _state(connection: Any) -> str | None:
    return _text(getattr(getattr(connection, "private_link_service_connection_state", None), "status", None))


def _text(status: Any) -> str | None:
    """A status as the service spells it (the SDKs give some as str enums)."""
    return None if status is None else str(getattr(status, "value", status))


def _wait_approved(adf: Any, resource_group: str, factory: str, endpoint: str, where: str, *, timeout_s: float,
                   poll_interval_s: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> str:
    """The factory sees the account's approval a little later: poll its view, within `timeout_s`."""
    deadline = clock() + timeout_s
    while True:
        status = endpoint_status(adf, resource_group, factory, endpoint)
        if status == APPROVED:
            return status
        left = deadline - clock()
        if left <= 0:
            raise TransientError(f"{where}: approved on the account, still {status} in the factory after "
                                 f"{timeout_s:.0f}s")
        sleep(min(poll_interval_s, left))
