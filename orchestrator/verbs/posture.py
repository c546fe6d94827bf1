"""`drctl posture`: the seed tables as a stack has them.

One row per seed service (one SeedFacts row of a DR profile): stateful or not, who recovers the
component and the workload, the SKU this stack selected, the seed's DR uplift options and whether
each is on in this stack, and the recovery action drctl takes. Every service the project knows
is listed, with `in_stack` saying whether this stack uses it, so an engineer with a different mix
of services still finds theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.profile import DRProfile
from components.spec import Posture, service_specs
from stacks.config import StackConfig

GEO_REDUNDANT = {"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"}


def _foundation(config: StackConfig) -> tuple[Posture, ...]:
    return (
        Posture(sku=config.foundation.key_vault_sku, uplift_enabled=(None,)),
        Posture(sku="RS0 (GeoRedundant)", uplift_enabled=(config.foundation.recovery_vault_cross_region_restore,)),
    )


def _connectivity(config: StackConfig) -> tuple[Posture, ...]:
    firewall = "Standard" if config.services.firewall else "not deployed"
    # The VNet is replicated by construction: the paired stack declares the same hub in its region.
    rows = [
        Posture(sku="N/A", uplift_enabled=(True,)),
        Posture(sku=firewall, uplift_enabled=(False,)),
    ]
    return tuple(rows)


def _lake(config: StackConfig) -> tuple[Posture, ...]:
    return (Posture(sku=config.lake.redundancy, uplift_enabled=(config.lake.redundancy in GEO_REDUNDANT,)),)


def _postgres(config: StackConfig) -> tuple[Posture, ...]:
    sku = f"{config.postgres.tier} {config.postgres.sku_name}"
    return (Posture(sku=sku, uplift_enabled=(config.postgres.geo_redundant_backup, False)),)


def _event_hubs(config: StackConfig) -> tuple[Posture, ...]:
    sku = config.event_hubs.sku
    geo_dr = config.service_enabled("eventHubsGeoDr")
    # Zone redundancy is the service default in regions with zones; geo-replication needs Premium.
    return (Posture(sku=sku, uplift_enabled=(None, geo_dr, False)),)


def _data_factory(config: StackConfig) -> tuple[Posture, ...]:
    # The pipelines are in the repository and deployed by both stacks.
    return (Posture(sku="Azure Data Factory", uplift_enabled=(True,)),)


CORE_POSTURE: dict[str, tuple[str | None, Callable[[StackConfig], tuple[Posture, ...]]]] = {
    # profile key: (the core toggle that switches it off, or None when always deployed; posture)
    "foundation": (None, _foundation),
    "connectivity": (None, _connectivity),
    "lake": ("lake", _lake),
    "postgres": ("postgres", _postgres),
    "event_hubs": ("event_hubs", _event_hubs),
    "data_factory": ("data_factory", _data_factory),
}


def _rows(profile: DRProfile, postures: tuple[Posture, ...] | None, in_stack: bool) -> list[dict[str, Any]]:
    rows = []
    for index, seed in enumerate(profile.seed):
        posture = postures[index] if postures and index < len(postures) else None
        enabled = list(posture.uplift_enabled) if posture else [None] * len(seed.uplift_options)
        rows.append(
            {
                "service": seed.service,
                "component": profile.key,
                "in_stack": in_stack,
                "stateful": profile.stateful,
                "component_responsibility": str(seed.component_responsibility),
                "workload_responsibility": str(seed.workload_responsibility),
                "sku": posture.sku if posture and in_stack else seed.sku_selected,
                "seed_sku": seed.sku_selected,
                "uplift_options": list(seed.uplift_options),
                "uplift_enabled": enabled if in_stack else [None] * len(seed.uplift_options),
                "recovery_action": str(profile.recovery_action),
            }
        )
    return rows


def posture_document(config: StackConfig | None) -> dict[str, Any]:
    """Every known service's row; without a stack, the seed tables alone (in_stack null)."""
    from components import component_profiles
    from components.catalog import CATALOG

    by_key = {profile.key: profile for profile in component_profiles().values()}
    rows: list[dict[str, Any]] = []
    for key, (toggle, posture) in CORE_POSTURE.items():
        in_stack = config is not None and (toggle is None or bool(getattr(config.services, toggle)))
        rows += _rows(by_key[key], posture(config) if in_stack else None, in_stack)
    for key, spec in service_specs().items():
        settings = config.optional_services.get(key) if config is not None else None
        rows += _rows(spec.profile, spec.posture(config, settings) if settings else None, settings is not None)
    for profile in CATALOG:
        rows += _rows(profile, None, config is not None and profile.key in config.saas)
    if config is None:
        for row in rows:
            row["in_stack"] = None
    return {
        "stack": config.stack if config else None,
        "region": config.region if config else None,
        "services": rows,
    }
