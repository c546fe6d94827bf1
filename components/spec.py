"""Optional services: each is one module in components/services/ that declares a ServiceSpec.

A spec ties together everything the project knows about a service: its config key and settings
model (validated with the rest of the stack file), the function that declares its components in
the program, its DR profile, and how its posture (SKU, which DR uplifts are on) reads from config.
components/registry.py lists every service explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict

from components.profile import DRProfile

if TYPE_CHECKING:
    from stacks.config import StackConfig


class ServiceSettings(BaseModel):
    """Base of every service's settings model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class Posture:
    """How this stack has one seed service (one SeedFacts row of a profile): the SKU it selected
    and, per uplift option in the row's order, whether it is on (True/False) or cannot be told
    from config (None)."""

    sku: str
    uplift_enabled: tuple[bool | None, ...]


@dataclass(frozen=True)
class PlatformContext:
    """What the core platform hands an optional service: where to deploy and what to attach to."""

    config: "StackConfig"
    resource_groups: Mapping[str, pulumi.Input[str]]  # layer -> name ("foundation", "connectivity", "data")
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    log_analytics_workspace_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    subnet_ids: Mapping[str, pulumi.Input[str]]  # by subnet name: components/connectivity.py's *_SUBNET
    lake_account_id: pulumi.Input[str] | None = None
    lake_account_name: pulumi.Input[str] | None = None
    lake_dfs_endpoint: pulumi.Input[str] | None = None
    event_hubs_namespace_id: pulumi.Input[str] | None = None
    project_dir: Path | None = None

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


Deploy = Callable[[PlatformContext, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # camelCase: the config key dataplatform:<key> and the toggle services.<key>
    settings: type[ServiceSettings]
    profile: DRProfile
    deploy: Deploy  # declares the service's components; returns its stack outputs
    # One Posture per SeedFacts row of the profile, in order; settings is None when disabled.
    posture: Callable[["StackConfig", Any], tuple[Posture, ...]]
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


def service_specs() -> dict[str, ServiceSpec]:
    """Every optional service's spec, by key, in the registry's order."""
    from components.registry import OPTIONAL

    specs: dict[str, ServiceSpec] = {}
    for spec in OPTIONAL:
        if spec.key in specs:
            raise ValueError(f"two service modules declare the key {spec.key!r}")
        specs[spec.key] = spec
    return specs


def physical_name_inputs() -> dict[str, str]:
    """The core table (components/naming.py) and every service's, merged."""
    from components.naming import PHYSICAL_NAME_INPUTS

    merged = dict(PHYSICAL_NAME_INPUTS)
    for spec in service_specs().values():
        merged.update(spec.physical_names)
    return merged


def globally_unique_types() -> frozenset[str]:
    from components.naming import GLOBALLY_UNIQUE_TYPES

    return GLOBALLY_UNIQUE_TYPES.union(*(spec.globally_unique for spec in service_specs().values()))


def subresource_types(core: frozenset[str]) -> frozenset[str]:
    return core.union(*(spec.subresources for spec in service_specs().values()))
