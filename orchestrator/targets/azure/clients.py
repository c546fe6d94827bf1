"""One credential, one subscription, the management clients drctl needs on Azure.

Clients are built on first use and kept (nothing is created at import time, and the azure-mgmt
packages are imported only when a client is asked for). Every client gets the same optional
`transport=` (tests pass tests/azure_fixtures.ExampleTransport, so the real SDK pipeline runs
against recorded example payloads) and the same keyword arguments (e.g. `retry_total`).

One credential is shared by every client, as azure-identity recommends:
https://learn.microsoft.com/azure/developer/python/sdk/authentication/overview
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

# Azure Resource Manager in the public cloud; a sovereign cloud passes its own `base_url`.
DEFAULT_BASE_URL = "https://management.azure.com"

# attribute -> (module, class, takes a subscription id). SubscriptionClient is the exception: it
# lists the subscriptions and locations a credential can see, so it takes no subscription id.
_CLIENTS: dict[str, tuple[str, str, bool]] = {
    "subscriptions": ("azure.mgmt.resource.subscriptions", "SubscriptionClient", False),
    # azure-mgmt-resource >= 26 moved the client here; the top-level package exports nothing.
    "resources": ("azure.mgmt.resource.resources", "ResourceManagementClient", True),
    "compute": ("azure.mgmt.compute", "ComputeManagementClient", True),
    "network": ("azure.mgmt.network", "NetworkManagementClient", True),
    "storage": ("azure.mgmt.storage", "StorageManagementClient", True),
    "postgres": ("azure.mgmt.postgresqlflexibleservers", "PostgreSQLManagementClient", True),
    "sql": ("azure.mgmt.sql", "SqlManagementClient", True),
    "cosmos": ("azure.mgmt.cosmosdb", "CosmosDBManagementClient", True),
    "eventhub": ("azure.mgmt.eventhub", "EventHubManagementClient", True),
    "recovery_services": ("azure.mgmt.recoveryservices", "RecoveryServicesClient", True),
    "datafactory": ("azure.mgmt.datafactory", "DataFactoryManagementClient", True),
}


class AzureSession:
    """The management clients for one subscription, from one credential."""

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        *,
        transport: Any = None,
        base_url: str = DEFAULT_BASE_URL,
        **client_kwargs: Any,
    ) -> None:
        if not subscription_id or "/" in subscription_id:
            raise ValueError(f"subscription id {subscription_id!r} is not a bare id")
        self.credential = credential
        self.subscription_id = subscription_id
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.client_kwargs = dict(client_kwargs)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, subscription_id: str, **kwargs: Any) -> AzureSession:
        """DefaultAzureCredential: environment, workload identity, managed identity, Azure CLI...

        Creating it contacts nothing; the first token request does.
        """
        from azure.identity import DefaultAzureCredential

        return cls(DefaultAzureCredential(), subscription_id, **kwargs)

    @property
    def management_scope(self) -> str:
        return f"{self.base_url}/.default"

    def management_token(self) -> AccessToken:
        """A token for Azure Resource Manager (an AccessToken); raises what the credential raises."""
        return self.credential.get_token(self.management_scope)

    def client(self, name: str) -> Any:
        if name not in _CLIENTS:
            raise KeyError(f"no client {name!r} (known: {', '.join(_CLIENTS)})")
        with self._lock:
            if name not in self._clients:
                module, cls_name, with_subscription = _CLIENTS[name]
                cls = getattr(import_module(module), cls_name)
                kwargs = dict(self.client_kwargs, base_url=self.base_url)
                if self.transport is not None:
                    kwargs["transport"] = self.transport
                args = (self.credential, self.subscription_id) if with_subscription else (self.credential,)
                self._clients[name] = cls(*args, **kwargs)
            return self._clients[name]

    def subscriptions(self) -> Any:
        return self.client("subscriptions")

    def resources(self) -> Any:
        return self.client("resources")

    def compute(self) -> Any:
        return self.client("compute")

    def network(self) -> Any:
        return self.client("network")

    def storage(self) -> Any:
        return self.client("storage")

    def postgres(self) -> Any:
        return self.client("postgres")

    def sql(self) -> Any:
        return self.client("sql")

    def cosmos(self) -> Any:
        return self.client("cosmos")

    def eventhub(self) -> Any:
        return self.client("eventhub")

    def recovery_services(self) -> Any:
        return self.client("recovery_services")

    def datafactory(self) -> Any:
        return self.client("datafactory")

    def close(self) -> None:
        """Close the clients built so far (and the credential, when it can be closed)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        close = getattr(self.credential, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> AzureSession:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
