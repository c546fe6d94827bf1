"""`drctl posture`: the seed tables as a stack has them.

One row per seed service (one SeedFacts row of a DR profile): stateful or not, who recovers the
component and the workload, the SKU this stack selected, the seed's DR uplift options and whether
each is on in this stack, and the recovery action drctl takes. Every service the project knows
is listed, with `in_stack` saying whether this stack uses it, so an engineer with a different mix
of services still finds theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.stack import check_stack

if TYPE_CHECKING:  # at run time only on a cache miss: the services' specs import Pulumi, the config pydantic
    from components.profile import DRProfile
    from components.spec import Posture
    from stacks.config import StackConfig


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
                # The seed's heading for the service, and drctl's model of the component it is in.
                "stateful": seed.seed_stateful(profile.stateful),
                "component_stateful": profile.stateful,
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
    from components.catalog import CATALOG
    from components.registry import SERVICES

    rows: list[dict[str, Any]] = []
    for spec in SERVICES:
        in_stack = config is not None and config.enabled(spec.key)
        postures = spec.posture(config, config.settings_of(spec.key)) if config is not None and in_stack else None
        rows += _rows(spec.profile, postures, in_stack)
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


def posture_command(project_dir: Path, stack: str | None) -> dict:
    from orchestrator.program.cache import cached_document

    if stack is not None:
        check_stack(project_dir, stack)

    def compute() -> dict:
        from stacks.config import load_stack_config

        return posture_document(load_stack_config(Path(project_dir), stack) if stack is not None else None)

    return cached_document("posture", project_dir, stack or "-", (), compute)
