"""StackConfig: everything the program and drctl know of one stack, once stacks/config.py has read
and validated its file: the stack's own keys, which services are on and their settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from stacks.schema import FallbackConfig, RecoveryTargets, RestoreSources

if TYPE_CHECKING:
    from components.data_factory import DataFactorySettings
    from components.event_hubs import EventHubsSettings
    from components.foundation import FoundationSettings
    from components.lake import LakeSettings
    from components.postgres import PostgresSettings
    from components.runner import RunnerSettings

# A switch that is not a service: the hub's Azure Firewall (components/connectivity.py).
FIREWALL = "firewall"


@dataclass(frozen=True)
class StackConfig:
    """Everything the program and drctl need to know about one stack."""

    stack: str
    source: str
    region: str
    role: Literal["primary", "secondary"]
    paired_stack: str
    paired_region: str
    prefix: str
    name_suffix: str
    address_space: str
    recovery: RecoveryTargets
    restore: RestoreSources
    fallback: FallbackConfig = field(default_factory=FallbackConfig)
    saas: tuple[str, ...] = ()
    runner: RunnerSettings | None = None
    paired_prefix: str | None = None
    paired_name_suffix: str | None = None
    # `dataplatform:services` as written: the switches the stack sets (unset ones keep their default).
    switches: Mapping[str, bool] = field(default_factory=dict)
    # Every service's validated settings: always for the services on by default, for the others when
    # switched on.
    settings: Mapping[str, Any] = field(default_factory=dict)

    def enabled(self, key: str) -> bool:
        """Whether service (or switch) `key` is on; an unknown key is a KeyError, never a quiet False."""
        if key == FIREWALL:
            return self.switches.get(FIREWALL, True)
        from components.registry import service

        spec = service(key)
        return spec.switch == "always" or self.switches.get(key, spec.switch == "on")

    def settings_of(self, key: str) -> Any:
        return self.settings.get(key)

    def with_services(self, settings: Mapping[str, Any]) -> StackConfig:
        """A copy with each service of `settings` switched on with those settings (what-ifs, tests)."""
        return replace(self, switches={**self.switches, **dict.fromkeys(settings, True)},
                       settings={**self.settings, **settings})

    @property
    def is_secondary(self) -> bool:
        return self.role == "secondary"

    @property
    def optional_services(self) -> dict[str, Any]:
        """The services off by default that this stack switches on, with their settings."""
        from components.registry import service

        return {key: value for key, value in self.settings.items() if service(key).switch == "off"}

    # The core services' settings, typed, for drctl's own steps.
    @property
    def foundation(self) -> FoundationSettings:
        return self.settings["foundation"]

    @property
    def lake(self) -> LakeSettings:
        return self.settings["lake"]

    @property
    def postgres(self) -> PostgresSettings:
        return self.settings["postgres"]

    @property
    def event_hubs(self) -> EventHubsSettings:
        return self.settings["eventHubs"]

    @property
    def data_factory(self) -> DataFactorySettings:
        return self.settings["dataFactory"]
