"""Typed stack configuration: read once, validated once, errors name the key and the file.

The same validation serves the real `pulumi up` (values from `pulumi.Config`) and drctl's
offline commands (values read from `Pulumi.<stack>.yaml`), so both reject the same input. Every
service's settings are validated with its own model, whichever service it is (components/registry.py);
the rules between keys, and against the paired stack, are in stacks/rules.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components.errors import ConfigError
from components.settings import REGIONS_CONTEXT
from stacks.regions import AZURE_REGIONS
from stacks.rules import check_against_paired, check_cross_key_rules
from stacks.schema import StackValues
from stacks.stack_config import FIREWALL, StackConfig
from stacks.stack_file import (
    LOCATION_KEY,
    NAMESPACE,
    paired_values,
    read_stack_file,
    stack_file,
    to_pulumi_config,
    values_from_pulumi,
)

__all__ = ["ConfigError", "StackConfig", "config_from_mapping", "load_from_pulumi", "load_stack_config",
           "read_stack_file", "stack_file", "to_pulumi_config"]

# Keys whose value is a plain string; every other key is structured (YAML/JSON object).
_STRING_KEYS = ("role", "pairedStack", "pairedRegion", "prefix", "nameSuffix", "addressSpace")
_OBJECT_KEYS = ("services", "recovery", "restore", "fallback", "saas", "runner")


def _service_keys() -> tuple[str, ...]:
    """The config key of every service that has settings of its own, in the registry's order."""
    from components.registry import SERVICES

    return tuple(spec.key for spec in SERVICES if spec.settings is not None)


def _known_keys() -> tuple[str, ...]:
    from components.registry import SERVICES

    core = tuple(spec.key for spec in SERVICES if spec.settings is not None and spec.switch != "off")
    return (*_STRING_KEYS, "services", *core, *_OBJECT_KEYS[1:])


def config_from_mapping(
    stack: str, values: dict[str, Any], source: str, paired: dict[str, Any] | None = None
) -> StackConfig:
    """Validate one stack's `namespace:key` mapping; `paired` is the other stack's mapping."""
    raw = _own_keys(values, source)
    service_values = {key: raw.pop(key) for key in list(raw) if key in _service_keys()}
    try:
        parsed = StackValues.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(source, exc) from None
    switches = _switches(source, parsed.services)
    config = StackConfig(
        stack=stack,
        source=source,
        region=parsed.location,
        role=parsed.role,
        paired_stack=parsed.paired_stack,
        paired_region=parsed.paired_region,
        prefix=parsed.prefix,
        name_suffix=parsed.name_suffix,
        address_space=parsed.address_space,
        recovery=parsed.recovery,
        restore=parsed.restore,
        fallback=parsed.fallback,
        runner=parsed.runner,
        saas=_known_saas(source, parsed.saas),
        switches=switches,
    )
    config = replace(config, settings=_service_settings(config, service_values))
    check_cross_key_rules(config)
    if paired is not None:
        config = check_against_paired(config, paired)
    return config


def _own_keys(values: dict[str, Any], source: str) -> dict[str, Any]:
    """This project's keys without their namespace; provider settings are Pulumi's business."""
    raw: dict[str, Any] = {}
    for full_key, value in values.items():
        if full_key == LOCATION_KEY:
            raw["location"] = value
            continue
        namespace, _, key = str(full_key).partition(":")
        if namespace != NAMESPACE:
            continue  # e.g. azure-native:subscriptionId
        if key not in _known_keys() and key not in _service_keys():
            raise ConfigError(source, full_key, f"unknown key (known: {', '.join(_known_keys())} and the services' keys)")
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise ConfigError(source, full_key, "must not be a secret: no key of this stack holds one")
        raw[key] = value
    if "location" not in raw:
        raise ConfigError(source, LOCATION_KEY, "missing: the stack's Azure region")
    return raw


def _switches(source: str, services: dict[str, Any]) -> dict[str, bool]:
    from components.registry import SERVICES

    switchable = {spec.key for spec in SERVICES if spec.switch != "always"} | {FIREWALL}
    for key, value in services.items():
        if key not in switchable:
            raise ConfigError(source, f"{NAMESPACE}:services.{key}", "unknown service")
        if not isinstance(value, bool):
            raise ConfigError(source, f"{NAMESPACE}:services.{key}", "must be true or false")
    return dict(services)


def _service_settings(config: StackConfig, values: dict[str, Any]) -> dict[str, BaseModel]:
    """Each service's settings, validated with its own model. A switched-off service's settings are
    still checked when present, so a typo never waits until the day the service is switched on."""
    from components.registry import SERVICES

    settings: dict[str, BaseModel] = {}
    for spec in SERVICES:
        on = config.enabled(spec.key)
        if spec.settings is None or not (on or spec.switch != "off" or spec.key in values):
            continue
        raw = values.get(spec.key, {})
        try:
            validated = spec.settings.model_validate(raw if raw is not None else {},
                                                     context={REGIONS_CONTEXT: AZURE_REGIONS})
        except ValidationError as exc:
            raise _config_error(config.source, exc, service=spec.key) from None
        if on or spec.switch != "off":
            settings[spec.key] = validated
    return settings


def _known_saas(source: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    from components.catalog import CATALOG

    known = [profile.key for profile in CATALOG]
    for key in keys:
        if key not in known:
            raise ConfigError(source, f"{NAMESPACE}:saas", f"unknown service {key!r} (known: {', '.join(known)})")
    return tuple(dict.fromkeys(keys))


def _config_error(source: str, exc: ValidationError, service: str | None = None) -> ConfigError:
    error = exc.errors()[0]
    # pydantic marks an invalid mapping key with a trailing "[key]" part: the key is the name.
    location = ([service] if service else []) + [str(part) for part in error.get("loc", ()) if part != "[key]"]
    head = location[0] if location else "config"
    key = LOCATION_KEY if head == "location" else f"{NAMESPACE}:{head}"
    if len(location) > 1:
        key += "." + ".".join(location[1:])
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown key"
    return ConfigError(source, key, message)


def load_stack_config(project_dir: Path, stack: str) -> StackConfig:
    """Read and validate `Pulumi.<stack>.yaml`, cross-checked with its paired stack file."""
    path = stack_file(project_dir, stack)
    values = read_stack_file(path)
    paired = paired_values(project_dir, values, path.name)
    return _inside_the_project(config_from_mapping(stack, values, path.name, paired), project_dir)


def _inside_the_project(config: StackConfig, project_dir: Path) -> StackConfig:
    """The project's folders a stack names stay in the project, symlinks resolved: drctl reads (and
    the program deploys) every file there, so a link to /usr or /proc must not take it elsewhere."""
    factory = config.settings_of("dataFactory")
    relative = getattr(factory, "pipelines_dir", None)
    if relative is not None:
        project, key = Path(project_dir).resolve(), f"{NAMESPACE}:dataFactory.pipelinesDir"
        try:
            resolved = (project / relative).resolve()
        except (OSError, RuntimeError):  # a symlink loop
            raise ConfigError(config.source, key, f"{relative!r} cannot be resolved (a symlink loop?)") from None
        if not resolved.is_relative_to(project):
            raise ConfigError(config.source, key, f"{relative!r} resolves outside the project ({project})")
    return config


def load_from_pulumi(project_dir: Path | None = None) -> StackConfig:
    """Inside the Pulumi program: the same validation over the values Pulumi passes in."""
    import pulumi

    stack = pulumi.get_stack()
    source = f"Pulumi.{stack}.yaml"
    values = values_from_pulumi(source, _STRING_KEYS, _OBJECT_KEYS + _service_keys())
    project = Path(project_dir) if project_dir else Path.cwd()
    return _inside_the_project(config_from_mapping(stack, values, source, paired_values(project, values, source)),
                               project)
