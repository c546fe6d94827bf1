"""What a service declares: its ServiceSpec, and what the stack and the platform offer it.

Every service of the platform, core or optional, is one module `components/<stem>.py` that ends in
a `SERVICE = ServiceSpec(...)`: its config key and settings model (validated with the rest of the
stack file), the function that declares its components in the program, its DR profile, and how its
posture (SKU, which DR uplifts are on) reads from config. components/registry.py lists them all.

Components know nothing of how a stack file is read (stacks/) or run (orchestrator/): they see the
stack through the `StackFacts` protocol, which stacks.config.StackConfig satisfies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pulumi

from components.private_endpoint import private_endpoint
from components.profile import DRProfile
from components.settings import ServiceSettings


class EndpointTwins(Protocol):
    """Who gets a twin of every private endpoint the services open, and the Azure roles their
    checks need (components/runner.RunnerAccess)."""

    def endpoint(self, name: str, platform: Platform, target_id: pulumi.Input[str], group_id: str,
                 zone: str) -> None: ...

    def grant(self, name: str, platform: Platform, scope: pulumi.Input[str], role: str) -> None: ...

__all__ = ["ClientConfig", "Platform", "Posture", "ServiceSettings", "ServiceSpec", "StackFacts"]


class StackFacts(Protocol):
    """What a service may read of its stack (stacks.config.StackConfig is one)."""

    @property
    def stack(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def role(self) -> Literal["primary", "secondary"]: ...
    @property
    def paired_stack(self) -> str: ...
    @property
    def paired_region(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def name_suffix(self) -> str: ...
    @property
    def address_space(self) -> str: ...
    @property
    def paired_prefix(self) -> str | None: ...
    @property
    def paired_name_suffix(self) -> str | None: ...
    @property
    def is_secondary(self) -> bool: ...
    @property
    def runner(self) -> Any:
        """`dataplatform:runner` (components/runner.RunnerSettings), or None when the stack has none."""
        ...
    @property
    def restore(self) -> Any:
        """`dataplatform:restore`: per restored service (lake, postgres), where it is restored from."""
        ...

    def enabled(self, key: str) -> bool:
        """Whether service (or switch) `key` is on in this stack."""
        ...

    def settings_of(self, key: str) -> Any:
        """Service `key`'s validated settings (None for an optional service that is off)."""
        ...


@dataclass(frozen=True)
class Posture:
    """How this stack has one seed service (one SeedFacts row of a profile): the SKU it selected
    and, per uplift option in the row's order, whether it is on (True/False) or cannot be told
    from config (None)."""

    sku: str
    uplift_enabled: tuple[bool | None, ...]


@dataclass(frozen=True)
class ClientConfig:
    """The deploying identity's tenant and subscription."""

    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]


@dataclass
class Platform:
    """What the services declared so far offer the next ones, in the registry's order: each service
    fills in what it provides (the foundation its groups and vaults, connectivity the hub, the lake
    its account), and later ones attach to it."""

    config: StackFacts
    project_dir: Path | None = None
    resource_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # "foundation", "connectivity", "data"
    log_analytics_workspace_id: pulumi.Input[str] | None = None
    key_vault_id: pulumi.Input[str] | None = None
    vnet_id: pulumi.Input[str] | None = None
    subnet_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # components/connectivity.py's *_SUBNET
    private_dns_zone_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # by zone key
    private_endpoint_subnet: str | None = None  # the key of subnet_ids that endpoints go into
    lake_account_id: pulumi.Input[str] | None = None
    lake_account_name: pulumi.Input[str] | None = None
    lake_dfs_endpoint: pulumi.Input[str] | None = None
    event_hubs_namespace_id: pulumi.Input[str] | None = None
    firewall_policy_id: pulumi.Output[str] | None = None
    # The runner's access (components/runner.py), when the stack declares `dataplatform:runner`: every
    # private endpoint opened in the hub gets a twin in the runner's network.
    runner: EndpointTwins | None = None
    # What a service read before anything was declared (its spec's `prepare`), by service key.
    prepared: dict[str, Any] = field(default_factory=dict)
    client: ClientConfig | None = None

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def prefix(self) -> str:
        return self.config.prefix

    @property
    def suffix(self) -> str:
        return self.config.name_suffix

    @property
    def data_group(self) -> pulumi.Input[str]:
        return self.resource_groups["data"]

    def _client(self) -> ClientConfig:
        # Asked of the provider once, and only by a service that needs it.
        if self.client is None:
            from pulumi_azure_native import authorization

            found = authorization.get_client_config_output()
            self.client = ClientConfig(tenant_id=found.tenant_id, subscription_id=found.subscription_id)
        return self.client

    @property
    def tenant_id(self) -> pulumi.Input[str]:
        return self._client().tenant_id

    @property
    def subscription_id(self) -> pulumi.Input[str]:
        return self._client().subscription_id

    def open_privately(self, component: pulumi.Resource, name: str, group: pulumi.Input[str],
                       target_id: pulumi.Input[str], *endpoints: tuple[str, str]) -> None:
        """Private endpoints in the hub for a service closed to the internet: (group id, DNS zone key) each."""
        if self.private_endpoint_subnet is None:
            raise RuntimeError(f"{name}: no hub declared yet to put its private endpoints in")
        for group_id, zone in endpoints:
            private_endpoint(
                f"{name}-pe-{group_id}",
                parent=component,
                location=self.region,
                resource_group_name=group,
                subnet_id=self.subnet_ids[self.private_endpoint_subnet],
                target_id=target_id,
                group_id=group_id,
                dns_zone_id=self.private_dns_zone_ids[zone],
            )
            if self.runner is not None:
                self.runner.endpoint(f"{name}-runner-pe-{group_id}", self, target_id, group_id, zone)

    def grant_runner(self, name: str, scope: pulumi.Input[str], *roles: str) -> None:
        """Built-in Azure roles (components/roles.py) for the runner on `scope`, when the stack has one:
        what drctl's checks of the service need on its data plane."""
        if self.runner is not None:
            for role in roles:
                self.runner.grant(name, self, scope, role)


# always: part of every stack (no switch); on / off: `dataplatform:services.<key>`'s default.
Switch = Literal["always", "on", "off"]
Deploy = Callable[[Platform, Any], Mapping[str, Any]]


def _nothing_to_prepare(platform: Platform, settings: Any) -> None:
    return None


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # camelCase: the config key dataplatform:<key> and the switch services.<key>
    type_token: str  # the ComponentResource type the DR profile belongs to
    profile: DRProfile
    settings: type[ServiceSettings] | None  # None: the service has no key of its own in the stack file
    deploy: Deploy  # declares the service's components; returns its stack outputs
    # One Posture per SeedFacts row of the profile, in order; settings is None when disabled.
    posture: Callable[[StackFacts, Any], tuple[Posture, ...]]
    switch: Switch = "off"
    # Reads what the service needs from the project before anything is declared, so a bad file stops
    # the program with nothing deployed; what it returns is in platform.prepared[key].
    prepare: Callable[[Platform, Any], Any] = _nothing_to_prepare
    # What the reference stack (Pulumi.reference.yaml) sets for this service.
    example: Mapping[str, Any] = field(default_factory=dict)
    # Per azure-native type this service deploys: the input holding the Azure name (for preview).
    physical_names: Mapping[str, str] = field(default_factory=dict)
    # Types whose names are global DNS labels (must differ between stacks).
    globally_unique: frozenset[str] = frozenset()
    # Types that live inside a parent resource and have no location of their own.
    subresources: frozenset[str] = frozenset()
    # The stack roles on which deploy() declares resources (e.g. a Geo-DR alias lives on the
    # primary only); on the others the service contributes its posture and plan steps alone.
    roles: frozenset[str] = frozenset({"primary", "secondary"})
