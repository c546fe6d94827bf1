"""Typed stack configuration: read once, validated once, errors name the key and the file.

The same validation serves the real `pulumi up` (values from `pulumi.Config`) and drctl's
offline commands (values read from `Pulumi.<stack>.yaml`), so both reject the same input.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from stacks.schema import (
    DataFactoryConfig,
    EventHubsConfig,
    FallbackConfig,
    FoundationConfig,
    LakeConfig,
    PostgresConfig,
    RecoveryTargets,
    RestoreSources,
    Services,
    StackValues,
)

NAMESPACE = "dataplatform"
LOCATION_KEY = "azure-native:location"


class ConfigError(Exception):
    """Invalid stack configuration: one line naming the file and the key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        # A key or value from the file may hold a line break or another control character: shown
        # escaped, or the error would be several lines (found by the property test over the loader).
        super().__init__(_printable(f"{source}: {key}: {message}"))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
    services: Services
    foundation: FoundationConfig
    lake: LakeConfig
    postgres: PostgresConfig
    event_hubs: EventHubsConfig
    data_factory: DataFactoryConfig
    recovery: RecoveryTargets
    restore: RestoreSources
    fallback: FallbackConfig = FallbackConfig()
    saas: tuple[str, ...] = ()
    paired_prefix: str | None = None
    paired_name_suffix: str | None = None
    # Optional services (components/services/) switched on in `services`, with their settings.
    optional_services: Mapping[str, Any] = field(default_factory=dict)

    def service_enabled(self, key: str) -> bool:
        return key in self.optional_services

    @property
    def is_secondary(self) -> bool:
        return self.role == "secondary"


# Keys whose value is a plain string; every other key is structured (YAML/JSON object).
_STRING_KEYS = ("role", "pairedStack", "pairedRegion", "prefix", "nameSuffix", "addressSpace")
_OBJECT_KEYS = (
    "services", "foundation", "lake", "postgres", "eventHubs", "dataFactory", "recovery", "restore", "fallback", "saas"
)
KNOWN_KEYS = _STRING_KEYS + _OBJECT_KEYS


def stack_file(project_dir: Path, stack: str) -> Path:
    return Path(project_dir) / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, keys as written (`namespace:key`)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path.name, "stack", f"no stack file {path}") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(path.name, "config", f"not valid YAML{where}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError(path.name, "config", "expected a mapping under 'config:'")
    return dict(document.get("config") or {})


def config_from_mapping(
    stack: str, values: dict[str, Any], source: str, paired: dict[str, Any] | None = None
) -> StackConfig:
    """Validate one stack's `namespace:key` mapping; `paired` is the other stack's mapping."""
    raw: dict[str, Any] = {}
    for full_key, value in values.items():
        if full_key == LOCATION_KEY:
            raw["location"] = value
            continue
        namespace, _, key = str(full_key).partition(":")
        if namespace != NAMESPACE:
            continue  # provider settings (e.g. azure-native:subscriptionId) are Pulumi's business
        if key not in KNOWN_KEYS and key not in _service_keys():
            raise ConfigError(source, full_key, f"unknown key (known: {', '.join(KNOWN_KEYS)} and the services' keys)")
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise ConfigError(source, full_key, "must not be a secret: no key of this stack holds one")
        raw[key] = value
    if "location" not in raw:
        raise ConfigError(source, LOCATION_KEY, "missing: the stack's Azure region")
    service_values = {key: raw.pop(key) for key in list(raw) if key in _service_keys()}
    try:
        parsed = StackValues.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(source, exc) from None
    optional = _optional_services(source, parsed.services, service_values)

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
        services=parsed.services,
        foundation=parsed.foundation,
        lake=parsed.lake,
        postgres=parsed.postgres,
        event_hubs=parsed.event_hubs,
        data_factory=parsed.data_factory,
        recovery=parsed.recovery,
        restore=parsed.restore,
        fallback=parsed.fallback,
        saas=_known_saas(source, parsed.saas),
        optional_services=optional,
    )
    _check_rules(config)
    if paired is not None:
        config = _check_against_paired(config, paired)
    return config


def _service_keys() -> tuple[str, ...]:
    from components.spec import service_specs

    return tuple(service_specs())


def _known_saas(source: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    from components.catalog import CATALOG

    known = [profile.key for profile in CATALOG]
    for key in keys:
        if key not in known:
            raise ConfigError(source, f"{NAMESPACE}:saas", f"unknown service {key!r} (known: {', '.join(known)})")
    return tuple(dict.fromkeys(keys))


def _optional_services(source: str, services: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Validate each optional service's toggle and settings; return the enabled ones' settings.

    A disabled service's settings are still checked when present, so a typo never waits until the
    day the service is switched on."""
    from components.spec import service_specs

    specs = service_specs()
    toggles = dict(services.model_extra or {})
    for key, value in toggles.items():
        if key not in specs:
            raise ConfigError(source, f"{NAMESPACE}:services.{key}", "unknown service")
        if not isinstance(value, bool):
            raise ConfigError(source, f"{NAMESPACE}:services.{key}", "must be true or false")
    enabled: dict[str, Any] = {}
    for key, spec in specs.items():
        if not toggles.get(key) and key not in values:
            continue
        raw = values.get(key, {})
        try:
            settings = spec.settings.model_validate(raw if raw is not None else {})
        except ValidationError as exc:
            raise _config_error(source, exc, service=key) from None
        if toggles.get(key):
            enabled[key] = settings
    return enabled


def _check_rules(config: StackConfig) -> None:
    key = f"{NAMESPACE}:pairedRegion"
    if config.paired_region == config.region:
        raise ConfigError(config.source, key, f"must differ from {LOCATION_KEY} ({config.region})")
    if config.paired_stack == config.stack:
        raise ConfigError(config.source, f"{NAMESPACE}:pairedStack", "must name the other stack, not this one")
    if config.restore.postgres is not None and not config.services.postgres:
        raise ConfigError(config.source, f"{NAMESPACE}:restore", "restores PostgreSQL but services.postgres is off")
    if config.restore.lake is not None and not config.services.lake:
        raise ConfigError(config.source, f"{NAMESPACE}:restore", "restores the lake but services.lake is off")
    for zone, policy in config.lake.zones.items():
        zone_key = f"{NAMESPACE}:lake.zones.{zone}.recovery"
        if policy.recovery == "copy" and not (policy.replicated or policy.backup):
            raise ConfigError(config.source, zone_key, "copy needs a replicated copy or a backup to copy from")
        if zone == "raw" and policy.recovery == "recreate" and not config.lake.source_retains_data:
            raise ConfigError(
                config.source, zone_key, "raw is the platform's copy of the source: recreating it needs lake.sourceRetainsData"
            )
    if config.event_hubs.sku == "Basic" and config.services.event_hubs:
        # Basic has no Geo-DR alias; the seeds' uplift path needs Standard or above.
        raise ConfigError(config.source, f"{NAMESPACE}:eventHubs", "sku Basic has no Geo-DR: use Standard or Premium")


def _check_against_paired(config: StackConfig, paired: dict[str, Any]) -> StackConfig:
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
    return _with_paired_names(config, other_prefix, other_suffix)


def _with_paired_names(config: StackConfig, prefix: Any, suffix: Any) -> StackConfig:
    return replace(
        config,
        paired_prefix=prefix if isinstance(prefix, str) else None,
        paired_name_suffix=suffix if isinstance(suffix, str) else None,
    )


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
    paired = _paired_values(project_dir, values, path.name)
    return config_from_mapping(stack, values, path.name, paired)


def _paired_values(project_dir: Path, values: dict[str, Any], source: str) -> dict[str, Any] | None:
    paired_stack = values.get(f"{NAMESPACE}:pairedStack")
    if not isinstance(paired_stack, str) or "/" in paired_stack or not paired_stack:
        return None
    paired_path = stack_file(project_dir, paired_stack)
    if not paired_path.exists():
        raise ConfigError(source, f"{NAMESPACE}:pairedStack", f"no stack file {paired_path.name} for '{paired_stack}'")
    return read_stack_file(paired_path)


def load_from_pulumi(project_dir: Path | None = None) -> StackConfig:
    """Inside the Pulumi program: the same validation over the values Pulumi passes in."""
    import pulumi

    stack = pulumi.get_stack()
    source = f"Pulumi.{stack}.yaml"
    ours = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    location = pulumi.Config("azure-native").get("location")
    if location is not None:
        values[LOCATION_KEY] = location
    for key in _STRING_KEYS:
        value = ours.get(key)
        if value is not None:
            values[f"{NAMESPACE}:{key}"] = value
    for key in _OBJECT_KEYS + _service_keys():
        text = ours.get(key)
        if text is None:
            continue
        try:
            values[f"{NAMESPACE}:{key}"] = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(source, f"{NAMESPACE}:{key}", "expected a structured (object) value") from None
    project = Path(project_dir) if project_dir else Path.cwd()
    paired = _paired_values(project, values, source)
    return config_from_mapping(stack, values, source, paired)


def to_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """A stack file's mapping in the form the Pulumi runtime passes config (objects as JSON)."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}
