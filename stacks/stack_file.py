"""Where a stack's values come from: its `Pulumi.<stack>.yaml` (drctl's offline commands) or the
Pulumi runtime's config (inside `pulumi up`), as one `namespace:key` mapping either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.errors import ConfigError
from stacks.yaml_bounded import YamlTooLarge, safe_load_bounded

NAMESPACE = "dataplatform"
LOCATION_KEY = "azure-native:location"


def stack_file(project_dir: Path, stack: str) -> Path:
    return Path(project_dir) / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, keys as written (`namespace:key`)."""
    try:
        document = safe_load_bounded(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path.name, "stack", f"no stack file {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path.name, "config", f"not valid UTF-8 (byte {exc.start})") from None
    except YamlTooLarge as exc:
        raise ConfigError(path.name, "config", f"refused: {exc}") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(path.name, "config", f"not valid YAML{where}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError(path.name, "config", "expected a mapping under 'config:'")
    return dict(document.get("config") or {})


def paired_values(project_dir: Path, values: dict[str, Any], source: str) -> dict[str, Any] | None:
    """The paired stack's mapping, read from its own stack file (None: no pairedStack to follow)."""
    paired_stack = values.get(f"{NAMESPACE}:pairedStack")
    if not isinstance(paired_stack, str) or "/" in paired_stack or not paired_stack:
        return None
    paired_path = stack_file(project_dir, paired_stack)
    if not paired_path.exists():
        raise ConfigError(source, f"{NAMESPACE}:pairedStack", f"no stack file {paired_path.name} for '{paired_stack}'")
    return read_stack_file(paired_path)


def values_from_pulumi(source: str, string_keys: tuple[str, ...], object_keys: tuple[str, ...]) -> dict[str, Any]:
    """The running Pulumi program's config, in a stack file's shape: objects arrive as JSON text."""
    import pulumi

    ours = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    location = pulumi.Config("azure-native").get("location")
    if location is not None:
        values[LOCATION_KEY] = location
    for key in string_keys:
        value = ours.get(key)
        if value is not None:
            values[f"{NAMESPACE}:{key}"] = value
    for key in object_keys:
        text = ours.get(key)
        if text is None:
            continue
        try:
            values[f"{NAMESPACE}:{key}"] = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(source, f"{NAMESPACE}:{key}", "expected a structured (object) value") from None
    return values


def to_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """A stack file's mapping in the form the Pulumi runtime passes config (objects as JSON)."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}
