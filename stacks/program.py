"""The stack program: one region's platform, from its typed config, service by service in the
registry's order (components/registry.py).

It only declares resources: no Azure SDK calls, so `pulumi preview`, drctl's offline preview and
the mock tests all run exactly this code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components import diagnostics
from components.errors import ConfigError
from components.registry import SERVICES, profile_for
from components.runner import finish_runner
from components.spec import Platform
from stacks import outputs
from stacks.config import StackConfig, load_from_pulumi

# The repository root (where Pulumi.yaml is): relative paths in the config are resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build(config: StackConfig, project_dir: Path | None = None) -> dict[str, Any]:
    """Declare the platform for `config`'s region; return (and export) the stack outputs."""
    deployed = DeployedResources()
    pulumi.runtime.register_stack_transformation(deployed.observe)
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
    # Every resource of a type with resource logs sends them to this stack's workspace.
    diagnostics.send_to_workspace(deployed.custom_resources(), platform.log_analytics_workspace_id)
    exported[outputs.RESOURCES] = deployed.output()
    for key, value in exported.items():
        pulumi.export(key, value)
    return exported


class DeployedResources:
    """Every custom resource the program declares, by the DR profile of the component it belongs to
    (its nearest enclosing `dataplatform:` component): exported, so that the smoke checks run by hand
    (`pytest smoke_tests --outputs`) find what a deploy created, as drctl does from the deploy's
    events. A stack transformation that returns None only observes; it changes nothing."""

    def __init__(self) -> None:
        self.component_of: dict[int, str] = {}  # id() of every resource seen -> its component's type
        self.found: list[tuple[str, str, pulumi.CustomResource]] = []  # (component type, type, resource)
        self.names: dict[int, str] = {}  # id() of each found resource -> its logical name

    def observe(self, args: pulumi.ResourceTransformationArgs) -> None:
        enclosing = self.component_of.get(id(args.opts.parent), "") if args.opts.parent is not None else ""
        # A nested component with no profile of its own (the runner's access) belongs to its parent's.
        own = args.type_ if profile_for(args.type_) is not None else enclosing
        self.component_of[id(args.resource)] = own
        if isinstance(args.resource, pulumi.CustomResource) and enclosing:
            self.found.append((enclosing, args.type_, args.resource))
            self.names[id(args.resource)] = args.name
        return None

    def custom_resources(self) -> list[tuple[str, str, pulumi.CustomResource]]:
        """(type token, logical name, resource) of every custom resource found so far."""
        return [(type_, self.names[id(resource)], resource) for _, type_, resource in self.found]

    def output(self) -> pulumi.Output[dict[str, list[dict[str, str]]]]:
        found = list(self.found)
        return pulumi.Output.all(*[resource.id for _, _, resource in found]).apply(
            lambda ids: _by_profile([(c, t, i) for (c, t, _), i in zip(found, ids, strict=True)]))


def _by_profile(found: list[tuple[str, str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for component_type, type_token, resource_id in found:
        profile = profile_for(component_type)
        if profile is not None:
            grouped.setdefault(profile.key, []).append({"type": type_token, "id": resource_id})
    return grouped


def main() -> None:
    """Entry point of `pulumi up`: invalid config stops the program before any resource exists."""
    # RunError is reported by the Pulumi CLI as one error line, without a Python traceback; some
    # service settings are checked against the rest of the platform while it is declared.
    try:
        build(load_from_pulumi(PROJECT_ROOT), PROJECT_ROOT)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
