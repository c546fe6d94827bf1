"""The probe an Azure check gets when its service needs nothing more particular: what the component's
deploy step created, a way to read each resource from Azure Resource Manager, and a way to build the
service's own SDK client (or a REST call) with drctl's credential.

Every client built here gets the probe's `client_kwargs` (tests pass `transport=`: an
azure-core transport answering with the Azure REST API specs' example payloads, so the SDK's real
pipeline runs). Protocol clients that are not azure-core (TDS for SQL, MySQL's wire protocol, AMQP)
are opened through `connectors`, which tests replace by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smoke_tests.check import Call, PermanentError, TransientError

IN_PROGRESS = frozenset({"Accepted", "Creating", "Updating", "Provisioning", "Migrating", "Upgrading",
                         "Scaling", "Starting", "Restarting", "Resuming", "Registering"})


@dataclass(frozen=True)
class ServiceProbe:
    component: str
    call: Call  # call(what, fn, *args, **kwargs): the SDK's errors as TransientError / PermanentError
    credential: Any  # an azure-core TokenCredential
    arm: Any  # azure.mgmt.resource ResourceManagementClient, for resources.get_by_id
    deployed: Sequence[Mapping[str, Any]] = ()  # the deploy step's records: {"type", "id", "urn", "api_version"}
    api_version: Callable[[Mapping[str, Any]], str] = lambda resource: str(resource.get("api_version") or "")
    settings: Any = None  # the component's settings model from the stack file, when it has one
    names: Mapping[str, str] = field(default_factory=dict)  # prefix, suffix, region, subscription, groups
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    connectors: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    # Facts recorded of the same component before the disaster (a rehearsal's or a backup's manifest),
    # by check name; a data check judges against them when present, against the settings otherwise.
    baseline: Mapping[str, Any] = field(default_factory=dict)

    # -- what the deploy created ---------------------------------------------------------------------
    def resources_of(self, type_token: str) -> list[Mapping[str, Any]]:
        """The deployed resources of one Pulumi type ("azure-native:keyvault:Vault")."""
        return [r for r in self.deployed if r.get("type") == type_token]

    def resource(self, type_token: str) -> Mapping[str, Any]:
        found = self.resources_of(type_token)
        if not found:
            raise PermanentError(f"{self.component}: its deploy step recorded no {type_token.rsplit(':', 1)[-1]} "
                                 "to check", {"type": type_token})
        return found[0]

    def get(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """The resource as ARM returns it (a dict: id, name, location, properties, sku...)."""
        resource_id = str(resource["id"])
        got = self.call(f"get {resource_id}", self.arm.resources.get_by_id, resource_id,
                        api_version=self.api_version(resource))
        return got.as_dict() if hasattr(got, "as_dict") else dict(got)

    def properties(self, type_token: str) -> dict[str, Any]:
        return self.get(self.resource(type_token)).get("properties") or {}

    # -- the service's own clients -------------------------------------------------------------------
    def client(self, cls: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An azure-core data-plane client, e.g. client(SecretClient, vault_url)."""
        return cls(*args, credential=self.credential, **{**self.client_kwargs, **kwargs})

    def connector(self, name: str, default: Callable[..., Any]) -> Callable[..., Any]:
        return self.connectors.get(name, default)

    def token(self, scope: str) -> str:
        return str(self.credential.get_token(scope).token)

    def rest(self, base_url: str, scope: str | None) -> RestClient:
        """scope None: an anonymous API (a public status page), called without a token."""
        return RestClient(base_url, scope, self)


class RestClient:
    """JSON over an azure-core pipeline, for the services drctl's users reach by REST (Databricks,
    Fabric, Power BI): bearer token, retries and the probe's transport, as an SDK client has."""

    def __init__(self, base_url: str, scope: str | None, probe: ServiceProbe) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline import policies

        self.base_url = base_url.rstrip("/")
        self.probe = probe
        auth = [policies.BearerTokenCredentialPolicy(probe.credential, scope)] if scope else []
        kwargs = dict(probe.client_kwargs)
        self.client: Any = PipelineClient(self.base_url, policies=[
            policies.HeadersPolicy(), policies.RetryPolicy(**{k: v for k, v in kwargs.items() if k.startswith("retry_")}),
            *auth, policies.ContentDecodePolicy()], transport=kwargs.get("transport"))

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        from azure.core.rest import HttpRequest

        request = HttpRequest(method, f"{self.base_url}/{path.lstrip('/')}", json=json, params=dict(params or {}))
        response = self.probe.call(f"{method} {self.base_url}/{path.lstrip('/')}", self.client.send_request, request)
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"{method} {path}: HTTP {status}")
        if status >= 400:
            raise PermanentError(f"{method} {path}: HTTP {status}", {"status": status, "body": response.text()[:300]})
        return response.json() if response.content else None


def provisioned(probe: ServiceProbe, type_token: str, field_name: str = "provisioningState",
                want: frozenset[str] = frozenset({"Succeeded"}), coming: frozenset[str] = IN_PROGRESS) -> dict:
    """A management-plane check: the deployed resource's `field_name` is in `want`. A state on its way
    there is worth another attempt; anything else is a verdict."""
    resource = probe.resource(type_token)
    got = probe.get(resource)
    state = (got.get("properties") or {}).get(field_name)
    name = str(resource["id"]).rsplit("/", 1)[-1]
    evidence = {"id": resource["id"], field_name: state}
    if state in want:
        return evidence
    if state in coming:
        raise TransientError(f"{probe.component} {name}: {field_name} {state}, not {'/'.join(sorted(want))} yet")
    raise PermanentError(f"{probe.component} {name}: {field_name} {state}, not {'/'.join(sorted(want))}", evidence)
