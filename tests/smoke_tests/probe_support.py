"""A ServiceProbe for check tests: the real management and data-plane SDK clients, answering from the
Azure REST API specs' example payloads (tests/azure_fixtures.ExampleTransport), or from a thin double
at the transport where no example exists (the test then says so)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from azure.mgmt.resource.resources import ResourceManagementClient

from orchestrator.targets.azure.errors import call
from orchestrator.targets.azure.stores.replay import run_pipeline
from smoke_tests.probe import ServiceProbe
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route

GROUP = "rg-dr-data"


def arm_id(provider_type: str, name: str, group: str = GROUP) -> str:
    """An ARM id in the test subscription: arm_id("Microsoft.KeyVault/vaults", "kv1")."""
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{provider_type}/{name}"


def deployed(type_token: str, resource_id: str, api_version: str = "2024-01-01") -> dict[str, Any]:
    return {"type": type_token, "id": resource_id, "urn": f"urn:{type_token}:{resource_id.rsplit('/', 1)[-1]}",
            "api_version": api_version}


def service_probe(component: str, routes: list[Route], resources: Sequence[Mapping[str, Any]] = (), *,
                  settings: Any = None, connectors: Mapping[str, Callable[..., Any]] | None = None,
                  baseline: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None,
                  ) -> tuple[ServiceProbe, ExampleTransport]:
    transport = ExampleTransport(routes)
    credential = FakeCredential()
    arm = ResourceManagementClient(credential, SUBSCRIPTION, transport=transport, retry_total=0)
    probe = ServiceProbe(component, call, credential, arm, tuple(resources), settings=settings,
                         names={"prefix": "dp", "suffix": "sec", "region": "westus", "subscription": SUBSCRIPTION,
                                "data_group": GROUP, **(names or {})},
                         client_kwargs={"transport": transport, "retry_total": 0},
                         connectors={"run_pipeline": run_pipeline, **(connectors or {})}, baseline=dict(baseline or {}))
    return probe, transport
