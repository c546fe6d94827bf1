"""Pulumi components of the data platform, each with its DR profile declared beside it.

The profiles register themselves when their module is imported; `component_profiles()` imports every
component module so the registry is complete, and is what drctl reads instead of a hand-kept list.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from components.profile import DRProfile, all_profiles

# Every module that declares a component (and so a profile), in dependency order.
COMPONENT_MODULES = (
    "components.foundation",
    "components.connectivity",
    "components.lake",
    "components.postgres",
    "components.event_hubs",
    "components.data_factory",
)


def component_profiles() -> dict[str, DRProfile]:
    """Type token -> DR profile of every component of the platform."""
    tokens = [import_module(module).TYPE_TOKEN for module in COMPONENT_MODULES]
    registry = all_profiles()
    return {token: registry[token] for token in tokens}


def profile_by_key(key: str) -> DRProfile:
    """The profile whose `key` is given (e.g. "lake"); KeyError names the known keys."""
    profiles = {profile.key: profile for profile in component_profiles().values()}
    if key not in profiles:
        raise KeyError(f"no component '{key}' (known: {', '.join(profiles)})")
    return profiles[key]


def __getattr__(name: str) -> Any:
    # Lazy, so `import components` stays cheap (the modules pull in pulumi_azure_native).
    if name == "ALL_COMPONENT_TYPES":
        return tuple(component_profiles())
    raise AttributeError(f"module 'components' has no attribute {name!r}")


__all__ = ["ALL_COMPONENT_TYPES", "COMPONENT_MODULES", "component_profiles", "profile_by_key"]
