"""The rules no single key can check: between the keys of one stack, and against its paired stack.

Each key's own shape is its model's business (stacks/schema.py, the services' settings); these
rules run once every key has been validated, on the assembled StackConfig (stacks/config.py).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from components.errors import ConfigError
from components.hub_layout import carve_hub
from stacks.stack_file import LOCATION_KEY, NAMESPACE

if TYPE_CHECKING:
    from stacks.stack_config import StackConfig


def check_cross_key_rules(config: StackConfig) -> None:
    if config.paired_region == config.region:
        raise ConfigError(config.source, f"{NAMESPACE}:pairedRegion", f"must differ from {LOCATION_KEY} ({config.region})")
    if config.paired_stack == config.stack:
        raise ConfigError(config.source, f"{NAMESPACE}:pairedStack", "must name the other stack, not this one")
    if config.restore.postgres is not None and not config.enabled("postgres"):
        raise ConfigError(config.source, f"{NAMESPACE}:restore", "restores PostgreSQL but services.postgres is off")
    if config.enabled("postgres") and config.postgres.entra_admin is None:
        # password_auth is Disabled (components/postgres.py): without an Entra administrator nobody,
        # drctl included, can ever sign in to the server.
        raise ConfigError(config.source, f"{NAMESPACE}:postgres.entraAdmin",
                          "required: PostgreSQL signs in with Microsoft Entra only; name the admin group "
                          "(objectId, principalName), created before the first deploy")
    if config.restore.lake is not None and not config.enabled("lake"):
        raise ConfigError(config.source, f"{NAMESPACE}:restore", "restores the lake but services.lake is off")
    for zone, policy in config.lake.zones.items():
        zone_key = f"{NAMESPACE}:lake.zones.{zone}.recovery"
        if policy.recovery == "copy" and not (policy.replicated or policy.backup):
            raise ConfigError(config.source, zone_key, "copy needs a replicated copy or a backup to copy from")
        if zone == "raw" and policy.recovery == "recreate" and not config.lake.source_retains_data:
            raise ConfigError(
                config.source, zone_key, "raw is the platform's copy of the source: recreating it needs lake.sourceRetainsData"
            )
    _check_runner(config)
    if config.event_hubs.sku == "Basic" and config.enabled("eventHubs"):
        # Basic has no Geo-DR alias; the seeds' uplift path needs Standard or above.
        raise ConfigError(config.source, f"{NAMESPACE}:eventHubs", "sku Basic has no Geo-DR: use Standard or Premium")


def _check_runner(config: StackConfig) -> None:
    """A runner in the DR hub needs room there: inside the address space, clear of the carved subnets."""
    runner = config.runner
    if runner is None or runner.network.kind != "hub" or not config.is_secondary:
        return
    key = f"{NAMESPACE}:runner.network.addressPrefix"
    prefix = ipaddress.ip_network(runner.network.address_prefix)
    if not prefix.subnet_of(ipaddress.ip_network(config.address_space)):  # type: ignore[arg-type]
        raise ConfigError(config.source, key, f"{prefix} is outside the hub's addressSpace {config.address_space}")
    layout = carve_hub(config.address_space)
    for name, subnet in (("data", layout.data), ("private-endpoints", layout.private_endpoints),
                         ("AzureFirewallSubnet", layout.firewall), ("GatewaySubnet", layout.gateway)):
        if prefix.overlaps(subnet):
            raise ConfigError(config.source, key, f"{prefix} overlaps the hub's {name} subnet {subnet}")


def check_against_paired(config: StackConfig, paired: dict[str, Any]) -> StackConfig:
    """Refuse what would clash with the paired stack; return the config with its prefix and suffix."""
    other_runner = paired.get(f"{NAMESPACE}:runner")
    if config.runner is not None and isinstance(other_runner, dict) \
            and other_runner.get("objectId") != config.runner.object_id:
        # The primary makes the runner's day-0 endpoints and roles for the runner its own file names.
        raise ConfigError(config.source, f"{NAMESPACE}:runner.objectId",
                          f"differs from the paired stack '{config.paired_stack}''s runner: both must name the same")
    other_space = paired.get(f"{NAMESPACE}:addressSpace")
    if isinstance(other_space, str):
        try:
            other = ipaddress.ip_network(other_space, strict=False)
        except ValueError:
            other = None
        if other is not None and other.overlaps(ipaddress.ip_network(config.address_space)):
            raise ConfigError(
                config.source,
                f"{NAMESPACE}:addressSpace",
                f"{config.address_space} overlaps {other_space} of the paired stack '{config.paired_stack}'",
            )
    other_prefix = paired.get(f"{NAMESPACE}:prefix")
    other_suffix = paired.get(f"{NAMESPACE}:nameSuffix")
    if other_suffix == config.name_suffix and other_prefix == config.prefix:
        raise ConfigError(
            config.source,
            f"{NAMESPACE}:nameSuffix",
            f"'{config.name_suffix}' equals the paired stack's: globally unique names would collide",
        )
    if paired.get(LOCATION_KEY) not in (None, config.paired_region):
        raise ConfigError(
            config.source,
            f"{NAMESPACE}:pairedRegion",
            f"{config.paired_region} but stack '{config.paired_stack}' is in {paired.get(LOCATION_KEY)}",
        )
    return replace(
        config,
        paired_prefix=other_prefix if isinstance(other_prefix, str) else None,
        paired_name_suffix=other_suffix if isinstance(other_suffix, str) else None,
    )
