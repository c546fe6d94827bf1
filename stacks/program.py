"""The stack program: one region's platform, from its typed config, service by service in the
registry's order (components/registry.py).

It only declares resources: no Azure SDK calls, so `pulumi preview`, drctl's offline preview and
the mock tests all run exactly this code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components.errors import ConfigError
from components.registry import SERVICES
from components.runner import finish_runner
from components.spec import Platform
from stacks import outputs
from stacks.config import StackConfig, load_from_pulumi

# The repository root (where Pulumi.yaml is): relative paths in the config are resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build(config: StackConfig, project_dir: Path | None = None) -> dict[str, Any]:
    """Declare the platform for `config`'s region; return (and export) the stack outputs."""
    platform = Platform(config=config, project_dir=Path(project_dir) if project_dir is not None else PROJECT_ROOT)
    chosen = [(spec, config.settings_of(spec.key)) for spec in SERVICES if config.enabled(spec.key)]
    # Every service reads what it needs from the project first (the factory's pipeline files): a bad
    # file stops the program before anything is declared.
    for spec, settings in chosen:
        platform.prepared[spec.key] = spec.prepare(platform, settings)
    exported: dict[str, Any] = {outputs.REGION: config.region, outputs.ROLE: config.role}
    for spec, settings in chosen:
        exported.update(spec.deploy(platform, settings))
    finish_runner(platform)
    for key, value in exported.items():
        pulumi.export(key, value)
    return exported


def main() -> None:
    """Entry point of `pulumi up`: invalid config stops the program before any resource exists."""
    # RunError is reported by the Pulumi CLI as one error line, without a Python traceback; some
    # service settings are checked against the rest of the platform while it is declared.
    try:
        build(load_from_pulumi(PROJECT_ROOT), PROJECT_ROOT)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
