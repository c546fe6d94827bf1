"""The shape of a stack file's own `dataplatform:` keys, as pydantic models (aliases are the YAML keys).

Each service's settings (`dataplatform:lake`, `dataplatform:databricks`, ...) are the service's own
model, in components/<stem>.py; stacks/config.py validates them against the registry.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.lake import LakeRestore
from components.postgres import PostgresRestore
from components.runner import RunnerSettings
from stacks.regions import AZURE_REGIONS

# The seeds' stateful and stateless foundational services that every data platform relies on.
DEFAULT_SAAS = (
    "entra_id", "subscriptions", "management_groups", "azure_devops",
    "azure_monitor", "cost_management", "defender_for_cloud",
)

# The smallest hub that still fits the subnets carved in components/hub_layout.py.
MAX_PREFIX_LENGTH = 22


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RecoveryTargets(_Model):
    rto_minutes: int = Field(240, alias="rtoMinutes", gt=0)
    rpo_minutes: int = Field(60, alias="rpoMinutes", gt=0)


class RestoreSources(_Model):
    postgres: PostgresRestore | None = None
    lake: LakeRestore | None = None


class FallbackConfig(_Model):
    """How `drctl fallback` returns to this (primary) stack once its region is healthy again."""

    # The seed's parallel run: both regions ingest and are compared before the secondary goes.
    parallel_run_minutes: int = Field(60, alias="parallelRunMinutes", ge=0, le=7 * 24 * 60)
    # decommission: the secondary's resources are removed; strip-back: its data services are
    # stopped and emptied, the foundation and network stay for the next failover.
    secondary_strategy: Literal["decommission", "strip-back"] = Field("strip-back", alias="secondaryStrategy")
    # How users reach the platform: Traffic Manager endpoint priorities, a DNS record, or a person.
    traffic_switch: Literal["traffic-manager", "dns", "manual"] = Field("manual", alias="trafficSwitch")


class StackValues(_Model):
    """The stack's own keys without their namespace, as a single validated object."""

    location: str
    role: Literal["primary", "secondary"]
    paired_stack: str = Field(alias="pairedStack", pattern=r"^[A-Za-z0-9_.-]+$")
    paired_region: str = Field(alias="pairedRegion")
    prefix: str = Field(pattern=r"^[a-z][a-z0-9]{1,9}$")
    name_suffix: str = Field(alias="nameSuffix", pattern=r"^[a-z0-9]{2,6}$")
    address_space: str = Field(alias="addressSpace")
    # Switches: services.<key> for every service that has one (components/registry.py), and
    # services.firewall for the hub's firewall; checked against the registry by stacks/config.py.
    services: dict[str, Any] = Field(default_factory=dict)
    recovery: RecoveryTargets = RecoveryTargets()
    restore: RestoreSources = RestoreSources()
    fallback: FallbackConfig = FallbackConfig()
    # Where drctl runs on the day (components/runner.py). Optional here so that a stack without it
    # still previews; `drctl coverage` fails on its absence and names the key.
    runner: RunnerSettings | None = None
    # The Microsoft-recovered and SaaS services (components/catalog.py) the platform relies on:
    # each gets a readiness check or a manual confirmation step in the plan.
    saas: tuple[str, ...] = DEFAULT_SAAS

    @field_validator("location", "paired_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in AZURE_REGIONS:
            raise ValueError(f"unknown Azure region {region!r} (use the programmatic name, e.g. australiaeast)")
        return region

    @field_validator("name_suffix")
    @classmethod
    def _no_reserved_ending(cls, suffix: str) -> str:
        # The Event Hubs namespace is <prefix>-evh-<suffix>, and Service Bus reserves names ending in
        # -sb or -mgmt for its management endpoints (components/naming.py).
        if suffix in ("sb", "mgmt"):
            raise ValueError(f"{suffix!r} would end the Event Hubs namespace name in -{suffix}, which Azure reserves")
        return suffix

    @field_validator("address_space")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR block ({exc})") from None
        if network.version != 4 or not network.is_private:
            raise ValueError(f"{value} must be a private IPv4 range")
        if network.prefixlen > MAX_PREFIX_LENGTH:
            raise ValueError(f"{value} is too small: the hub needs at least a /{MAX_PREFIX_LENGTH}")
        return value
